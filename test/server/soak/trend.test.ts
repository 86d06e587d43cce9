/** The load hold's verdict on a series: a leak is a rise both large and relative; noise and warm-up are not. */
import { describe, expect, test } from "vitest";
import { trendOf } from "../../../server/soak/trend.js";

const MB = 1024 * 1024;
const limit = { relative: 0.2, absolute: 16 * MB };
const series = (f: (t: number) => number, n = 60) => Array.from({ length: n }, (_, i) => ({ t: i * 10_000, value: f(i * 10_000) }));

describe("trendOf", () => {
  test("a flat series with noise is not growing", () => {
    const noisy = series((t) => 200 * MB + (((t / 10_000) * 7919) % 13) * MB);
    const trend = trendOf(noisy, limit);
    expect(trend.growing).toBe(false);
    expect(Math.abs(trend.perMinute!)).toBeLessThan(1 * MB);
  });

  test("a steady leak is growing, with its rate per minute", () => {
    // 100 MB + 1 MB a minute for ten minutes: 10 MB over the last 8 minutes is under 16 MB; 4 MB a minute is not.
    expect(trendOf(series((t) => 100 * MB + (t / 60_000) * MB), limit).growing).toBe(false);
    const leak = trendOf(series((t) => 100 * MB + (t / 60_000) * 4 * MB), limit);
    expect(leak.growing).toBe(true);
    expect(leak.perMinute! / MB).toBeCloseTo(4, 5);
    // Fitted from the first sample after the warm-up (120 s) to the last (590 s).
    expect((leak.end! - leak.start!) / MB).toBeCloseTo((4 * (590 - 120)) / 60, 5);
  });

  test("start-up growth in the warm-up is left out", () => {
    const warmingUp = series((t) => (t < 100_000 ? 50 * MB + (t / 1000) * MB : 150 * MB));
    expect(trendOf(warmingUp, limit).growing).toBe(false);
  });

  test("a large rise on a small series must also be large in absolute terms (lag from 1 to 3 ms is not a slow-down)", () => {
    const lag = series((t) => 1 + (t / 600_000) * 2);
    expect(trendOf(lag, { relative: 0.5, absolute: 20 }).growing).toBe(false);
    expect(trendOf(series((t) => 5 + (t / 600_000) * 40), { relative: 0.5, absolute: 20 }).growing).toBe(true);
  });

  test("unknown samples are skipped; too few to fit give no verdict", () => {
    expect(trendOf([{ t: 0, value: null }, { t: 1, value: 5 }], limit)).toMatchObject({ growing: false, perMinute: null });
    const gappy = series((t) => 100 * MB + (t / 60_000) * 4 * MB).map((p, i) => (i % 3 === 0 ? { ...p, value: null } : p));
    expect(trendOf(gappy, limit).growing).toBe(true);
  });
});
