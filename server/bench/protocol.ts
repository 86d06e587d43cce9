/**
 * What the bench coordinator and its load workers say to each other over the IPC channel of
 * `child_process.fork`. Requests carry an id; each gets exactly one reply with the same id.
 */
import type { TransportName } from "../../web/src/isomorphic/protocol/index.js";
import type { ServedBy } from "./parameters.js";

/** Clients of one transport (of wirelab, or of a peer) to open in a worker. */
export interface ConnectSpec {
  servedBy: ServedBy;
  transport: TransportName;
  baseUrl: string;
  token: string;
  /** One entry per client to open: the room it joins. */
  rooms: string[];
  /** Loopback address the connections leave from (each has its own ephemeral ports). */
  sourceAddress: string;
  /** Clients connecting at once; 0 opens every one at the same moment (a storm). */
  concurrency: number;
  pollIntervalMs: number;
  longPollWaitMs: number;
  backoff: { baseMs: number; capMs: number };
  /** Give up waiting for clients to open after this long. */
  timeoutMs: number;
}

export type WorkerRequest =
  | { id: number; op: "connect"; spec: ConnectSpec }
  /** Start of the measured window: counters are read from here on. */
  | { id: number; op: "mark" }
  /** Wait until every client has the newest seq of its room (or the time-out), then report. */
  /** Wait (up to timeoutMs) until every client has the newest seq of its room — and, after a restart, is served by the new instance — then report. */
  | { id: number; op: "collect"; latest: Record<string, number>; timeoutMs: number; afterRestart: boolean }
  | { id: number; op: "close" };

export interface ConnectReply {
  /** Connect times of the clients that opened, ms. */
  connectMs: number[];
  failed: number;
  errors: string[];
}

/** One group of clients (a transport, or a peer) as a worker saw it. */
export interface GroupResult {
  group: string;
  clients: number;
  /** Sum over clients of the newest seq of their room: every one of those must arrive. */
  expected: number;
  /** Distinct messages handed to the application, summed over clients. */
  delivered: number;
  /** Messages handed to the application at or below a seq it already had. */
  duplicated: number;
  /** Deliveries of measured (post-warm-up) messages. */
  measured: number;
  lastMeasuredAt: number | null;
  /** Latencies of measured deliveries in µs, as a compressed HdrHistogram. */
  histogram: string | null;
  /** Client counters during the measured window. */
  requests: number;
  bytesIn: number;
  bytesOut: number;
  reconnects: number;
  /** Clients whose kit reconnected at least once during the window (from its own counters). */
  reconnectedClients: number;
  /** Clients served by another server instance at the end than at the start; null where a client cannot tell. */
  movedClients: number | null;
  reconnectMs: number[];
  connectMs: number[];
  /** Clients that were not open when the report was made. */
  notOpen: number;
  errors: string[];
}

export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: string };

/** Sent unasked every tick: cumulative deliveries per group. */
export interface WorkerTick {
  tick: true;
  at: number;
  delivered: Record<string, number>;
  measured: Record<string, number>;
}

export type WorkerMessage = WorkerReply | WorkerTick;

/** The group key of a set of clients: the transport for wirelab, marked for the baseline, the peer's name otherwise. */
export function groupOf(servedBy: ServedBy, transport: TransportName): string {
  if (servedBy === "wirelab") return transport;
  return servedBy === "baseline" ? `${transport} (baseline)` : servedBy;
}

/** Message texts start with "m " (measured) or "w " (warm-up), then the send time in ms. */
export const MEASURED_MARK = "m";
export const WARMUP_MARK = "w";

/** The clock both the sender and the workers read: epoch ms with sub-ms precision. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
