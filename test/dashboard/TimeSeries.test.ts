import { describe, expect, test } from "vitest";
import { TimeSeries } from "../../web/src/viewmodels/TimeSeries.js";

describe("TimeSeries", () => {
  test("keeps points in order and drops the oldest past its capacity", () => {
    const s = new TimeSeries(3);
    for (let i = 1; i <= 5; i++) s.push(i, i * 10);
    expect(s.points).toEqual([
      { x: 3, y: 30 },
      { x: 4, y: 40 },
      { x: 5, y: 50 },
    ]);
    expect(s.last).toEqual({ x: 5, y: 50 });
    s.clear();
    expect(s.points).toEqual([]);
    expect(s.last).toBeUndefined();
  });

  test("refuses a capacity that is not a positive integer", () => {
    expect(() => new TimeSeries(0)).toThrow(TypeError);
    expect(() => new TimeSeries(1.5)).toThrow(TypeError);
  });
});
