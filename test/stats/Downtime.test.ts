import { describe, expect, test } from "vitest";
import { Downtime } from "../../web/src/isomorphic/stats/Downtime.js";

describe("Downtime", () => {
  test("connecting before the first open is not an outage", () => {
    const down = new Downtime();
    expect(down.left(0)).toBe(false);
    expect(down.opened(500)).toBeUndefined();
    expect(down.everOpen).toBe(true);
  });

  test("an outage runs from the first state away from open to open again", () => {
    const down = new Downtime();
    down.opened(0);
    expect(down.left(1_000)).toBe(true);
    // reconnecting → connecting → reconnecting: still the same outage, from its start.
    expect(down.left(1_200)).toBe(false);
    expect(down.left(1_900)).toBe(false);
    expect(down.leftAt).toBe(1_000);
    expect(down.opened(3_500)).toBe(2_500);
    expect(down.leftAt).toBeNull();
  });

  test("each outage is measured on its own", () => {
    const down = new Downtime();
    down.opened(0);
    down.left(100);
    const first = down.opened(150);
    down.left(1_000);
    const second = down.opened(1_400);
    expect([first, second]).toEqual([50, 400]);
    // Open again without leaving: nothing to measure.
    expect(down.opened(2_000)).toBeUndefined();
  });

  test("a clock that steps back gives 0, not a negative time", () => {
    const down = new Downtime();
    down.opened(0);
    down.left(1_000);
    expect(down.opened(900)).toBe(0);
  });
});
