/**
 * A load worker: a separate Node process (forked by the coordinator, never the server's) that
 * runs many clients of the client kit — or of a comparison peer — and reports what they saw.
 * Per message it does as little as it can: a seq check and, for measured messages, one
 * histogram record.
 */
import { Agent as HttpAgent } from "node:http";
import * as hdr from "hdr-histogram-js";
import { Agent } from "undici";
import { WebSocket } from "ws";
import { createClient, sleep, type EventSourceConstructor, type FeedClient, type FetchLike, type WebSocketConstructor } from "../../web/src/isomorphic/kit/index.js";
import { Downtime } from "../../web/src/isomorphic/stats/Downtime.js";
import { dispatcherFetch } from "./dispatcherFetch.js";
import { NodeEventSource } from "./NodeEventSource.js";
import type { ConnectSpec, GroupResult, WorkerMessage, WorkerRequest, WorkerTick } from "./protocol.js";
import { MEASURED_MARK, groupOf, preciseNow } from "./protocol.js";

/** One client as the worker drives it, whatever library is underneath. */
interface LoadClient {
  connect(): void;
  close(): void;
  readonly open: boolean;
  /** The server instance that answered last, where the client can tell. */
  readonly instance: string | undefined;
  counters(): { requests: number; bytesIn: number; bytesOut: number; reconnects: number };
}

/** What one client saw. */
class Track {
  last = 0;
  delivered = 0;
  duplicated = 0;
  connectStartedAt = 0;
  connectMs: number | null = null;
  readonly downtime = new Downtime();
  base = { requests: 0, bytesIn: 0, bytesOut: 0, reconnects: 0 };
  /** The instance that served the client when the measured window began. */
  baseInstance: string | undefined;
  client!: LoadClient;

  constructor(
    readonly room: string,
    readonly group: Group,
  ) {}

  /** The hot path: called for every message handed to the application. */
  message(seq: number, text: string): void {
    if (seq <= this.last) {
      this.duplicated += 1;
      return;
    }
    this.last = seq;
    this.delivered += 1;
    const group = this.group;
    group.delivered += 1;
    if (text.charCodeAt(0) === MEASURED_CODE) {
      const now = preciseNow();
      const latencyMs = now - Number.parseFloat(text.substring(2, 24));
      group.histogram.recordValue(Math.max(0, Math.round(latencyMs * 1000)));
      group.measured += 1;
      group.lastMeasuredAt = now;
    }
  }

  opened(): void {
    const now = preciseNow();
    if (this.connectMs === null) this.connectMs = now - this.connectStartedAt;
    const away = this.downtime.opened(now);
    if (away !== undefined) this.group.reconnectMs.push(away);
  }

  left(): void {
    this.downtime.left(preciseNow());
  }
}

const MEASURED_CODE = MEASURED_MARK.charCodeAt(0);

class Group {
  readonly tracks: Track[] = [];
  delivered = 0;
  measured = 0;
  lastMeasuredAt: number | null = null;
  reconnectMs: number[] = [];
  histogram = newHistogram();
  readonly errors: string[] = [];

  constructor(readonly name: string) {}

  error(message: string): void {
    if (this.errors.length < 20) this.errors.push(message);
  }
}

function newHistogram() {
  return hdr.build({ numberOfSignificantValueDigits: 3, autoResize: true, bitBucketSize: 64, useWebAssembly: false });
}

const groups = new Map<string, Group>();

/** One undici connection pool per source address, for the kit's requests (polls, sends). */
const fetches = new Map<string, { fetch: FetchLike; agent: Agent }>();
function boundFetch(address: string): FetchLike {
  let bound = fetches.get(address);
  if (!bound) {
    // No time-outs of its own: the kit times its requests (a long poll adds its wait).
    // localAddress is the pool's option (undici overrides a `connect.localAddress` with it).
    const agent = new Agent({ localAddress: address, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });
    fetches.set(address, (bound = { fetch: dispatcherFetch(agent), agent }));
  }
  return bound.fetch;
}

