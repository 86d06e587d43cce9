/**
 * Latency samples of one transport, kept in an HdrHistogram: percentiles with three significant
 * digits in constant memory, however many messages arrive. Values are recorded in microseconds
 * so fractional milliseconds survive; they are read back in milliseconds.
 */
// The builder alone (not the package index): the browser build then carries no log codec or pako.
import { build } from "hdr-histogram-js/dist/HistogramBuilder.js";

/** Percentiles shown in the distribution chart, from the fastest sample to the slowest. */
type Histogram = ReturnType<typeof build>;

export const SPECTRUM_PERCENTILES = [0, 25, 50, 75, 90, 95, 99, 100] as const;

export interface SpectrumPoint {
  percentile: number;
  ms: number;
}

export class LatencyDistribution {
  readonly #histogram: Histogram = build({ numberOfSignificantValueDigits: 3, autoResize: true });
  #last: number | undefined;

  /** Record one sample in ms. Negative samples (clock skew between sender and receiver) count as 0. */
  record(ms: number): void {
    if (!Number.isFinite(ms)) throw new TypeError(`a latency must be a finite number, got ${ms}`);
    const clamped = Math.max(0, ms);
    this.#histogram.recordValue(Math.round(clamped * 1000));
    this.#last = clamped;
  }

  get count(): number {
    return this.#histogram.totalCount;
  }

  /** The most recent sample, or undefined before the first. */
  get last(): number | undefined {
    return this.#last;
  }

  get median(): number | undefined {
    return this.percentile(50);
  }

  get p95(): number | undefined {
    return this.percentile(95);
  }

  /** The largest sample, exactly. */
  get max(): number | undefined {
    return this.count === 0 ? undefined : this.#histogram.maxValue / 1000;
  }

  /**
   * The value at `percentile` (0–100) in ms: the highest value the histogram cannot tell apart
   * from the sample at that rank (within 0.1 %). Undefined before the first sample.
   */
  percentile(percentile: number): number | undefined {
    if (this.count === 0) return undefined;
    if (percentile >= 100) return this.max;
    return this.#histogram.getValueAtPercentile(percentile) / 1000;
  }

  /** The latency at each of `percentiles`; empty before the first sample. */
  spectrum(percentiles: readonly number[] = SPECTRUM_PERCENTILES): SpectrumPoint[] {
    if (this.count === 0) return [];
    return percentiles.map((percentile) => ({ percentile, ms: this.percentile(percentile)! }));
  }

  reset(): void {
    this.#histogram.reset();
    this.#last = undefined;
  }
}
