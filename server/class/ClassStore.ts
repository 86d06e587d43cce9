/**
 * Where a class is kept. The settings (assignment, jitter) and the submissions must survive a
 * restart; the pages (roster, reconnects, latency) are what each learner's page reports every few
 * seconds, and it reports them again after a restart, so they may live in memory on one instance.
 * A cluster keeps all of it in Redis, so every instance sees the whole class.
 */
import type { ClassSettings, ReconnectEvent, RosterEntry, Submission, SubmissionSummary } from "../../web/src/isomorphic/protocol/class.js";
import type { TransportName } from "../../web/src/isomorphic/protocol/index.js";

/** A page as last reported, on the server's clock. */
export interface StoredPage extends RosterEntry {
  events: ReconnectEvent[];
  latency: Partial<Record<TransportName, number[]>>;
}

export interface ClassStore {
  settings(): Promise<ClassSettings>;
  saveSettings(settings: ClassSettings): Promise<void>;
  /** Keep the page's latest report (replacing its earlier one). */
  putPage(page: StoredPage): Promise<void>;
  /** The page's last report, if it is kept. */
  page(id: string): Promise<StoredPage | null>;
  /** Pages last seen after `since` (server clock); older ones are forgotten. */
  pages(since: number): Promise<StoredPage[]>;
  /** Store a submission; a learner's earlier one for the same lab is replaced. Returns how many are kept. */
  saveSubmission(submission: Submission): Promise<void>;
  countSubmissions(): Promise<number>;
  /** Submissions, newest first; of one lab when given. */
  submissions(lab?: string): Promise<SubmissionSummary[]>;
  submission(id: string): Promise<Submission | null>;
  close(): Promise<void>;
}

export const DEFAULT_SETTINGS: ClassSettings = { assignment: null, jitter: true };

export function summaryOf(submission: Submission): SubmissionSummary {
  const { id, lab, user, submittedAt, checks } = submission;
  return { id, lab, user, submittedAt, checks };
}