function webSocketFrom(address: string): WebSocketConstructor {
  return class BoundWebSocket extends WebSocket {
    constructor(url: string) {
      // The load generator trusts its own server's UTF-8: skipping the check saves a pass per frame.
      super(url, { localAddress: address, perMessageDeflate: false, skipUTF8Validation: true });
    }
  } as unknown as WebSocketConstructor;
}

/**
 * The workers' own EventSource (node:http and eventsource-parser), not the `eventsource`
 * package: its fetch web stream, decoder and EventTarget per event cost a worker three times
 * what a WebSocket frame does, and fan-out latency measured that (#12).
 */
function eventSourceFrom(address: string): EventSourceConstructor {
  const agent = keepAliveAgent(address);
  return class BoundEventSource extends NodeEventSource {
    constructor(url: string) {
      super(url, { agent });
    }
  } as unknown as EventSourceConstructor;
}

function kitClient(spec: ConnectSpec, track: Track): LoadClient {
  const client: FeedClient = createClient(spec.transport, {
    baseUrl: spec.baseUrl,
    token: spec.token,
    room: track.room,
    history: 0,
    intervalMs: spec.pollIntervalMs,
    waitMs: spec.longPollWaitMs,
    backoff: spec.backoff,
    // One latency sample is enough: the worker measures latency itself, in its histogram.
    maxLatencySamples: 1,
    requestTimeoutMs: 15_000,
    fetch: boundFetch(spec.sourceAddress),
    WebSocket: webSocketFrom(spec.sourceAddress),
    EventSource: eventSourceFrom(spec.sourceAddress),
  });
  client.on("message", (message) => track.message(message.seq, message.text));
  client.on("state", (state, previous) => {
    if (state === "open") track.opened();
    else if (previous === "open") track.left();
  });
  client.on("error", (error) => track.group.error(`${spec.transport}: ${error.message}`));
  return {
    connect: () => client.connect(),
    close: () => client.close(),
    get open() {
      return client.state === "open";
    },
    get instance() {
      return client.instance;
    },
    counters: () => client.stats.counters,
  };
}

/**
 * Keep-alive node:http agents per source address, for the workers' event streams and
 * socket.io-client's long-polling (its Node XHR takes an `agent`; without one every poll would
 * open, and leave in TIME_WAIT, a connection).
 */
const keepAliveAgents = new Map<string, HttpAgent>();
function keepAliveAgent(address: string): HttpAgent {
  let agent = keepAliveAgents.get(address);
  if (!agent) keepAliveAgents.set(address, (agent = new HttpAgent({ keepAlive: true, localAddress: address })));
  return agent;
}

/** A Socket.IO 4 client (socket.io-client, its own connection each: forceNew), on WebSocket or (socket.io-polling) long-polling only. */
async function socketIoClient(spec: ConnectSpec, track: Track): Promise<LoadClient> {
  const { io } = await import("socket.io-client");
  const polling = spec.servedBy === "socket.io-polling";
  const socket = io(spec.baseUrl, {
    forceNew: true,
    autoConnect: false,
    transports: [polling ? "polling" : "websocket"],
    query: { room: track.room },
    reconnectionDelay: spec.backoff.baseMs,
    reconnectionDelayMax: spec.backoff.capMs,
    localAddress: spec.sourceAddress,
    ...(polling && { agent: keepAliveAgent(spec.sourceAddress) }),
  } as Parameters<typeof io>[1]);
  let open = false;
  let reconnects = 0;
  let connectedOnce = false;
  // Long-polling: the handshake, then every poll and every write is an HTTP request.
  let pollRequests = 0;
  socket.io.on("open", () => {
    pollRequests += 1;
    const transport = socket.io.engine.transport;
    transport.on("poll", () => (pollRequests += 1));
    transport.on("drain", () => (pollRequests += 1));
  });
  socket.on("connect", () => {
    open = true;
    if (connectedOnce) reconnects += 1;
    connectedOnce = true;
    track.opened();
  });
  socket.on("disconnect", () => {
    open = false;
    track.left();
  });
  socket.on("connect_error", (error: Error) => track.group.error(`${spec.servedBy}: ${error.message}`));
  socket.on("message", (message: { seq: number; text: string }) => track.message(message.seq, message.text));
  return {
    connect: () => socket.connect(),
    close: () => socket.close(),
    get open() {
      return open;
    },
    instance: undefined,
    // Socket.IO's client does not count its bytes; on WebSocket its requests are its (re)connections.
    counters: () => ({ requests: polling ? pollRequests : connectedOnce ? 1 + reconnects : 0, bytesIn: 0, bytesOut: 0, reconnects }),
  };
}

