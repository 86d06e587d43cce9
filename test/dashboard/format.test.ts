import { describe, expect, test } from "vitest";
import { formatBytes, formatCount, formatElapsed, formatMs, formatRate } from "../../web/src/viewmodels/format.js";

describe("formatting", () => {
  test("bytes in decimal units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1_234)).toBe("1.23 kB");
    expect(formatBytes(12_345)).toBe("12.3 kB");
    expect(formatBytes(3_050_000)).toBe("3.05 MB");
    expect(formatBytes(Number.NaN)).toBe("—");
  });

  test("latencies from fractions of a ms to seconds", () => {
    expect(formatMs(undefined)).toBe("—");
    expect(formatMs(0.44)).toBe("0.4 ms");
    expect(formatMs(12.6)).toBe("13 ms");
    expect(formatMs(2_012)).toBe("2.01 s");
  });

  test("time in state", () => {
    expect(formatElapsed(-5)).toBe("0 s");
    expect(formatElapsed(42_900)).toBe("42 s");
    expect(formatElapsed(187_000)).toBe("3 m 07 s");
    expect(formatElapsed(3_720_000)).toBe("1 h 02 m");
  });

  test("counts and rates", () => {
    expect(formatCount(12_345)).toBe("12,345");
    expect(formatRate(0.5)).toBe("0.50/s");
    expect(formatRate(12.4)).toBe("12/s");
  });
});
