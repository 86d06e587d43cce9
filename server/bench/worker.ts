/**
 * A load worker: a separate Node process (forked by the coordinator, never the server's) that
 * runs many clients of the client kit — or of a comparison peer — and reports what they saw.
 * Per message it does as little as it can: a seq check and, for measured messages, one
 * histogram record.
 */
import * as hdr from "hdr-histogram-js";
import { sleep } from "../../web/src/isomorphic/kit/index.js";
import { Downtime } from "../../web/src/isomorphic/stats/Downtime.js";
import { closeLoadPools, loadClient, type ClientTally, type LoadClient } from "./loadClients.js";
import type { ConnectSpec, GroupResult, WorkerMessage, WorkerRequest, WorkerTick } from "./protocol.js";
import { MEASURED_MARK, groupOf, preciseNow } from "./protocol.js";

/** What one client saw. */
class Track implements ClientTally {
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

  error(message: string): void {
    this.group.error(message);
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
  await closeLoadPools();
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
