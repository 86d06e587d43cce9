/**
 * Watches one FeedClient for the dashboard: connection state and time in it, the chat feed as
 * this transport saw it, the wire log, counters, latency percentiles and chart series.
 * DOM-free; components render it and call its four verbs (connect, pause, disconnect, reconnect).
 */
import { Emitter } from "../isomorphic/kit/Emitter.js";
import type { ClientCounters, ConnectionState, FeedClient } from "../isomorphic/kit/index.js";
import type { Message, TransportName, User } from "../isomorphic/protocol/index.js";
import { HoldableLog } from "./HoldableLog.js";
import { LatencyDistribution } from "../isomorphic/stats/LatencyDistribution.js";
import { RateMeter } from "./RateMeter.js";
import { ReconnectTracker, describeReconnect, explainReconnect, type ReconnectMark } from "./ReconnectTracker.js";
import { TimeSeries } from "./TimeSeries.js";
import { describeWire, isFromServer, type WireEntry } from "./wire.js";

export interface FeedEntry {
  seq: number;
  id: string;
  from: User;
  text: string;
  /** Server timestamp (ms since the epoch). */
  ts: number;
  /** Arrival − sentAt, when the sender stamped the message. */
  latencyMs: number | undefined;
  /** Whether the latency went into the distribution (false for history and catch-up). */
  counted: boolean;
}

/** One line of a feed as a view shows it: a message, or a divider where the client reconnected. */
export type FeedRow =
  | { kind: "message"; key: string; entry: FeedEntry }
  | { kind: "reconnect"; key: string; mark: ReconnectMark; text: string; title: string };

/**
 * Messages and reconnect marks in one list. A mark goes right after the message it resumed from:
 * everything below it arrived over the new connection. Marks that belong before the oldest
 * message still kept (the feed dropped older ones) are left out.
 */
export function feedRows(entries: readonly FeedEntry[], marks: readonly ReconnectMark[], trimmed = false): FeedRow[] {
  const rows: FeedRow[] = [];
  const first = entries[0]?.seq;
  const kept = marks.filter((m) => !trimmed || first === undefined || (m.resumedFrom !== undefined && m.resumedFrom >= first - 1));
  let next = 0;
  const markRow = (mark: ReconnectMark): FeedRow => ({ kind: "reconnect", key: `r${mark.n}`, mark, text: describeReconnect(mark), title: explainReconnect(mark) });
  for (const entry of entries) {
    while (next < kept.length && (kept[next]!.resumedFrom ?? Number.NEGATIVE_INFINITY) < entry.seq) rows.push(markRow(kept[next++]!));
    rows.push({ kind: "message", key: `m${entry.seq}`, entry });
  }
  while (next < kept.length) rows.push(markRow(kept[next++]!));
  return rows;
}

export interface TransportMonitorOptions {
  /** Time zero of the series' x axis, in ms since the epoch. Defaults to the monitor's creation. */
  origin?: number;
  /** Defaults to Date.now, the clock the kit stamps `sentAt` with. */
  clock?: () => number;
  /** Chat messages kept for the feed. Defaults to 200. */
  feedCapacity?: number;
  /** Reconnect marks kept for the feed. Defaults to 50. */
  markCapacity?: number;
  /** Wire records kept for the wire log. Defaults to 300. */
  wireCapacity?: number;
  /** Points kept per chart series. Defaults to 600. */
  seriesCapacity?: number;
  /** Window of the request rate. Defaults to 5,000 ms. */
  rateWindowMs?: number;
}

export interface TransportMonitorEvents {
  [name: string]: (...args: never[]) => void;
  change: () => void;
}

export class TransportMonitor extends Emitter<TransportMonitorEvents> {
  readonly transport: TransportName;
  readonly origin: number;
  readonly latency = new LatencyDistribution();
  readonly feed: HoldableLog<FeedEntry>;
  /** Where the client reconnected: shown in the feed as dividers, held still with it. */
  readonly marks: HoldableLog<ReconnectMark>;
  readonly wire: HoldableLog<WireEntry>;
  /** x: seconds since origin, y: latency of each counted message in ms. */
  readonly latencySeries: TimeSeries;
  /** x: seconds since origin, y: HTTP requests per second (sampled). */
  readonly requestRateSeries: TimeSeries;
  /** x: seconds since origin, y: payload bytes in + out so far (sampled). */
  readonly bytesSeries: TimeSeries;
  readonly #requestRate: RateMeter;
  readonly #clock: () => number;
  readonly #unsubscribe: Array<() => void> = [];
  #state: ConnectionState;
  #stateSince: number;
  #connects = 0;
  #liveSince = Number.POSITIVE_INFINITY;
  #wireCount = 0;
  #lastError: { message: string; at: number } | undefined;
  readonly #reconnects = new ReconnectTracker();
  #lastByteAt: number | undefined;
  #rows: { entries: readonly FeedEntry[]; marks: readonly ReconnectMark[]; rows: readonly FeedRow[] } | undefined;

