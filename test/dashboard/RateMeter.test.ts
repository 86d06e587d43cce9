import { describe, expect, test } from "vitest";
import { RateMeter } from "../../web/src/viewmodels/RateMeter.js";

describe("RateMeter", () => {
  test("is 0 until two samples span some time", () => {
    const r = new RateMeter(5_000);
    expect(r.perSecond).toBe(0);
    r.sample(1_000, 3);
    expect(r.perSecond).toBe(0);
    r.sample(1_000, 5);
    expect(r.perSecond).toBe(0);
  });

  test("a poll every 2 s reads as 0.5/s over a 5 s window, not 0, 1, 0, 1", () => {
    const r = new RateMeter(5_000);
    let requests = 0;
    const rates: number[] = [];
    for (let t = 0; t <= 20_000; t += 1_000) {
      if (t % 2_000 === 0) requests += 1;
      r.sample(t, requests);
      if (t >= 6_000) rates.push(r.perSecond);
    }
    for (const rate of rates) {
      expect(rate).toBeGreaterThanOrEqual(0.4);
      expect(rate).toBeLessThanOrEqual(0.6);
    }
  });

  test("looks back no further than its window", () => {
    const r = new RateMeter(2_000);
    r.sample(0, 0);
    r.sample(1_000, 100); // a burst long ago
    for (let t = 2_000; t <= 10_000; t += 1_000) r.sample(t, 100 + (t - 1_000) / 1_000);
    expect(r.perSecond).toBeCloseTo(1, 5);
  });

  test("an idle counter falls to 0", () => {
    const r = new RateMeter(3_000);
    r.sample(0, 0);
    r.sample(1_000, 10);
    for (let t = 2_000; t <= 6_000; t += 1_000) r.sample(t, 10);
    expect(r.perSecond).toBe(0);
  });

  test("refuses samples out of time order and a window that is not positive", () => {
    const r = new RateMeter();
    r.sample(2_000, 1);
    expect(() => r.sample(1_000, 2)).toThrow(RangeError);
    expect(() => new RateMeter(0)).toThrow(TypeError);
  });
});
