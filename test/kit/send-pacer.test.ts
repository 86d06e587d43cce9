/** The kit's send pacer on its own: in-order turns, a cap on sends in flight, and the slow-down after a rate-limit refusal. */
import { describe, expect, test } from "vitest";
import { SendPacer } from "../../web/src/isomorphic/kit/index.js";
import { until } from "../helpers.js";

describe("SendPacer", () => {
  test("lets at most maxInFlight sends go at once, in the order they asked", async () => {
    const pacer = new SendPacer(2);
    const granted: number[] = [];
    for (let i = 0; i < 5; i++) void pacer.acquire().then(() => granted.push(i));
    await until(() => granted.length === 2, "two turns");
    await Promise.resolve();
    expect(granted).toEqual([0, 1]);
    pacer.release("accepted");
    await until(() => granted.length === 3, "a third turn");
    pacer.release("accepted");
    pacer.release("accepted");
    await until(() => granted.length === 5, "every turn");
    expect(granted).toEqual([0, 1, 2, 3, 4]);
  });

  test("after a rate-limit refusal every send waits for the server's time, then they go one at a time and the window grows back", async () => {
    const pacer = new SendPacer(4);
    await Promise.all([pacer.acquire(), pacer.acquire()]);
    const refusedAt = Date.now();
    pacer.release("rate-limited", 50);
    expect(pacer.window).toBe(1);
    const granted: number[] = [];
    for (let i = 0; i < 3; i++) void pacer.acquire().then(() => granted.push(Date.now()));
    // The other send in flight finishes; still nothing may go before the wait is over.
    pacer.release("failed");
    await until(() => granted.length === 1, "the first turn after the wait");
    expect(granted[0]! - refusedAt).toBeGreaterThanOrEqual(45);
    await new Promise((r) => setTimeout(r, 20));
    expect(granted).toHaveLength(1);
    pacer.release("accepted");
    expect(pacer.window).toBe(2);
    await until(() => granted.length === 3, "two at once now");
  });
});
