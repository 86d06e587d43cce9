/**
 * A class: who is connected (every learner's page checks in every few seconds), what the
 * instructor assigned, the class-wide reconnect timeline and latency distribution, and the
 * learners' lab submissions, each judged against its own measured result.
 */
import { randomUUID } from "node:crypto";
import {
  LATENCY_BUCKETS_MS,
  type CheckinRequest,
  type CheckinResponse,
  type ClassResponse,
  type ClassSettings,
  type Submission,
  type SubmissionCheck,
  type SubmissionRequest,
  type SubmissionSummary,
  type TimelineEntry,
} from "../../web/src/isomorphic/protocol/class.js";
import { ERROR_CODES, type Principal, type TransportName } from "../../web/src/isomorphic/protocol/index.js";
import { evaluateAll, judgeAnswer, type LabDefinition } from "../../web/src/isomorphic/lab/index.js";
import { WirelabError } from "../errors.js";
import type { ClassStore, StoredPage } from "./ClassStore.js";

export interface ClassroomOptions {
  /** A page not heard from for this long leaves the roster. */
  rosterWindowMs: number;
  /** Pages the class holds at once. */
  maxPages: number;
  /** Submissions kept (a learner's resubmission of a lab replaces the earlier one). */
  maxSubmissions: number;
  /** Timeline entries returned to the instructor (the most recent). */
  maxTimeline: number;
  clock?: () => number;
}

export class Classroom {
  readonly #clock: () => number;

  constructor(
    private readonly store: ClassStore,
    /** The lab of an id; throws (404/422) when there is none or it is broken. */
    private readonly loadLab: (id: string) => Promise<LabDefinition>,
    private readonly instance: string,
    private readonly options: ClassroomOptions,
  ) {
    this.#clock = options.clock ?? Date.now;
  }

  settings(): Promise<ClassSettings> {
    return this.store.settings();
  }

  /** A page reports; it hears what the class is asked to do. */
  async checkin(user: Principal, report: CheckinRequest): Promise<CheckinResponse> {
    const now = this.#clock();
    // Page times onto the server's clock: the page said what its clock read when it sent this.
    const shift = now - report.now;
    const at = (t: number) => Math.max(0, Math.round(t + shift));
    const previous = await this.store.page(report.page);
    if (!previous && (await this.store.pages(now - this.options.rosterWindowMs)).length >= this.options.maxPages) {
      throw new WirelabError(507, ERROR_CODES.classFull, `the class holds at most ${this.options.maxPages} pages; close a tab or ask the instructor`);
    }
    if (previous && previous.user.id !== user.id) throw new WirelabError(403, ERROR_CODES.forbidden, "this page id belongs to another session");
    const page: StoredPage = {
      page: report.page,
      user: { id: user.id, name: user.name, role: user.role },
      view: report.view,
      ...(report.lab !== undefined && { lab: report.lab }),
      clients: report.clients.map((c) => ({ ...c, ...(c.lastByteAt !== undefined && { lastByteAt: at(c.lastByteAt) }) })),
      instance: this.instance,
      firstSeenAt: previous?.firstSeenAt ?? now,
      lastSeenAt: now,
      events: report.events.map((e) => ({ ...e, downAt: at(e.downAt), at: at(e.at) })),
      latency: report.latency,
    };
    await this.store.putPage(page);
    return { ...(await this.store.settings()), serverTime: now };
  }

