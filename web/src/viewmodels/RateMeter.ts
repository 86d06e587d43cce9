/**
 * Turns samples of an ever-growing counter (requests made, bytes sent) into a rate per second
 * over a sliding window, so a poll every two seconds reads as 0.5/s instead of 0, 1, 0, 1.
 */
export class RateMeter {
  readonly #samples: Array<{ at: number; value: number }> = [];

  /** `windowMs`: how far back the rate looks. Defaults to 5,000. */
  constructor(readonly windowMs = 5_000) {
    if (!(windowMs > 0)) throw new TypeError(`windowMs must be positive, got ${windowMs}`);
  }

  /** Record the counter's value at time `at` (ms). Samples must come in time order. */
  sample(at: number, value: number): void {
    const last = this.#samples.at(-1);
    if (last && at < last.at) throw new RangeError(`samples must come in time order (${at} < ${last.at})`);
    this.#samples.push({ at, value });
    // Keep one sample at or before the window's start, so the window is always fully covered.
    while (this.#samples.length > 2 && this.#samples[1]!.at <= at - this.windowMs) this.#samples.shift();
  }

  /** Growth per second over the window; 0 until two samples span some time. */
  get perSecond(): number {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last || last.at === first.at) return 0;
    return ((last.value - first.value) * 1000) / (last.at - first.at);
  }

  clear(): void {
    this.#samples.length = 0;
  }
}
