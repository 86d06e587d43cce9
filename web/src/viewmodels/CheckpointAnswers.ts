/**
 * A lab's checkpoints against one finished run: what the numbers answer (evaluations), the
 * learner's answers, and whether each is right. Plain state for LabSession; the lab engine's
 * judgeAnswer decides.
 */
import { evaluateAll, judgeAnswer, type Checkpoint, type CheckpointEvaluation, type LabResult } from "../isomorphic/lab/index.js";

export interface Verdict {
  given: string;
  right: boolean;
}

export class CheckpointAnswers {
  #evaluations: CheckpointEvaluation[] = [];
  readonly #verdicts = new Map<string, Verdict>();

  constructor(private readonly checkpoints: readonly Checkpoint[]) {}

  /** Judge `result` afresh, and the `answers` given so far against it (unknown ids are dropped). Throws when the checkpoints cannot read it. */
  judge(result: LabResult, answers: Record<string, string> = {}): void {
    const evaluations = evaluateAll([...this.checkpoints], result);
    const verdicts = new Map<string, Verdict>();
    for (const [id, given] of Object.entries(answers)) {
      const evaluation = evaluations.find((e) => e.checkpoint.id === id);
      if (evaluation) verdicts.set(id, { given, right: judgeAnswer(evaluation, given) });
    }
    this.#evaluations = evaluations;
    this.#verdicts.clear();
    for (const [id, v] of verdicts) this.#verdicts.set(id, v);
  }

  clear(): void {
    this.#evaluations = [];
    this.#verdicts.clear();
  }

  /** What the numbers say, per checkpoint; empty until a run is judged. */
  get evaluations(): readonly CheckpointEvaluation[] {
    return this.#evaluations;
  }

  evaluation(id: string): CheckpointEvaluation | undefined {
    return this.#evaluations.find((e) => e.checkpoint.id === id);
  }

  /** Judge the learner's answer; null when there is no run to judge against or no answer. */
  answer(id: string, given: string | number): Verdict | null {
    const evaluation = this.evaluation(id);
    const text = String(given).trim();
    if (!evaluation || text === "") return null;
    const verdict = { given: text.slice(0, 100), right: judgeAnswer(evaluation, text) };
    this.#verdicts.set(id, verdict);
    return verdict;
  }

  verdict(id: string): Verdict | undefined {
    return this.#verdicts.get(id);
  }

  get verdicts(): ReadonlyMap<string, Verdict> {
    return this.#verdicts;
  }

  /** The answers so far, by checkpoint id (what a hand-in sends, and what is kept). */
  answers(): Record<string, string> {
    return Object.fromEntries([...this.#verdicts].map(([id, verdict]) => [id, verdict.given]));
  }
}
