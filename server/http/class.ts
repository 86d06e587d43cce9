/**
 * The class API under /v1/class. Every session checks in and may submit and read its own
 * submissions; the roster, the assignment, the class settings and everyone's submissions are the
 * instructor's.
 */
import type { Router } from "express";
import type { z } from "zod";
import {
  AssignmentRequestSchema,
  CheckinRequestSchema,
  SettingsRequestSchema,
  SubmissionRequestSchema,
} from "../../web/src/isomorphic/protocol/class.js";
import { ERROR_CODES, describeIssues } from "../../web/src/isomorphic/protocol/index.js";
import type { Classroom } from "../class/Classroom.js";
import { badRequest } from "../errors.js";
import { jsonBody, requireInstructor } from "./api.js";
import { userOf } from "./locals.js";

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) throw badRequest(ERROR_CODES.invalidBody, describeIssues(result.error));
  return result.data;
}

/** `?lab=` when given: a lab id of sane length. */
function labOf(query: unknown): string | undefined {
  const lab = (query as Record<string, unknown>).lab;
  if (lab === undefined) return undefined;
  if (typeof lab !== "string" || lab.length === 0 || lab.length > 100) throw badRequest(ERROR_CODES.badQuery, "lab must be a lab id (1-100 characters)");
  return lab;
}

export function classRoutes(router: Router, deps: { classroom: Classroom; maxBodyBytes: number; maxSubmissionBytes: number }): void {
  const { classroom } = deps;
  const body = jsonBody(deps.maxBodyBytes);

  router.post("/class/checkin", body, async (req, res) => {
    res.json(await classroom.checkin(userOf(res), parse(CheckinRequestSchema, req.body)));
  });

  router.get("/class", requireInstructor, async (_req, res) => {
    res.json(await classroom.view());
  });

  router.put("/class/assignment", requireInstructor, body, async (req, res) => {
    const { lab } = parse(AssignmentRequestSchema, req.body);
    res.json(await classroom.assign(lab));
  });

  router.put("/class/settings", requireInstructor, body, async (req, res) => {
    const { jitter } = parse(SettingsRequestSchema, req.body);
    res.json(await classroom.setJitter(jitter));
  });

  router.post("/class/submissions", jsonBody(deps.maxSubmissionBytes), async (req, res) => {
    res.status(201).json(await classroom.submit(userOf(res), parse(SubmissionRequestSchema, req.body)));
  });

  router.get("/class/submissions", requireInstructor, async (req, res) => {
    res.json({ submissions: await classroom.submissions(labOf(req.query)) });
  });

  router.get("/class/submissions.csv", requireInstructor, async (req, res) => {
    const lab = labOf(req.query);
    res.setHeader("content-disposition", `attachment; filename="${(lab ?? "all-labs").replace(/[^A-Za-z0-9-]/g, "_")}-submissions.csv"`);
    res.type("text/csv").send(await classroom.csv(lab));
  });

  router.get("/class/submissions/mine", async (_req, res) => {
    res.json({ submissions: await classroom.mine(userOf(res)) });
  });

  router.get("/class/submissions/:id", async (req, res) => {
    res.json(await classroom.submission(userOf(res), String(req.params.id)));
  });
}
