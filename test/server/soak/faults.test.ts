/** The fault schedule: drawn from the seed alone, every kind in every run, no two faults at once. */
import { describe, expect, test } from "vitest";
import { describeFault, faultKinds, faultSchedule, faultSpanMs } from "../../../server/soak/faults.js";
import { SeededRandom } from "../../../server/soak/SeededRandom.js";
import { SOAK_VARIANTS } from "../../../server/soak/faults.js";

describe("faultSchedule", () => {
  test("one seed, one schedule; another seed, another", () => {
    const options = { variant: "cluster" as const, durationMs: 120_000, gapMs: 1_000 };
    const a = faultSchedule(new SeededRandom(7), options);
    expect(faultSchedule(new SeededRandom(7), options)).toEqual(a);
    expect(faultSchedule(new SeededRandom(8), options)).not.toEqual(a);
  });

  test.each(SOAK_VARIANTS)("%s: every kind and both drop modes even when the duration is short; faults never overlap", (variant) => {
    for (let seed = 0; seed < 50; seed++) {
      const schedule = faultSchedule(new SeededRandom(seed), { variant, durationMs: 1_000, gapMs: 500 });
      expect(new Set(schedule.map((s) => s.fault.kind))).toEqual(new Set(faultKinds(variant)));
      const modes = schedule.flatMap((s) => (s.fault.kind === "drop" ? [s.fault.mode] : []));
      expect(modes.sort()).toEqual(["close", "reset"]);
      for (let i = 1; i < schedule.length; i++) {
        const before = schedule[i - 1]!;
        expect(schedule[i]!.atMs, `seed ${seed}, fault ${i}`).toBeGreaterThanOrEqual(before.atMs + faultSpanMs(before.fault) + 500);
      }
      if (variant === "single") expect(schedule.every((s) => !("instance" in s.fault) || s.fault.instance === 0)).toBe(true);
    }
  });

  test("a long run keeps drawing faults until its end, none past it", () => {
    const schedule = faultSchedule(new SeededRandom(3), { variant: "single", durationMs: 600_000, gapMs: 1_000 });
    expect(schedule.length).toBeGreaterThan(40);
    const last = schedule.at(-1)!;
    expect(last.atMs + faultSpanMs(last.fault)).toBeLessThanOrEqual(600_000);
  });

  test("each fault reads as one line", () => {
    const lines = faultSchedule(new SeededRandom(1), { variant: "cluster", durationMs: 1, gapMs: 1_000 }).map(describeFault);
    expect(lines.some((l) => /kill -9 instance [01], back after \d+ ms/.test(l))).toBe(true);
    expect(lines.some((l) => /restart Redis, \d+ ms down/.test(l))).toBe(true);
    expect(lines.some((l) => / drop \S+ \(RST\)/.test(l))).toBe(true);
  });
});