  /** The instructor's view of the class. */
  async view(): Promise<ClassResponse> {
    const now = this.#clock();
    const pages = await this.store.pages(now - this.options.rosterWindowMs);
    const timeline: TimelineEntry[] = pages
      .flatMap((p) => p.events.map((e) => ({ ...e, page: p.page, user: { id: p.user.id, name: p.user.name } })))
      .sort((a, b) => a.at - b.at)
      .slice(-this.options.maxTimeline);
    const latency: Partial<Record<TransportName, number[]>> = {};
    for (const page of pages) {
      for (const [transport, buckets] of Object.entries(page.latency) as Array<[TransportName, number[]]>) {
        const sum = (latency[transport] ??= new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0));
        buckets.forEach((n, i) => (sum[i] = (sum[i] ?? 0) + n));
      }
    }
    const roster = pages
      .map(({ events: _e, latency: _l, ...entry }) => entry)
      .sort((a, b) => a.user.name.localeCompare(b.user.name) || a.firstSeenAt - b.firstSeenAt);
    return { ...(await this.store.settings()), serverTime: now, roster, timeline, latency };
  }

  /** Assign a lab to everyone (null: none). Every page opens it once, latecomers on joining. */
  async assign(lab: string | null): Promise<ClassSettings> {
    if (lab !== null) await this.loadLab(lab);
    const settings = await this.store.settings();
    const next: ClassSettings = { ...settings, assignment: lab === null ? null : { lab, id: randomUUID(), at: this.#clock() } };
    await this.store.saveSettings(next);
    return next;
  }

  async setJitter(jitter: boolean): Promise<ClassSettings> {
    const next = { ...(await this.store.settings()), jitter };
    await this.store.saveSettings(next);
    return next;
  }

  /** A learner hands in a lab's result and answers; the server judges each checkpoint itself. */
  async submit(user: Principal, request: SubmissionRequest): Promise<SubmissionSummary> {
    const lab = await this.loadLab(request.result.lab.id);
    const mine = (await this.store.submissions(lab.id)).some((s) => s.user.id === user.id);
    if (!mine && (await this.store.countSubmissions()) >= this.options.maxSubmissions) {
      throw new WirelabError(507, ERROR_CODES.classFull, `the class holds at most ${this.options.maxSubmissions} submissions`);
    }
    const checks: SubmissionCheck[] = evaluateAll(lab.checkpoints, request.result).map((evaluation) => {
      const id = evaluation.checkpoint.id;
      const given = request.answers[id]?.trim() || null;
      return {
        id,
        question: evaluation.checkpoint.question,
        given,
        answer: evaluation.answer === null ? null : String(evaluation.answer),
        right: given !== null && judgeAnswer(evaluation, given),
      };
    });
    const submission: Submission = {
      id: randomUUID(),
      lab: lab.id,
      user: { id: user.id, name: user.name },
      submittedAt: this.#clock(),
      checks,
      result: request.result,
      answers: request.answers,
    };
    await this.store.saveSubmission(submission);
    const { result: _r, answers: _a, ...summary } = submission;
    return summary;
  }

  submissions(lab?: string): Promise<SubmissionSummary[]> {
    return this.store.submissions(lab);
  }

  /** One submission, for the instructor or the learner who made it. */
  async submission(viewer: Principal, id: string): Promise<Submission> {
    const found = await this.store.submission(id);
    // A learner learns nothing about others' submissions, not even that one exists.
    if (!found || (viewer.role !== "instructor" && found.user.id !== viewer.id)) {
      throw new WirelabError(found ? 403 : 404, found ? ERROR_CODES.forbidden : ERROR_CODES.notFound, found ? "a learner may read only their own submissions" : `no submission ${id.slice(0, 64)}`);
    }
    return found;
  }

  /** A learner's own submissions. */
  async mine(user: Principal): Promise<SubmissionSummary[]> {
    return (await this.store.submissions()).filter((s) => s.user.id === user.id);
  }

  /** Every submission (of one lab), one row each: for a spreadsheet. */
  async csv(lab?: string): Promise<string> {
    const rows = await this.store.submissions(lab);
    const ids: string[] = [];
    for (const s of rows) for (const c of s.checks) if (!ids.includes(`${s.lab}\n${c.id}`)) ids.push(`${s.lab}\n${c.id}`);
    const columns = ids.map((key) => (lab === undefined ? key.replace("\n", ":") : key.split("\n")[1]!));
    const header = ["lab", "name", "user", "submitted", "right", "of", ...columns.flatMap((id) => [`${id} answer`, `${id} right`])];
    const lines = rows.map((s) => {
      const cells = ids.flatMap((key) => {
        const [labId, id] = key.split("\n") as [string, string];
        const check = labId === s.lab ? s.checks.find((c) => c.id === id) : undefined;
        return check ? [check.given ?? "", check.right ? "yes" : "no"] : ["", ""];
      });
      const right = s.checks.filter((c) => c.right).length;
      return [s.lab, s.user.name, s.user.id, new Date(s.submittedAt).toISOString(), String(right), String(s.checks.length), ...cells];
    });
    return [header, ...lines].map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** RFC 4180 quoting, and a leading quote on what a spreadsheet would run as a formula. */
function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
