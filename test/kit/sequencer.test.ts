import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { Sequencer } from "../../web/src/isomorphic/kit/Sequencer.js";
import { backoffDelay } from "../../web/src/isomorphic/kit/backoff.js";
import type { Message } from "../../web/src/isomorphic/protocol/index.js";

const msg = (seq: number): Message => ({ seq, id: `m${seq}`, room: "lobby", from: { id: "u", name: "u" }, text: "x", ts: 0 });

describe("Sequencer", () => {
  test("emits in order, drops duplicates and reports the gap", () => {
    const s = new Sequencer(0);
    expect(s.offer(msg(1))).toEqual({ kind: "ready", messages: [msg(1)] });
    expect(s.offer(msg(1))).toEqual({ kind: "duplicate" });
    expect(s.offer(msg(4))).toEqual({ kind: "held" });
    expect(s.gap).toEqual({ after: 1, before: 4 });
    expect(s.offer(msg(4))).toEqual({ kind: "duplicate" });
    expect(s.offer(msg(2))).toEqual({ kind: "ready", messages: [msg(2)] });
    expect(s.offer(msg(3))).toEqual({ kind: "ready", messages: [msg(3), msg(4)] });
    expect(s.gap).toBeNull();
    expect(s.last).toBe(4);
  });

  test("without a cursor, the first message sets the baseline", () => {
    const s = new Sequencer();
    expect(s.offer(msg(41))).toEqual({ kind: "ready", messages: [msg(41)] });
    expect(s.last).toBe(41);
  });

  test("resetTo moves the cursor and forgets held messages before it", () => {
    const s = new Sequencer(10);
    s.offer(msg(15));
    s.resetTo(20);
    expect(s.gap).toBeNull();
    expect(s.offer(msg(21))).toEqual({ kind: "ready", messages: [msg(21)] });
  });

  test("any arrival order with repeats yields each seq once, ascending", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }).chain((n) =>
          fc.tuple(fc.constant(n), fc.shuffledSubarray([...Array(n).keys()].map((i) => i + 1), { minLength: n, maxLength: n }), fc.array(fc.integer({ min: 1, max: n }))),
        ),
        ([n, order, repeats]) => {
          const s = new Sequencer(0);
          const out: number[] = [];
          let duplicates = 0;
          for (const seq of [...order, ...repeats]) {
            const offer = s.offer(msg(seq));
            if (offer.kind === "ready") out.push(...offer.messages.map((m) => m.seq));
            if (offer.kind === "duplicate") duplicates++;
          }
          expect(out).toEqual([...Array(n).keys()].map((i) => i + 1));
          expect(duplicates).toBe(repeats.length);
        },
      ),
    );
  });
});

describe("backoffDelay", () => {
  const options = { baseMs: 100, capMs: 5_000 };

  test("full jitter: uniform below min(cap, base·2^attempt)", () => {
    expect(backoffDelay(0, options, () => 0.999)).toBe(99);
    expect(backoffDelay(3, options, () => 0.5)).toBe(400);
    expect(backoffDelay(10, options, () => 0.999)).toBe(4995);
    expect(backoffDelay(10_000, options, () => 0.5)).toBe(2500);
    expect(backoffDelay(5, options, () => 0)).toBe(0);
  });

  test("never negative, never above the cap", () => {
    fc.assert(
      fc.property(fc.nat(2000), fc.double({ min: 0, max: 0.9999999, noNaN: true }), (attempt, r) => {
        const d = backoffDelay(attempt, options, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(options.capMs);
      }),
    );
  });
});
