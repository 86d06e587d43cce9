/**
 * Each server instance over the measured window, every few seconds: its resident memory (from
 * /proc, so a leak shows as a rising line) and its event-loop lag (from its Prometheus metrics,
 * where one server's turn blocking shows long before any message is late).
 *
 * The lag figures are prom-client's default nodejs_eventloop_lag_{p99,max}_seconds, read from a
 * histogram that prom-client resets at every scrape: a sample's lag covers the time since the
 * previous sample. So the sampler scrapes once when it starts (that scrape covers the connecting
 * phase and is thrown away), and nobody else may scrape the bench's servers meanwhile. The histogram
 * times a 10 ms timer, so an idle loop reads 10 ms: the report keeps the delay beyond that.
 */
import { sampleProcess } from "./ProcessProbe.js";
import { preciseNow } from "./protocol.js";

export interface InstanceSample {
  /** Ms since the measured window began. */
  t: number;
  /** Null when /proc could not be read (not Linux, or the process is gone). */
  rssBytes: number | null;
  /**
   * The instance's event-loop delay since the previous sample, p99 and max, in ms beyond the
   * monitor's 10 ms timer; null at t = 0, for a peer, or when the scrape failed.
   */
  eventLoopLagP99Ms: number | null;
  eventLoopLagMaxMs: number | null;
}

export interface InstanceSeries {
  /** 1 for the first instance (the one the sender posts to). */
  instance: number;
  pid: number;
  samples: InstanceSample[];
}

/** One server instance to watch; metricsUrl is null for a server without Prometheus metrics (a peer). */
export interface WatchedInstance {
  pid: number;
  metricsUrl: string | null;
}

const SCRAPE_TIMEOUT_MS = 5_000;
/** prom-client's default eventLoopMonitoringPrecision (WirelabMetrics keeps it): the timer the histogram measures. */
const LAG_MONITOR_INTERVAL_MS = 10;

export class InstanceSampler {
  readonly #series: InstanceSeries[];
  readonly #from: number;
  #timer: NodeJS.Timeout | null = null;
  /** Samples in flight: a slow scrape must not be lost when the window ends. */
  readonly #inFlight = new Set<Promise<void>>();

  private constructor(
    private readonly instances: readonly WatchedInstance[],
    from: number,
  ) {
    this.#from = from;
    this.#series = instances.map((w, i) => ({ instance: i + 1, pid: w.pid, samples: [] }));
  }

  /** Start sampling every intervalMs; `from` (preciseNow) is t = 0. Resolves after the first sample. */
  static async start(instances: readonly WatchedInstance[], intervalMs: number, from = preciseNow()): Promise<InstanceSampler> {
    const sampler = new InstanceSampler(instances, from);
    await sampler.#sample(true);
    sampler.#timer = setInterval(() => sampler.#track(sampler.#sample(false)), intervalMs);
    sampler.#timer.unref();
    return sampler;
  }

  /** Take the last sample (the end of the window) and answer every instance's series. */
  async stop(): Promise<InstanceSeries[]> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await Promise.all(this.#inFlight);
    await this.#sample(false);
    return this.#series;
  }

  #track(sample: Promise<void>): void {
    this.#inFlight.add(sample);
    void sample.finally(() => this.#inFlight.delete(sample));
  }

  async #sample(first: boolean): Promise<void> {
    const t = Math.round(preciseNow() - this.#from);
    await Promise.all(
      this.instances.map(async (w, i) => {
        const rss = sampleProcess(w.pid)?.rssBytes ?? null;
        const lag = w.metricsUrl === null ? null : await scrapeLag(w.metricsUrl);
        this.#series[i]!.samples.push({
          t,
          rssBytes: rss,
          eventLoopLagP99Ms: first ? null : (lag?.p99Ms ?? null),
          eventLoopLagMaxMs: first ? null : (lag?.maxMs ?? null),
        });
      }),
    );
  }
}

/** nodejs_eventloop_lag_{p99,max}_seconds from one scrape, as ms of delay beyond the monitor's timer; null when the server did not answer. */
export async function scrapeLag(metricsUrl: string): Promise<{ p99Ms: number | null; maxMs: number | null } | null> {
  try {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
    if (!response.ok) return null;
    const text = await response.text();
    const beyondTimer = (ms: number | null) => (ms === null ? null : Math.max(0, Math.round((ms - LAG_MONITOR_INTERVAL_MS) * 1e3) / 1e3));
    return { p99Ms: beyondTimer(gaugeMs(text, "nodejs_eventloop_lag_p99_seconds")), maxMs: beyondTimer(gaugeMs(text, "nodejs_eventloop_lag_max_seconds")) };
  } catch {
    return null;
  }
}

/** An unlabelled gauge in Prometheus text format, seconds as ms (rounded to µs); null when absent. */
export function gaugeMs(text: string, name: string): number | null {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, "m").exec(text);
  const seconds = match ? Number(match[1]) : Number.NaN;
  return Number.isFinite(seconds) ? Math.round(seconds * 1e6) / 1e3 : null;
}
