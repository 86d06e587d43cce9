/**
 * Prometheus metrics of one wirelab instance, served at `GET /metrics` (docs/metrics.md lists them).
 *
 * Traffic that TrafficStats already counts (open connections, requests' bytes, deliveries) is read
 * from one TrafficStats snapshot per scrape, so the transports pay nothing per message for it. The
 * rest (sends stored, HTTP statuses, resumes, drops, zombies, rate-limit refusals, delivery latency)
 * is counted by small explicit calls at the points where it happens.
 *
 * Every instance owns its own Registry (tests run several servers in one process, and an in-place
 * restart is a new instance). The Node.js default metrics (event-loop lag, heap, GC, process) live
 * in one registry per process instead: prom-client's collectDefaultMetrics() starts an event-loop
 * delay monitor and a GC PerformanceObserver on every call and offers no way to stop either, so
 * calling it per instance would leak one of each per server started. They describe the process
 * anyway, not an instance. Each scrape merges the two registries.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { TRANSPORTS, type StatsBucket, type StatsResponse, type TrafficSnapshot, type TransportName } from "../../web/src/isomorphic/protocol/index.js";
import type { TrafficStats } from "../stats/TrafficStats.js";

/** Every TrafficStats bucket: the four transports and "api" (requests no transport claimed). */
const BUCKETS: readonly StatsBucket[] = [...TRANSPORTS, "api"];

/** Why a connection was cut by the server. */
export type DropReason = "slow_consumer" | "fault" | "token_expired";
const DROP_REASONS: readonly DropReason[] = ["slow_consumer", "fault", "token_expired"];

/**
 * Delivery latency buckets, in seconds: 1 ms (a WebSocket on loopback) up to 30 s (a short poll on
 * a long interval, or a stream that resumed after a cut), roughly 1-2.5-5 per decade.
 */
export const DELIVERY_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

let processRegistry: Registry | undefined;