/**
 * A bare `ws` client of the ws peer: joins the room in its URL, parses each frame for seq and
 * text, and redials with the kit's backoff (full jitter) if its connection drops — the peer has
 * no resume, so what it missed meanwhile counts as lost.
 */
function bareWsClient(spec: ConnectSpec, track: Track): LoadClient {
  const url = `${spec.baseUrl.replace(/^http/, "ws")}/?room=${encodeURIComponent(track.room)}`;
  const counters = { requests: 0, bytesIn: 0, bytesOut: 0, reconnects: 0 };
  let socket: WebSocket | null = null;
  let open = false;
  let closed = false;
  let failures = 0;
  let redial: NodeJS.Timeout | null = null;
  const dial = () => {
    if (counters.requests > 0) counters.reconnects += 1;
    counters.requests += 1;
    const ws = new WebSocket(url, { localAddress: spec.sourceAddress, perMessageDeflate: false, skipUTF8Validation: true });
    socket = ws;
    ws.on("open", () => {
      open = true;
      failures = 0;
      track.opened();
    });
    ws.on("message", (data: Buffer) => {
      counters.bytesIn += data.length;
      const message = JSON.parse(data.toString("utf8")) as { seq: number; text: string };
      track.message(message.seq, message.text);
    });
    ws.on("error", (error) => track.group.error(`ws: ${error.message}`));
    ws.on("close", () => {
      if (open) track.left();
      open = false;
      if (closed) return;
      const cap = Math.min(spec.backoff.capMs, spec.backoff.baseMs * 2 ** failures++);
      redial = setTimeout(dial, Math.random() * cap);
    });
  };
  return {
    connect: dial,
    close: () => {
      closed = true;
      if (redial) clearTimeout(redial);
      socket?.terminate();
    },
    get open() {
      return open;
    },
    instance: undefined,
    counters: () => counters,
  };
}

function loadClient(spec: ConnectSpec, track: Track): LoadClient | Promise<LoadClient> {
  switch (spec.servedBy) {
    case "wirelab":
    case "baseline":
      return kitClient(spec, track);
    case "ws":
      return bareWsClient(spec, track);
    case "socket.io":
    case "socket.io-redis":
    case "socket.io-polling":
      return socketIoClient(spec, track);
  }
}


async function connect(spec: ConnectSpec): Promise<{ connectMs: number[]; failed: number; errors: string[] }> {
  const name = groupOf(spec.servedBy, spec.transport);
  let group = groups.get(name);
  if (!group) groups.set(name, (group = new Group(name)));
  const tracks: Track[] = [];
  for (const room of spec.rooms) {
    const track = new Track(room, group);
    track.client = await loadClient(spec, track);
    tracks.push(track);
  }
  group.tracks.push(...tracks);
  const deadline = Date.now() + spec.timeoutMs;
  const limit = spec.concurrency > 0 ? spec.concurrency : tracks.length;
  let next = 0;
  let connecting: Track[] = [];
  while (next < tracks.length || connecting.length > 0) {
    connecting = connecting.filter((t) => t.connectMs === null);
    while (connecting.length < limit && next < tracks.length) {
      const track = tracks[next++]!;
      track.connectStartedAt = preciseNow();
      track.client.connect();
      connecting.push(track);
    }
    if (connecting.length === 0) break;
    if (Date.now() > deadline) break;
    await sleep(connecting.length >= limit || next >= tracks.length ? 5 : 0);
  }
  const opened = tracks.filter((t) => t.connectMs !== null);
  return { connectMs: opened.map((t) => t.connectMs!), failed: tracks.length - opened.length, errors: group.errors.slice(0, 5) };
}

