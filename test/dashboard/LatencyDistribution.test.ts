import { describe, expect, test } from "vitest";
import { LatencyDistribution, SPECTRUM_PERCENTILES } from "../../web/src/isomorphic/stats/LatencyDistribution.js";

/** HdrHistogram with 3 significant digits: any reported value is within 0.1 % of the true one. */
const close = (actual: number | undefined, expected: number) => {
  expect(actual).toBeDefined();
  expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(expected * 0.001 + 0.001);
};

describe("LatencyDistribution", () => {
  test("has nothing to say before the first sample", () => {
    const d = new LatencyDistribution();
    expect(d.count).toBe(0);
    expect(d.last).toBeUndefined();
    expect(d.median).toBeUndefined();
    expect(d.p95).toBeUndefined();
    expect(d.max).toBeUndefined();
    expect(d.spectrum()).toEqual([]);
  });

  test("reports last, median, p95 and max of 1..100 ms", () => {
    const d = new LatencyDistribution();
    for (let ms = 1; ms <= 100; ms++) d.record(ms);
    expect(d.count).toBe(100);
    expect(d.last).toBe(100);
    close(d.median, 50);
    close(d.p95, 95);
    expect(d.max).toBe(100);
    close(d.percentile(0), 1);
  });

  test("keeps fractions of a millisecond and long tails apart", () => {
    const d = new LatencyDistribution();
    for (let i = 0; i < 98; i++) d.record(0.4);
    d.record(1_900);
    d.record(2_000);
    close(d.median, 0.4);
    close(d.p95, 0.4);
    close(d.percentile(99), 1_900);
    expect(d.max).toBe(2_000);
  });

  test("the last sample is the most recent, not the largest", () => {
    const d = new LatencyDistribution();
    d.record(500);
    d.record(3);
    expect(d.last).toBe(3);
    expect(d.max).toBe(500);
  });

  test("counts negative samples (clock skew) as 0 and refuses non-numbers", () => {
    const d = new LatencyDistribution();
    d.record(-5);
    expect(d.last).toBe(0);
    expect(d.median).toBe(0);
    expect(() => d.record(Number.NaN)).toThrow(TypeError);
    expect(d.count).toBe(1);
  });

  test("the spectrum rises from min to max, one point per percentile", () => {
    const d = new LatencyDistribution();
    for (let ms = 0; ms < 1_000; ms += 7) d.record(ms);
    const spectrum = d.spectrum();
    expect(spectrum.map((p) => p.percentile)).toEqual([...SPECTRUM_PERCENTILES]);
    for (let i = 1; i < spectrum.length; i++) expect(spectrum[i]!.ms).toBeGreaterThanOrEqual(spectrum[i - 1]!.ms);
    expect(spectrum.at(-1)!.ms).toBe(d.max);
  });

  test("reset forgets everything", () => {
    const d = new LatencyDistribution();
    d.record(10);
    d.reset();
    expect(d.count).toBe(0);
    expect(d.last).toBeUndefined();
  });
});
