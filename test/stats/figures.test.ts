/** The figures a lab result and a bench report share: one computation, checked on known numbers. */
import { describe, expect, test } from "vitest";
import { bytesPerMessage, distribution, durationSummary, perDelivered, roundMs } from "../../web/src/isomorphic/stats/figures.js";

describe("distribution", () => {
  test("count, mean, max and the nearest-rank median and 99th percentile", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted on purpose
    expect(distribution(values)).toEqual({ count: 100, meanMs: 50.5, maxMs: 100, p50: 50, p99: 99 });
    expect(distribution([7])).toEqual({ count: 1, meanMs: 7, maxMs: 7, p50: 7, p99: 7 });
    expect(distribution([])).toEqual({ count: 0, meanMs: null, maxMs: null, p50: null, p99: null });
  });

  test("leaves its input as it was and rounds to the microsecond", () => {
    const values = [3, 1, 2];
    distribution(values);
    expect(values).toEqual([3, 1, 2]);
    expect(distribution([1 / 3, 2 / 3]).meanMs).toBe(0.5);
    expect(roundMs(1.23456)).toBe(1.235);
  });

  test("a summary is the distribution's count, mean and max", () => {
    expect(durationSummary([10, 20, 60])).toEqual({ count: 3, meanMs: 30, maxMs: 60 });
    expect(durationSummary([])).toEqual({ count: 0, meanMs: null, maxMs: null });
  });
});

describe("per-message figures", () => {
  test("per delivered message, null when nothing was delivered", () => {
    expect(perDelivered(30, 12)).toBe(2.5);
    expect(perDelivered(30, 0)).toBeNull();
  });

  test("bytes per message come from the server's socket counters only", () => {
    expect(bytesPerMessage({ bytesOut: 3_090 }, 10)).toBe(309);
    expect(bytesPerMessage(null, 10)).toBeNull();
    expect(bytesPerMessage({ bytesOut: 0 }, 0)).toBeNull();
  });
});