function mark(): void {
  for (const group of groups.values()) {
    for (const track of group.tracks) {
      track.base = { ...track.client.counters() };
      track.baseInstance = track.client.instance;
    }
    group.reconnectMs = [];
  }
}

async function collect(latest: Record<string, number>, timeoutMs: number, afterRestart: boolean): Promise<GroupResult[]> {
  const deadline = Date.now() + timeoutMs;
  const all = [...groups.values()].flatMap((g) => g.tracks);
  // Having every message is not enough after a restart: a client whose room got nothing new may
  // still be reconnecting. It is done once the restarted instance serves it.
  const done = (t: Track) =>
    t.last >= (latest[t.room] ?? 0) && (!afterRestart || t.client.instance === undefined || t.client.instance !== t.baseInstance);
  let waiting = all.filter((t) => !done(t));
  while (waiting.length > 0 && Date.now() < deadline) {
    await sleep(20);
    waiting = waiting.filter((t) => !done(t));
  }
  return [...groups.values()].map((group) => {
    const sum = (f: (t: Track) => number) => group.tracks.reduce((total, t) => total + f(t), 0);
    const delta = (key: "requests" | "bytesIn" | "bytesOut" | "reconnects") => sum((t) => t.client.counters()[key] - t.base[key]);
    const histogram = group.histogram.totalCount > 0 ? hdr.encodeIntoCompressedBase64(group.histogram) : null;
    return {
      group: group.name,
      clients: group.tracks.length,
      expected: sum((t) => latest[t.room] ?? 0),
      delivered: sum((t) => t.delivered),
      duplicated: sum((t) => t.duplicated),
      measured: group.measured,
      lastMeasuredAt: group.lastMeasuredAt,
      histogram,
      requests: delta("requests"),
      bytesIn: delta("bytesIn"),
      bytesOut: delta("bytesOut"),
      reconnects: delta("reconnects"),
      reconnectedClients: group.tracks.filter((t) => t.client.counters().reconnects > t.base.reconnects).length,
      movedClients: group.tracks.some((t) => t.client.instance === undefined)
        ? null
        : group.tracks.filter((t) => t.client.instance !== t.baseInstance).length,
      reconnectMs: group.reconnectMs,
      connectMs: group.tracks.filter((t) => t.connectMs !== null).map((t) => t.connectMs!),
      notOpen: group.tracks.filter((t) => !t.client.open).length,
      errors: group.errors,
    };
  });
}

async function close(): Promise<void> {
  for (const group of groups.values()) for (const track of group.tracks) track.client.close();
  groups.clear();
  const agents = [...fetches.values()].map((f) => f.agent);
  fetches.clear();
  for (const agent of keepAliveAgents.values()) agent.destroy();
  keepAliveAgents.clear();
  await Promise.all(agents.map((agent) => agent.destroy().catch(() => {})));
}

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.op) {
    case "connect":
      return connect(request.spec);
    case "mark":
      mark();
      return null;
    case "collect":
      return collect(request.latest, request.timeoutMs, request.afterRestart);
    case "close":
      await close();
      return null;
  }
}

if (!process.send) {
  process.stderr.write("the bench worker is started by `wirelab bench`, not by hand\n");
  process.exit(2);
}

/**
 * To the coordinator. A tick can race its disconnect at the end of a run; without a callback the
 * failed write (EPIPE) is an unhandled 'error' that crashes the worker with a stack trace.
 */
function report(message: WorkerMessage): void {
  if (!process.connected) return;
  process.send!(message, undefined, undefined, () => {});
}

process.on("message", (request: WorkerRequest) => {
  handle(request).then(
    (value) => report({ id: request.id, ok: true, value }),
    (error: unknown) => report({ id: request.id, ok: false, error: error instanceof Error ? error.stack ?? error.message : String(error) }),
  );
});

const ticker = setInterval(() => {
  const tick: WorkerTick = { tick: true, at: Date.now(), delivered: {}, measured: {} };
  for (const [name, group] of groups) {
    tick.delivered[name] = group.delivered;
    tick.measured[name] = group.measured;
  }
  report(tick);
}, 250);
ticker.unref();

// The coordinator went away: nothing is left to report to.
process.on("disconnect", () => process.exit(0));
