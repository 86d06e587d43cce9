/** A lab's checkpoints against one run, and the learner's answers to them (lab 01 and a known result). */
import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { parseLab } from "../../web/src/isomorphic/lab/index.js";
import { CheckpointAnswers } from "../../web/src/viewmodels/CheckpointAnswers.js";
import { pollingTaxResult } from "../labResults.js";
import { packageRoot } from "../../server/paths.js";
import { join } from "node:path";

const lab = parseLab("labs/01-polling-tax.md", readFileSync(join(packageRoot(), "labs", "01-polling-tax.md"), "utf8"));

test("nothing to answer before a run is judged", () => {
  const answers = new CheckpointAnswers(lab.checkpoints);
  expect(answers.evaluations).toEqual([]);
  expect(answers.answer("quiet-requests", "short-poll")).toBeNull();
});

test("judges the learner's answers against the run's numbers, and keeps them", () => {
  const answers = new CheckpointAnswers(lab.checkpoints);
  answers.judge(pollingTaxResult());
  expect(answers.evaluation("quiet-requests")!.answer).toBe("short-poll");
  expect(answers.answer("quiet-requests", " short-poll ")).toEqual({ given: "short-poll", right: true });
  expect(answers.answer("slowest", "websocket")).toEqual({ given: "websocket", right: false });
  expect(answers.answer("slowest", "   ")).toBeNull();
  expect(answers.answers()).toEqual({ "quiet-requests": "short-poll", slowest: "websocket" });
});

test("answers kept from an earlier page are judged again; unknown checkpoints are dropped", () => {
  const answers = new CheckpointAnswers(lab.checkpoints);
  answers.judge(pollingTaxResult(), { "quiet-requests": "short-poll", "no-such-checkpoint": "sse" });
  expect(answers.verdict("quiet-requests")).toEqual({ given: "short-poll", right: true });
  expect(answers.answers()).toEqual({ "quiet-requests": "short-poll" });
  answers.clear();
  expect(answers.answers()).toEqual({});
});
