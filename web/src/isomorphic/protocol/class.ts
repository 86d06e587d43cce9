/**
 * The class contract (/v1/class), shared by the server and the dashboard: a learner's page checks
 * in every few seconds with what its clients are doing; the instructor reads the roster, the
 * class-wide reconnect timeline and latency distribution, assigns a lab, and collects submissions.
 */
import { z } from "zod";
import { LabResultSchema } from "./labResult.js";
import { TRANSPORTS, UserSchema, type Role } from "./index.js";

/** Latency buckets of the class-wide distribution: upper bounds in ms; the last bucket is "more". */
export const LATENCY_BUCKETS_MS = [5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000] as const;

/** The bucket a latency falls in (0 … LATENCY_BUCKETS_MS.length). */
export function latencyBucket(ms: number): number {
  const i = LATENCY_BUCKETS_MS.findIndex((upper) => ms <= upper);
  return i === -1 ? LATENCY_BUCKETS_MS.length : i;
}

/** What a page's check-in may carry: bounded, so a check-in stays small. */
export const CLASS_LIMITS = {
  clientsPerPage: 40,
  eventsPerPage: 100,
  /** Characters of a lab id or a view name. */
  idMaxLength: 100,
} as const;

const epochMs = z.number().int().nonnegative();
const transport = z.enum(TRANSPORTS);
/** Connections the page holds: the four transports, or its own check-ins ("page"). */
const linkName = z.union([transport, z.literal("page")]);
export type LinkName = z.infer<typeof linkName>;

export const ClientReportSchema = z.strictObject({
  transport,
  state: z.enum(["idle", "connecting", "open", "reconnecting", "closed"]),
  instance: z.string().max(64).optional(),
  /** When the client last received anything (message, heartbeat, poll answer), page clock. */
  lastByteAt: epochMs.optional(),
});
export type ClientReport = z.infer<typeof ClientReportSchema>;

/** One connection of a page coming back: it was down from `downAt` to `at` (page clock). */
export const ReconnectEventSchema = z.strictObject({
  /** Unique within the page. */
  id: z.number().int().nonnegative(),
  link: linkName,
  downAt: epochMs,
  at: epochMs,
  /** The seq the client resumed from (its cursor), when it had one. */
  resumedFrom: z.number().int().nonnegative().optional(),
});
export type ReconnectEvent = z.infer<typeof ReconnectEventSchema>;

export const CheckinRequestSchema = z.strictObject({
  /** A random id per page load: one learner may have two tabs. */
  page: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, "page must be 8-64 characters of A-Z, a-z, 0-9, _ or -"),
  /** The page's clock when it sent this, so the server can put page times on its own clock. */
  now: epochMs,
  view: z.enum(["workbench", "labs", "lab", "class"]),
  lab: z.string().max(CLASS_LIMITS.idMaxLength).optional(),
  clients: z.array(ClientReportSchema).max(CLASS_LIMITS.clientsPerPage),
  /** The page's latest reconnects (it keeps and resends them, so none is lost to a restart). */
  events: z.array(ReconnectEventSchema).max(CLASS_LIMITS.eventsPerPage),
  /** Per transport, how many deliveries fell in each latency bucket since the page loaded. */
  latency: z.partialRecord(transport, z.array(z.number().int().nonnegative()).length(LATENCY_BUCKETS_MS.length + 1)),
});
export type CheckinRequest = z.infer<typeof CheckinRequestSchema>;

/** What the instructor set for the class. */
export interface ClassAssignment {
  lab: string;
  /** Changes at every assignment, so a page opens each new one once. */
  id: string;
  at: number;
}

export interface ClassSettings {
  assignment: ClassAssignment | null;
  /** Whether learners' clients wait a random part of their backoff (lab 08's lesson, class-wide). */
  jitter: boolean;
}

export interface CheckinResponse extends ClassSettings {
  /** The server's clock, for the page's own offset. */
  serverTime: number;
}

/** One page in the roster; times on the server's clock. */
export interface RosterEntry {
  page: string;
  user: { id: string; name: string; role: Role };
  view: "workbench" | "labs" | "lab" | "class";
  lab?: string;
  clients: ClientReport[];
  instance: string;
  firstSeenAt: number;
  lastSeenAt: number;
}

export interface TimelineEntry extends ReconnectEvent {
  page: string;
  user: { id: string; name: string };
}

export interface ClassResponse extends ClassSettings {
  serverTime: number;
  /** Pages seen within the roster window, most recent first. */
  roster: RosterEntry[];
  /** Reconnects of every page, oldest first (server clock). */
  timeline: TimelineEntry[];
  /** Per transport, deliveries per latency bucket, summed over every page. */
  latency: Partial<Record<z.infer<typeof transport>, number[]>>;
}

/** GET /v1/session/options: what the join form needs to know before there is a session. */
export interface SessionOptionsResponse {
  /** Learners must give a class code to join. */
  classCode: boolean;
  /** Where students join (the class server's addresses on its network); empty off a class server. */
  joinUrls: string[];
}

export const AssignmentRequestSchema = z.strictObject({ lab: z.string().min(1).max(CLASS_LIMITS.idMaxLength).nullable() });
export const SettingsRequestSchema = z.strictObject({ jitter: z.boolean({ error: "must be true or false" }) });

export const SubmissionRequestSchema = z.strictObject({
  result: LabResultSchema,
  /** The learner's answers by checkpoint id. */
  answers: z.record(z.string().max(64), z.string().max(200)).refine((a) => Object.keys(a).length <= 50, "at most 50 answers"),
});
export type SubmissionRequest = z.infer<typeof SubmissionRequestSchema>;

/** One checkpoint of a submission, judged by the server against the submitted result. */
export interface SubmissionCheck {
  id: string;
  question: string;
  given: string | null;
  /** The answer the numbers give, as text. */
  answer: string | null;
  right: boolean;
}

export interface SubmissionSummary {
  id: string;
  lab: string;
  user: z.infer<typeof UserSchema>;
  submittedAt: number;
  checks: SubmissionCheck[];
}

export interface Submission extends SubmissionSummary {
  result: z.infer<typeof LabResultSchema>;
  answers: Record<string, string>;
}
