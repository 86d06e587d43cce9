/**
 * A lab run as a JSON file: one format for the dashboard's "Export JSON" and `wirelab lab run
 * --json`, so the same run exports the same file wherever it ran (the result, and per checkpoint
 * what the numbers answer, the evidence, the explanation shown and, from the dashboard, the
 * learner's own answer).
 */
import type { TransportName } from "../protocol/index.js";
import type { CheckpointEvaluation } from "./checkpoints.js";
import type { Checkpoint } from "./LabDefinition.js";
import type { LabResult } from "./LabResult.js";
import type { Metric } from "./metrics.js";

export interface ExportedCheckpoint {
  id: string;
  question: string;
  metric: Metric;
  phase?: string;
  answer: TransportName | number | null;
  accepted: TransportName[];
  evidence: Partial<Record<TransportName, number | null>>;
  /** A correctness checkpoint's expected value, and whether the run met it. */
  expect?: Checkpoint["expect"];
  passed?: boolean;
  /** The explanation shown for this run, and which of the file's variants it was. */
  explanation?: string;
  explanationVariant?: number;
  /** What the learner answered (the dashboard); null where nobody was asked (the CLI). */
  learner: { answer: string; right: boolean } | null;
}

export interface LabExport {
  learner?: { name: string };
  exportedAt: string;
  result: LabResult;
  checkpoints: ExportedCheckpoint[];
}

export interface LabExportOptions {
  learner?: { name: string } | undefined;
  /** The learner's answers by checkpoint id. */
  verdicts?: ReadonlyMap<string, { given: string; right: boolean }>;
  now?: Date;
}

export function labExport(result: LabResult, evaluations: readonly CheckpointEvaluation[], options: LabExportOptions = {}): LabExport {
  const checkpoints = evaluations.map((e): ExportedCheckpoint => {
    const { checkpoint } = e;
    const verdict = options.verdicts?.get(checkpoint.id);
    return {
      id: checkpoint.id,
      question: checkpoint.question,
      metric: checkpoint.answer.metric,
      ...(checkpoint.answer.phase !== undefined && { phase: checkpoint.answer.phase }),
      answer: e.answer,
      accepted: e.accepted,
      evidence: e.evidence,
      ...(checkpoint.expect !== undefined && { expect: checkpoint.expect }),
      ...(e.passed !== undefined && { passed: e.passed }),
      ...(e.explanation && { explanation: e.explanation.text, explanationVariant: e.explanation.variant }),
      learner: verdict ? { answer: verdict.given, right: verdict.right } : null,
    };
  });
  return {
    ...(options.learner && { learner: { name: options.learner.name } }),
    exportedAt: (options.now ?? new Date()).toISOString(),
    result,
    checkpoints,
  };
}

/** The export as the file's text: indented JSON, one trailing newline. */
export function labExportJson(result: LabResult, evaluations: readonly CheckpointEvaluation[], options: LabExportOptions = {}): string {
  return `${JSON.stringify(labExport(result, evaluations, options), null, 2)}\n`;
}