  constructor(
    readonly client: FeedClient,
    options: TransportMonitorOptions = {},
  ) {
    super();
    this.#clock = options.clock ?? Date.now;
    this.transport = client.transport;
    this.origin = options.origin ?? this.#clock();
    this.feed = new HoldableLog(options.feedCapacity ?? 200);
    this.marks = new HoldableLog(options.markCapacity ?? 50);
    this.wire = new HoldableLog(options.wireCapacity ?? 300);
    this.latencySeries = new TimeSeries(options.seriesCapacity);
    this.requestRateSeries = new TimeSeries(options.seriesCapacity);
    this.bytesSeries = new TimeSeries(options.seriesCapacity);
    this.#requestRate = new RateMeter(options.rateWindowMs);
    this.#state = client.state;
    this.#stateSince = this.#clock();
    this.#unsubscribe.push(
      client.on("state", (state) => {
        const now = this.#clock();
        this.#state = state;
        this.#stateSince = now;
        // The fault is over once the connection is open again: its error is no longer news.
        if (state === "open") this.#lastError = undefined;
        const mark = this.#reconnects.changed(state, now, client.cursor, this.#lastByteAt);
        if (mark) this.marks.add(mark);
        this.emit("change");
      }),
      client.on("message", (message, latencyMs) => this.#onMessage(message, latencyMs)),
      client.on("wire", (record) => {
        // Anything that came in (an answer, an event, a frame, a heartbeat) shows the link is alive.
        if (isFromServer(record)) this.#lastByteAt = this.#clock();
        this.wire.add(describeWire(++this.#wireCount, record, client.cursor));
        this.emit("change");
      }),
      client.on("error", (error) => {
        this.#lastError = { message: error.message, at: this.#clock() };
        this.emit("change");
      }),
      client.on("reset", () => this.emit("change")),
    );
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** When the current state began (ms since the epoch). */
  get stateSince(): number {
    return this.#stateSince;
  }

  /** The feed and wire log are held still (the connection keeps running). */
  get paused(): boolean {
    return this.feed.held;
  }

  /** The last error of the current trouble; cleared when the connection is open again. */
  get lastError(): { message: string; at: number } | undefined {
    return this.#lastError;
  }

  /** When the client last received anything (ms since the epoch): data, heartbeat, or an HTTP answer. */
  get lastByteAt(): number | undefined {
    return this.#lastByteAt;
  }

  /**
   * How long the link has been silent at `now`, in ms; undefined before the first byte. A stream
   * killed by a black hole still says "open", but this keeps growing.
   */
  silentMs(now = this.#clock()): number | undefined {
    return this.#lastByteAt === undefined ? undefined : Math.max(0, now - this.#lastByteAt);
  }

  /** The feed as a view shows it: messages, with a divider wherever the client reconnected. */
  get feedRows(): readonly FeedRow[] {
    const entries = this.feed.items;
    const marks = this.marks.items;
    if (this.#rows?.entries !== entries || this.#rows.marks !== marks) {
      this.#rows = { entries, marks, rows: feedRows(entries, marks, this.feed.dropped > 0) };
    }
    return this.#rows.rows;
  }

  /**
   * The client's counters, with `reconnects` also counting the Reconnect button: every connection
   * attempt after the first, whether the client retried on its own or was told to.
   */
  get counters(): ClientCounters {
    const counters = this.client.stats.counters;
    return { ...counters, reconnects: counters.reconnects + Math.max(0, this.#connects - 1) };
  }

  /** HTTP requests per second over the rate window, as of the last `sample()`. */
  get requestsPerSecond(): number {
    return this.#requestRate.perSecond;
  }

  /** Start the connection (again): resumes from the cursor, so nothing is lost. */
  connect(): void {
    if (this.client.state !== "idle" && this.client.state !== "closed") return;
    this.#connects += 1;
    this.#reconnects.requested();
    // Messages sent before this moment arrive as catch-up: shown, but not counted as latency.
    this.#liveSince = this.#clock();
    this.client.connect();
  }

  disconnect(): void {
    this.client.close();
  }

  /** Drop the connection and open a fresh one (also from a disconnected or failed state). */
  reconnect(): void {
    this.client.close();
    this.connect();
  }

  /** Hold the feed and wire log still so they can be read; new entries wait and are counted. */
  pause(): void {
    this.feed.hold();
    this.marks.hold();
    this.wire.hold();
    this.emit("change");
  }

  resume(): void {
    this.feed.release();
    this.marks.release();
    this.wire.release();
    this.emit("change");
  }

  /** Take one point of the sampled series (the workbench calls this once a second). */
  sample(now = this.#clock()): void {
    const { requests, bytesIn, bytesOut } = this.client.stats.counters;
    this.#requestRate.sample(now, requests);
    const x = this.#x(now);
    this.requestRateSeries.push(x, this.#requestRate.perSecond);
    this.bytesSeries.push(x, bytesIn + bytesOut);
    this.emit("change");
  }

  /** Close the client and stop listening to it. */
  dispose(): void {
    this.client.close();
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  #onMessage(message: Message, latencyMs: number | undefined): void {
    const counted = latencyMs !== undefined && message.sentAt !== undefined && message.sentAt >= this.#liveSince;
    if (counted) {
      this.latency.record(latencyMs);
      this.latencySeries.push(this.#x(this.#clock()), Math.max(0, latencyMs));
    }
    this.feed.add({ seq: message.seq, id: message.id, from: message.from, text: message.text, ts: message.ts, latencyMs, counted });
    this.emit("change");
  }

  #x(at: number): number {
    return (at - this.origin) / 1000;
  }
}
