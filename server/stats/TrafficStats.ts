/**
 * Per-transport traffic, counted at the socket so headers and framing are included.
 *
 * A span covers one request (or one long-lived stream / WebSocket) on a socket. A keep-alive
 * socket carries requests one after another, so each span owns the bytes from where the
 * previous span on that socket ended. Open spans are read live when a snapshot is taken.
 */
import type { Socket } from "node:net";
import { TRANSPORTS, type StatsBucket, type StatsResponse, type TrafficSnapshot } from "../../web/src/isomorphic/protocol/index.js";

interface Mark {
  read: number;
  written: number;
}

export class TrafficSpan {
  constructor(
    /** The transport this span is counted under; routes reassign it once they know. */
    public bucket: StatsBucket,
    readonly socket: Socket,
    readonly start: Mark,
  ) {}
}

const zero = (): TrafficSnapshot => ({ connections: 0, requests: 0, bytesIn: 0, bytesOut: 0, delivered: 0 });

export class TrafficStats {
  readonly #totals = new Map<StatsBucket, TrafficSnapshot>();
  readonly #open = new Set<TrafficSpan>();
  readonly #marks = new WeakMap<Socket, Mark>();
  readonly #startedAt = Date.now();

  constructor() {
    for (const bucket of [...TRANSPORTS, "api" as const]) this.#totals.set(bucket, zero());
  }

  begin(socket: Socket, bucket: StatsBucket = "api"): TrafficSpan {
    const start = this.#marks.get(socket) ?? { read: 0, written: 0 };
    const span = new TrafficSpan(bucket, socket, start);
    this.#open.add(span);
    return span;
  }

  /** Fold a finished span into its bucket's totals. Ending twice is harmless. */
  end(span: TrafficSpan): void {
    if (!this.#open.delete(span)) return;
    const totals = this.#totals.get(span.bucket)!;
    const { read, written } = this.#position(span.socket);
    totals.requests += 1;
    totals.bytesIn += read - span.start.read;
    totals.bytesOut += written - span.start.written;
    this.#marks.set(span.socket, { read, written });
  }

  delivered(bucket: StatsBucket, count = 1): void {
    this.#totals.get(bucket)!.delivered += count;
  }

  snapshot(): StatsResponse {
    const result = new Map<StatsBucket, TrafficSnapshot>();
    for (const [bucket, totals] of this.#totals) result.set(bucket, { ...totals });
    for (const span of this.#open) {
      const entry = result.get(span.bucket)!;
      const { read, written } = this.#position(span.socket);
      entry.connections += 1;
      entry.requests += 1;
      entry.bytesIn += read - span.start.read;
      entry.bytesOut += written - span.start.written;
    }
    const transports = Object.fromEntries(TRANSPORTS.map((name) => [name, result.get(name)!])) as StatsResponse["transports"];
    return { uptimeMs: Date.now() - this.#startedAt, transports, api: result.get("api")! };
  }

  #position(socket: Socket): Mark {
    return { read: socket.bytesRead ?? 0, written: socket.bytesWritten ?? 0 };
  }
}
