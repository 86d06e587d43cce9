/**
 * Checkpoints: questions whose expected answer is computed from the measured result, so the
 * learner has to read the numbers, and the workbench can show the evidence.
 */
import type { TransportName } from "../protocol/index.js";
import type { Checkpoint } from "./LabDefinition.js";
import { renderExplanation, type RenderedExplanation } from "./explain.js";
import { metricValue, type LabResult, type PhaseMetric } from "./LabResult.js";

export interface CheckpointEvaluation {
  checkpoint: Checkpoint;
  /** The answer the numbers give: a transport, a number, or null when they give none. */
  answer: TransportName | number | null;
  /** Every transport that counts as right (ties for most/least). */
  accepted: TransportName[];
  /** The metric per transport that the answer was read from. */
  evidence: Partial<Record<TransportName, number | null>>;
  /** For a correctness checkpoint (`expect`): whether the run met it. */
  passed?: boolean;
  /** The checkpoint's explanation for this run: the variant whose condition held, with its numbers. */
  explanation?: RenderedExplanation;
}

export function evaluateCheckpoint(checkpoint: Checkpoint, result: LabResult): CheckpointEvaluation {
  const { answer: spec } = checkpoint;
  const evidence: Partial<Record<TransportName, number | null>> = {};
  const phase = spec.phase === undefined ? undefined : result.phases.find((p) => p.name === spec.phase);
  for (const t of result.transports) {
    evidence[t.transport] = spec.phase === undefined
      ? metricValue(t, spec.metric)
      : (phase?.transports[t.transport]?.[spec.metric as PhaseMetric] ?? null);
  }
  const measured = Object.entries(evidence).filter((e): e is [TransportName, number] => e[1] !== null && e[1] !== undefined);

  let answer: TransportName | number | null = null;
  let accepted: TransportName[] = [];
  switch (spec.kind) {
    case "most":
    case "least": {
      if (measured.length === 0) break;
      const pick = spec.kind === "most" ? Math.max : Math.min;
      const best = pick(...measured.map(([, v]) => v));
      accepted = measured.filter(([, v]) => v === best).map(([t]) => t);
      answer = accepted[0]!;
      break;
    }
    case "total":
      answer = measured.reduce((sum, [, v]) => sum + v, 0);
      break;
    case "value":
      answer = evidence[spec.transport] ?? null;
      break;
  }
  const evaluation: CheckpointEvaluation = { checkpoint, answer, accepted, evidence };
  if (checkpoint.expect !== undefined) evaluation.passed = answer !== null && sameAnswer(answer, checkpoint.expect, 0);
  if (checkpoint.explain) evaluation.explanation = renderExplanation(checkpoint.explain, result, { answer, accepted });
  return evaluation;
}

/** Is the learner's answer right? Transports by name (any of a tie); numbers within the tolerance. */
export function judgeAnswer(evaluation: CheckpointEvaluation, given: string | number): boolean {
  if (evaluation.answer === null) return false;
  if (evaluation.accepted.length > 0) return evaluation.accepted.includes(String(given).trim() as TransportName);
  return sameAnswer(evaluation.answer, given, evaluation.checkpoint.tolerance);
}

function sameAnswer(actual: string | number, given: string | number, tolerance: number): boolean {
  if (typeof actual === "string") return actual === String(given).trim();
  const number = typeof given === "number" ? given : Number(String(given).trim());
  if (!Number.isFinite(number)) return false;
  if (actual === 0) return number === 0;
  return Math.abs(number - actual) <= Math.abs(actual) * tolerance;
}

export function evaluateAll(checkpoints: readonly Checkpoint[], result: LabResult): CheckpointEvaluation[] {
  return checkpoints.map((c) => evaluateCheckpoint(c, result));
}
