/**
 * Watches one FeedClient for the dashboard: connection state and time in it, the chat feed as
 * this transport saw it, the wire log, counters, latency percentiles and chart series.
 * DOM-free; components render it and call its four verbs (connect, pause, disconnect, reconnect).
 */
import { Emitter } from "../kit/Emitter.js";
import type { ClientCounters, ConnectionState, FeedClient } from "../kit/index.js";
import type { Message, TransportName, User } from "../protocol/index.js";
import { HoldableLog } from "./HoldableLog.js";
import { LatencyDistribution } from "./LatencyDistribution.js";
import { RateMeter } from "./RateMeter.js";
import { TimeSeries } from "./TimeSeries.js";
import { describeWire, type WireEntry } from "./wire.js";

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

export interface TransportMonitorOptions {
  /** Time zero of the series' x axis, in ms since the epoch. Defaults to the monitor's creation. */
  origin?: number;
  /** Defaults to Date.now, the clock the kit stamps `sentAt` with. */
  clock?: () => number;
  /** Chat messages kept for the feed. Defaults to 200. */
  feedCapacity?: number;
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

  constructor(
    readonly client: FeedClient,
    options: TransportMonitorOptions = {},
  ) {
    super();
    this.#clock = options.clock ?? Date.now;
    this.transport = client.transport;
    this.origin = options.origin ?? this.#clock();
    this.feed = new HoldableLog(options.feedCapacity ?? 200);
    this.wire = new HoldableLog(options.wireCapacity ?? 300);
    this.latencySeries = new TimeSeries(options.seriesCapacity);
    this.requestRateSeries = new TimeSeries(options.seriesCapacity);
    this.bytesSeries = new TimeSeries(options.seriesCapacity);
    this.#requestRate = new RateMeter(options.rateWindowMs);
    this.#state = client.state;
    this.#stateSince = this.#clock();
    this.#unsubscribe.push(
      client.on("state", (state) => {
        this.#state = state;
        this.#stateSince = this.#clock();
        this.emit("change");
      }),
      client.on("message", (message, latencyMs) => this.#onMessage(message, latencyMs)),
      client.on("wire", (record) => {
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

  get lastError(): { message: string; at: number } | undefined {
    return this.#lastError;
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
    this.wire.hold();
    this.emit("change");
  }

  resume(): void {
    this.feed.release();
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
