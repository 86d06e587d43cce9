/** A lab's steps on the run card, from where a run is: before, during, after a stop, once done. */
import { describe, expect, test } from "vitest";
import { parseLab, type LabResult } from "../../web/src/isomorphic/lab/index.js";
import { labSteps, type LabRunProgress, type LabStep } from "../../web/src/viewmodels/labSteps.js";
import { pollingTaxResult } from "../labResults.js";

const lab = parseLab(
  "labs/01-steps.md",
  `---\ntitle: Steps\nsummary: S\nscenario:\n  phases:\n    - name: quiet\n      idle: 2s\n    - name: burst\n      burst: 3\n  settle: 4s\n---\n`,
);

/** A run's numbers with the first `done` phases recorded, at 0–1 s and 1–1.5 s. */
function numbers(done: number, durationMs = 3_000): LabResult {
  const records = [
    { name: "quiet", startMs: 0, endMs: 1_000 },
    { name: "burst", startMs: 1_000, endMs: 1_500 },
  ];
  const base = pollingTaxResult();
  return { ...base, durationMs, phases: records.slice(0, done).map((r) => ({ ...base.phases[0]!, ...r })) };
}

const at = (over: Partial<LabRunProgress>): LabStep[] =>
  labSteps(lab, 1, { state: "running", step: -1, stepStartedMs: 0, live: null, result: null, ...over });
const statuses = (steps: LabStep[]) => steps.map((s) => `${s.name}:${s.status}`);

describe("labSteps", () => {
  test("before a run: every phase and the final count, pending, in words at the chosen time scale", () => {
    const steps = labSteps(lab, 1, { state: "ready", step: -1, stepStartedMs: 0, live: null, result: null });
    expect(statuses(steps)).toEqual(["quiet:pending", "burst:pending", "count:pending"]);
    expect(steps.map((s) => s.text)).toEqual([
      "nothing happens for 2 s",
      "3 messages at once",
      "wait up to 4 s for late messages, then count what arrived",
    ]);
    expect(steps.some((s) => s.startMs !== undefined || s.endMs !== undefined)).toBe(false);
    const quick = labSteps(lab, 0.25, { state: "ready", step: -1, stepStartedMs: 0, live: null, result: null });
    // The final wait is not scaled: it ends as soon as everything has arrived.
    expect(quick.map((s) => s.text)).toEqual(["nothing happens for 500 ms", "3 messages at once", "wait up to 4 s for late messages, then count what arrived"]);
  });

  test("while connecting nothing is current", () => {
    expect(statuses(at({ step: -1 }))).toEqual(["quiet:pending", "burst:pending", "count:pending"]);
  });

  test("during a run: recorded phases are done with their times, the step under way is current from when it began", () => {
    const steps = at({ step: 1, stepStartedMs: 1_000, live: numbers(1) });
    expect(statuses(steps)).toEqual(["quiet:done", "burst:current", "count:pending"]);
    expect(steps[0]).toMatchObject({ startMs: 0, endMs: 1_000 });
    expect(steps[1]!.startMs).toBe(1_000);
    expect(steps[1]!.endMs).toBeUndefined();
  });

  test("settling: the final count is current", () => {
    const steps = at({ step: 2, stepStartedMs: 1_500, live: numbers(2) });
    expect(statuses(steps)).toEqual(["quiet:done", "burst:done", "count:current"]);
    expect(steps[2]!.startMs).toBe(1_500);
  });

  test("stopped or failed: the step under way is interrupted, the rest stay as they were", () => {
    expect(statuses(at({ state: "stopped", step: 1, stepStartedMs: 1_000, live: numbers(1) }))).toEqual(["quiet:done", "burst:interrupted", "count:pending"]);
    expect(statuses(at({ state: "failed", step: 2, stepStartedMs: 1_500, live: numbers(2) }))).toEqual(["quiet:done", "burst:done", "count:interrupted"]);
  });

  test("done: every step is done, and the count runs from the last phase's end to the end of the run", () => {
    const result = numbers(2, 3_000);
    const steps = at({ state: "done", step: 2, stepStartedMs: 1_500, live: result, result });
    expect(statuses(steps)).toEqual(["quiet:done", "burst:done", "count:done"]);
    expect(steps[2]).toMatchObject({ startMs: 1_500, endMs: 3_000 });
  });
});