/** The process-wide default metrics, started once on first use (see the header for why once). */
function processDefaults(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class WirelabMetrics {
  readonly #registry = new Registry();
  /** The snapshot every collect() of the current scrape reads, so a scrape walks the open spans once. */
  #snapshot: StatsResponse | undefined;
  readonly #messagesIn: Counter<"transport">;
  readonly #httpRequests: Counter<"transport" | "status">;
  readonly #resumes: Counter<"transport">;
  readonly #rateLimited: Counter<"limit">;
  readonly #dropped: Counter<"transport" | "reason">;
  readonly #zombies: Counter<"transport">;
  readonly #pauses: Counter<"transport">;
  readonly #latency: Histogram<"transport">;
  /** The histogram's child per transport, looked up once: observe() runs per delivery per subscriber. */
  readonly #latencyOf = new Map<TransportName, { observe(value: number): void }>();

  constructor(private readonly stats: TrafficStats) {
    const registers = [this.#registry];
    const bucket = (name: StatsBucket) => ({ transport: name });
    const read = () => this.#snapshot ?? this.stats.snapshot();
    const entryOf = (snapshot: StatsResponse, name: StatsBucket): TrafficSnapshot =>
      name === "api" ? snapshot.api : snapshot.transports[name];

    new Gauge({
      name: "wirelab_connections_open",
      help: "Requests, streams and WebSockets open now, by transport (api: requests no transport claimed).",
      labelNames: ["transport"],
      registers,
      collect() {
        const snapshot = read();
        for (const name of BUCKETS) this.set(bucket(name), entryOf(snapshot, name).connections);
      },
    });
    /**
     * A counter fed from a TrafficStats total. The totals include open spans, and a span starts
     * under "api" until its route claims it for a transport, so one bucket's total can step back a
     * little between scrapes; only increases are passed on, because a counter that goes down reads
     * as a restart to Prometheus. The bucket catches up by itself with its next traffic.
     */
    const fromTraffic = (name: string, help: string, field: "bytesIn" | "bytesOut" | "delivered", names: readonly StatsBucket[]) => {
      const counted = new Map<StatsBucket, number>(names.map((n) => [n, 0]));
      return new Counter({
        name,
        help,
        labelNames: ["transport"],
        registers,
        collect() {
          const snapshot = read();
          for (const n of names) {
            const growth = entryOf(snapshot, n)[field] - counted.get(n)!;
            if (growth > 0) counted.set(n, counted.get(n)! + growth);
            this.inc(bucket(n), Math.max(growth, 0));
          }
        },
      });
    };
    fromTraffic("wirelab_bytes_in_total", "Bytes received from clients, headers and framing included, by transport.", "bytesIn", BUCKETS);
    fromTraffic("wirelab_bytes_out_total", "Bytes sent to clients, headers and framing included, by transport.", "bytesOut", BUCKETS);
    fromTraffic("wirelab_messages_out_total", "Messages written to subscribers' connections (deliveries), by transport.", "delivered", TRANSPORTS);

    this.#messagesIn = new Counter({
      name: "wirelab_messages_in_total",
      help: "Messages stored from sends (resends of a stored id not counted), by the sender's transport (api: it did not say).",
      labelNames: ["transport"],
      registers,
    });
    this.#httpRequests = new Counter({
      name: "wirelab_http_requests_total",
      help: "HTTP requests answered, by transport bucket and status (aborted: closed before any answer). WebSocket handshakes are not counted here.",
      labelNames: ["transport", "status"],
      registers,
    });
    this.#resumes = new Counter({
      name: "wirelab_resumes_total",
      help: "Streams opened with a cursor (since, or SSE Last-Event-ID): a client reconnecting where it left off.",
      labelNames: ["transport"],
      registers,
    });
    this.#rateLimited = new Counter({
      name: "wirelab_rate_limited_total",
      help: "Requests, frames or connections refused by a rate limit, by limit.",
      labelNames: ["limit"],
      registers,
    });
    this.#dropped = new Counter({
      name: "wirelab_connections_dropped_total",
      help: "Connections the server cut, by transport and reason (slow_consumer: too much unsent output; fault: an instructor's drop; token_expired: its token ran out unrefreshed).",
      labelNames: ["transport", "reason"],
      registers,
    });
    this.#zombies = new Counter({
      name: "wirelab_zombies_terminated_total",
      help: "Connections terminated because the peer stopped answering heartbeats (WebSocket: a missed pong).",
      labelNames: ["transport"],
      registers,
    });
    this.#pauses = new Counter({
      name: "wirelab_stream_pauses_total",
      help: "Times a WebSocket or SSE stream stopped taking messages because its socket held more than pauseBufferedBytes unsent (it reads on from the history once drained).",
      labelNames: ["transport"],
      registers,
    });
    this.#latency = new Histogram({
      name: "wirelab_delivery_latency_seconds",
      help: "Seconds from a message being stored (its ts) to it being written to a subscriber's connection, by transport.",
      labelNames: ["transport"],
      buckets: DELIVERY_LATENCY_BUCKETS,
      registers,
    });

    // Series that exist from the start, at zero: rate() needs a first sample, dashboards need a line.
    for (const name of BUCKETS) this.#messagesIn.inc(bucket(name), 0);
    for (const name of TRANSPORTS) {
      this.#resumes.inc(bucket(name), 0);
      this.#zombies.inc(bucket(name), 0);
      this.#latency.zero(bucket(name));
      this.#latencyOf.set(name, this.#latency.labels(name));
      for (const reason of DROP_REASONS) this.#dropped.inc({ transport: name, reason }, 0);
    }
    for (const name of ["sse", "websocket"] as const) this.#pauses.inc(bucket(name), 0);
  }

  /** The Content-Type of what metrics() returns (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.#registry.contentType;
  }

  /** One scrape: this instance's metrics and the process's default metrics, as Prometheus text. */
  async metrics(): Promise<string> {
    this.#snapshot = this.stats.snapshot();
    try {
      return await Registry.merge([processDefaults(), this.#registry]).metrics();
    } finally {
      this.#snapshot = undefined;
    }
  }

  /** Report the bytes the feed's shared page cache holds (read at each scrape). */
  watchPageCache(bytes: () => number): void {
    new Gauge({
      name: "wirelab_page_cache_bytes",
      help: "Bytes the shared history-page cache holds, in its own measure (twice each page's JSON plus bookkeeping); at most pageCacheBytes.",
      registers: [this.#registry],
      collect() {
        this.set(bytes());
      },
    });
  }

  /** Report the output waiting in the process for each streaming transport's sockets (read at each scrape). */
  watchUnsent(bytes: (transport: TransportName) => number): void {
    new Gauge({
      name: "wirelab_unsent_bytes",
      help: "Bytes written to WebSockets and SSE streams that their sockets have not taken yet, by transport; a stream past pauseBufferedBytes stops taking messages until it drains.",
      labelNames: ["transport"],
      registers: [this.#registry],
      collect() {
        for (const transport of ["sse", "websocket"] as const) this.set({ transport }, bytes(transport));
      },
    });
  }

  /** A send was stored (a new message, not a resend of a stored id). */
  stored(transport: StatsBucket): void {
    this.#messagesIn.inc({ transport });
  }

  /** An HTTP request finished; `status` is null when it closed before any answer was sent. */
  httpRequest(transport: StatsBucket, status: number | null): void {
    this.#httpRequests.inc({ transport, status: status === null ? "aborted" : String(status) });
  }

  /** A stream opened with a cursor: a client resuming. */
  resumed(transport: TransportName): void {
    this.#resumes.inc({ transport });
  }

  /** A rate limit refused something; `limit` names the limit (one series per name). */
  rateLimited(limit: string): void {
    this.#rateLimited.inc({ limit });
  }

  /** The server cut `count` connections of a transport. */
  dropped(transport: TransportName, reason: DropReason, count = 1): void {
    this.#dropped.inc({ transport, reason }, count);
  }

  /** A stream's socket was full: it takes no messages until it drains (backpressure). */
  streamPaused(transport: TransportName): void {
    this.#pauses.inc({ transport });
  }

  /** A connection whose peer stopped answering heartbeats was terminated. */
  zombieTerminated(transport: TransportName): void {
    this.#zombies.inc({ transport });
  }

  /**
   * Messages were just written to a subscriber's connection: observe how long after being stored.
   * (How many were delivered is TrafficStats' count; this is only the latency.) A clock that says
   * a message is from the future (another instance's clock ahead of ours) counts as 0.
   */
  delivered(transport: TransportName, messages: { ts: number } | readonly { ts: number }[]): void {
    const now = Date.now();
    const latency = this.#latencyOf.get(transport)!;
    if (!Array.isArray(messages)) latency.observe(Math.max(now - (messages as { ts: number }).ts, 0) / 1000);
    else for (const { ts } of messages) latency.observe(Math.max(now - ts, 0) / 1000);
  }

  /** Let go of this instance's metrics (the process's default metrics stay: see the header). */
  close(): void {
    this.#registry.clear();
  }
}
