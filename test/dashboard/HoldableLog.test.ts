import { describe, expect, test } from "vitest";
import { HoldableLog } from "../../web/src/viewmodels/HoldableLog.js";

describe("HoldableLog", () => {
  test("keeps the newest items up to its capacity and counts what fell off", () => {
    const log = new HoldableLog<number>(3);
    for (let i = 1; i <= 5; i++) log.add(i);
    expect(log.items).toEqual([3, 4, 5]);
    expect(log.dropped).toBe(2);
  });

  test("while held, new items wait and are counted; release shows them in order", () => {
    const log = new HoldableLog<string>(10);
    log.add("a");
    log.hold();
    const shown = log.items;
    log.add("b");
    log.add("c");
    expect(log.held).toBe(true);
    expect(log.items).toBe(shown);
    expect(log.items).toEqual(["a"]);
    expect(log.waiting).toBe(2);
    log.release();
    expect(log.held).toBe(false);
    expect(log.items).toEqual(["a", "b", "c"]);
    expect(log.waiting).toBe(0);
  });

  test("hands out a new array whenever what it shows changes (views compare by identity)", () => {
    const log = new HoldableLog<number>(2);
    const before = log.items;
    log.add(1);
    expect(log.items).not.toBe(before);
    const full = log.items;
    log.add(2);
    log.add(3);
    expect(log.items).not.toBe(full);
    expect(log.items).toEqual([2, 3]);
  });

  test("a long hold still keeps only `capacity` items", () => {
    const log = new HoldableLog<number>(3);
    log.hold();
    for (let i = 1; i <= 10; i++) log.add(i);
    expect(log.waiting).toBe(3);
    log.release();
    expect(log.items).toEqual([8, 9, 10]);
    expect(log.dropped).toBe(7);
  });
});
