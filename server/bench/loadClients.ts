/**
 * The clients a load worker drives, behind one small interface whatever library is underneath:
 * the client kit (wirelab and the baseline), socket.io-client (the Socket.IO peers) and a bare
 * `ws` client (the ws peer). Their connection pools are kept per source address, so thousands
 * of clients share a few and the worker's own sockets spread over the loopback addresses.
 */
import { Agent as HttpAgent } from "node:http";
import { Agent } from "undici";
import { WebSocket } from "ws";
import { backoffDelay, createClient, type EventSourceConstructor, type FeedClient, type FetchLike, type WebSocketConstructor } from "../../web/src/isomorphic/kit/index.js";
import { dispatcherFetch } from "./dispatcherFetch.js";
import { NodeEventSource } from "./NodeEventSource.js";
import type { ConnectSpec } from "./protocol.js";

/** One client as the worker drives it, whatever library is underneath. */
export interface LoadClient {
  connect(): void;
  close(): void;
  readonly open: boolean;
  /** The server instance that answered last, where the client can tell. */
  readonly instance: string | undefined;
  counters(): { requests: number; bytesIn: number; bytesOut: number; reconnects: number };
}

/** Where a load client reports what it sees: the worker's per-client bookkeeping. */
export interface ClientTally {
  readonly room: string;
  /** Every message handed to the application: the hot path. */
  message(seq: number, text: string): void;
  opened(): void;
  left(): void;
  error(message: string): void;
}

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

function kitClient(spec: ConnectSpec, track: ClientTally): LoadClient {
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
  client.on("error", (error) => track.error(`${spec.transport}: ${error.message}`));
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
async function socketIoClient(spec: ConnectSpec, track: ClientTally): Promise<LoadClient> {
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
  socket.on("connect_error", (error: Error) => track.error(`${spec.servedBy}: ${error.message}`));
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
function bareWsClient(spec: ConnectSpec, track: ClientTally): LoadClient {
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
    ws.on("error", (error) => track.error(`ws: ${error.message}`));
    ws.on("close", () => {
      if (open) track.left();
      open = false;
      if (closed) return;
      redial = setTimeout(dial, backoffDelay(failures++, spec.backoff));
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

export function loadClient(spec: ConnectSpec, track: ClientTally): LoadClient | Promise<LoadClient> {
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

/** Close every pool the clients used (after the clients themselves). */
export async function closeLoadPools(): Promise<void> {
  const agents = [...fetches.values()].map((f) => f.agent);
  fetches.clear();
  for (const agent of keepAliveAgents.values()) agent.destroy();
  keepAliveAgents.clear();
  await Promise.all(agents.map((agent) => agent.destroy().catch(() => {})));
}
