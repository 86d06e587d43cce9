/**
 * The server's side of the story: GET /v1/stats, counted at the server's sockets (headers and
 * framing included) for every client, so next to the client's own numbers the cost a client
 * cannot see shows up. Deltas are taken from the first snapshot (the moment the dashboard joined).
 */
import { Emitter } from "../isomorphic/kit/Emitter.js";
import { HttpError, type FetchLike } from "../isomorphic/kit/JsonClient.js";
import { WorkbenchApi } from "../isomorphic/kit/WorkbenchApi.js";
import { TRANSPORTS, type StatsResponse, type TrafficSnapshot, type TransportName } from "../isomorphic/protocol/index.js";
import { RateMeter } from "./RateMeter.js";
import { TimeSeries } from "./TimeSeries.js";

export interface ServerStatsOptions {
  baseUrl: string;
  /** The token, or where to read the current one (tokens are refreshed). */
  token: string | (() => string);
  /** Defaults to the platform's fetch. */
  fetch?: FetchLike;
  /** Defaults to Date.now. */
  clock?: () => number;
  /** Time zero of the series' x axis (ms since the epoch). Defaults to creation. */
  origin?: number;
  /** Points kept per series. Defaults to 600. */
  seriesCapacity?: number;
}

export interface ServerStatsEvents {
  [name: string]: (...args: never[]) => void;
  change: () => void;
}

export class ServerStats extends Emitter<ServerStatsEvents> {
  readonly origin: number;
  /** Per transport, x: seconds since origin, y: bytes in + out at the server since the baseline. */
  readonly bytesSeries: Record<TransportName, TimeSeries>;
  readonly #requestRates: Record<TransportName, RateMeter>;
  readonly #options: Required<Omit<ServerStatsOptions, "origin" | "seriesCapacity">>;
  #baseline: StatsResponse | undefined;
  #latest: StatsResponse | undefined;
  #error: string | undefined;
  readonly #api: WorkbenchApi;
  #inFlight: Promise<void> | undefined;
  #lastRaw: StatsResponse | undefined;
  readonly #carried: Record<TransportName, TrafficSnapshot> = perTransport(() => ({ connections: 0, requests: 0, bytesIn: 0, bytesOut: 0, delivered: 0 }));

  constructor(options: ServerStatsOptions) {
    super();
    this.#options = { fetch: globalThis.fetch.bind(globalThis), clock: Date.now, ...options };
    this.#api = new WorkbenchApi(options.baseUrl, options.token, this.#options.fetch);
    this.origin = options.origin ?? this.#options.clock();
    this.bytesSeries = perTransport(() => new TimeSeries(options.seriesCapacity));
    this.#requestRates = perTransport(() => new RateMeter());
  }

  get latest(): StatsResponse | undefined {
    return this.#latest;
  }

  /** Why the last refresh failed; undefined after a good one. */
  get error(): string | undefined {
    return this.#error;
  }

  /**
   * What the server counted for `transport` since the baseline (connections: open right now).
   * Undefined until the first answer.
   */
  since(transport: TransportName): TrafficSnapshot | undefined {
    const now = this.#latest?.transports[transport];
    const then = this.#baseline?.transports[transport];
    if (!now || !then) return undefined;
    return {
      connections: now.connections,
      requests: now.requests - then.requests,
      bytesIn: now.bytesIn - then.bytesIn,
      bytesOut: now.bytesOut - then.bytesOut,
      delivered: now.delivered - then.delivered,
    };
  }

  /** Requests per second the server saw for `transport`. */
  requestsPerSecond(transport: TransportName): number {
    return this.#requestRates[transport].perSecond;
  }

  /** Fetch a fresh snapshot; a refresh already running is joined, not doubled. */
  refresh(): Promise<void> {
    this.#inFlight ??= this.#refresh().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #refresh(): Promise<void> {
    try {
      this.#apply(await this.#api.stats(), this.#options.clock());
      this.#error = undefined;
    } catch (error) {
      this.#error = error instanceof HttpError ? `GET /v1/stats answered ${error.status}: ${error.message}` : error instanceof Error ? error.message : String(error);
    }
    this.emit("change");
  }

  /** Take in one snapshot taken at `at` (public so tests can feed known numbers). */
  apply(snapshot: StatsResponse, at = this.#options.clock()): void {
    this.#apply(snapshot, at);
    this.emit("change");
  }

  #apply(raw: StatsResponse, at: number): void {
    // A restarted server counts from zero again (its uptime went back): carry what the earlier
    // instance had counted, so "since you joined" keeps growing instead of going negative.
    if (this.#lastRaw && raw.uptimeMs < this.#lastRaw.uptimeMs) {
      for (const t of TRANSPORTS) this.#carried[t] = add(this.#carried[t], this.#lastRaw.transports[t]);
    }
    this.#lastRaw = raw;
    const snapshot: StatsResponse = {
      ...raw,
      transports: perTransport((t) => ({ ...add(this.#carried[t], raw.transports[t]), connections: raw.transports[t].connections })),
    };
    this.#baseline ??= snapshot;
    this.#latest = snapshot;
    const x = (at - this.origin) / 1000;
    for (const transport of TRANSPORTS) {
      const delta = this.since(transport)!;
      this.#requestRates[transport].sample(at, snapshot.transports[transport].requests);
      this.bytesSeries[transport].push(x, delta.bytesIn + delta.bytesOut);
    }
  }
}

function add(a: TrafficSnapshot, b: TrafficSnapshot): TrafficSnapshot {
  return {
    connections: a.connections + b.connections,
    requests: a.requests + b.requests,
    bytesIn: a.bytesIn + b.bytesIn,
    bytesOut: a.bytesOut + b.bytesOut,
    delivered: a.delivered + b.delivered,
  };
}

function perTransport<T>(make: (transport: TransportName) => T): Record<TransportName, T> {
  return Object.fromEntries(TRANSPORTS.map((t) => [t, make(t)])) as Record<TransportName, T>;
}
