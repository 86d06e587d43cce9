/**
 * A lab's steps as the run card lists them: the scenario's phases and the final count, each with
 * its state in the run and, once known, when it ran. Pure, so LabSession's progress can be
 * checked without a server.
 */
import { formatDuration, scaleLab, type LabDefinition, type LabResult } from "../isomorphic/lab/index.js";
import { describePhase } from "./labText.js";

export type LabRunState = "ready" | "running" | "done" | "stopped" | "failed";

export interface LabStep {
  name: string;
  /** What happens, in words (with the durations of the chosen time scale). */
  text: string;
  /** "interrupted": the step under way when the run was stopped or failed. */
  status: "pending" | "current" | "done" | "interrupted";
  /** Offsets from the start of the run, once known. */
  startMs?: number;
  endMs?: number;
}

/** Where a run is, as LabSession tracks it. */
export interface LabRunProgress {
  state: LabRunState;
  /** The step under way: -1 while the clients connect, the number of phases while settling. */
  step: number;
  stepStartedMs: number;
  /** The numbers so far: the phases recorded are done. */
  live: LabResult | null;
  /** The finished run, which dates the final count. */
  result: LabResult | null;
}

/** The scenario's steps with their state, plus the final settle. Durations follow `timeScale`. */
export function labSteps(definition: LabDefinition, timeScale: number, run: LabRunProgress): LabStep[] {
  const lab = scaleLab(definition, timeScale);
  const records = run.live?.phases ?? [];
  const finished = run.state === "done";
  const broken = run.state === "stopped" || run.state === "failed";
  const statusOf = (i: number, record: unknown): LabStep["status"] => {
    if (finished || record) return "done";
    if (i !== run.step) return "pending";
    return run.state === "running" ? "current" : broken ? "interrupted" : "pending";
  };
  const steps: LabStep[] = lab.scenario.phases.map((phase, i) => {
    const record = records[i];
    const status = statusOf(i, record);
    const step: LabStep = { name: phase.name, text: describePhase(phase), status };
    if (record) Object.assign(step, { startMs: record.startMs, endMs: record.endMs });
    else if (status === "current") step.startMs = run.stepStartedMs;
    return step;
  });
  const status = statusOf(lab.scenario.phases.length, undefined);
  steps.push({
    name: "count",
    text: `wait up to ${formatDuration(lab.scenario.settleMs)} for late messages, then count what arrived`,
    status,
    ...(status === "current" && { startMs: run.stepStartedMs }),
    ...(finished && run.result && { startMs: records.at(-1)?.endMs ?? 0, endMs: run.result.durationMs }),
  });
  return steps;
}
