/**
 * The class of one instance: settings and submissions in the workbench's SQLite file (beside the
 * feed's tables), pages in memory (every page reports again within seconds of a restart).
 */
import Database from "better-sqlite3";
import type { ClassSettings, Submission, SubmissionSummary } from "../../web/src/isomorphic/protocol/class.js";
import { DEFAULT_SETTINGS, summaryOf, type ClassStore, type StoredPage } from "./ClassStore.js";

export class SqliteClassStore implements ClassStore {
  readonly #db: Database.Database;
  readonly #pages = new Map<string, StoredPage>();
  readonly #getSetting: Database.Statement<[string], { value: string }>;
  readonly #putSetting: Database.Statement<[string, string]>;
  readonly #upsert: Database.Statement<[string, string, string, string, number, string, string]>;
  readonly #count: Database.Statement<[], { count: number }>;
  readonly #all: Database.Statement<[], { summary: string }>;
  readonly #ofLab: Database.Statement<[string], { summary: string }>;
  readonly #one: Database.Statement<[string], { body: string }>;

  constructor(file: string) {
    this.#db = new Database(file);
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("synchronous = NORMAL");
    // The feed's connection may be writing too: wait for it rather than fail.
    this.#db.pragma("busy_timeout = 5000");
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS class_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS class_submissions (
        id TEXT PRIMARY KEY, lab TEXT NOT NULL, user_id TEXT NOT NULL, user_name TEXT NOT NULL,
        submitted_at INTEGER NOT NULL, summary TEXT NOT NULL, body TEXT NOT NULL
      );
      CREATE UNIQUE INDEX IF NOT EXISTS class_submissions_by_learner ON class_submissions (lab, user_id);
    `);
    this.#getSetting = this.#db.prepare("SELECT value FROM class_settings WHERE key = ?");
    this.#putSetting = this.#db.prepare("INSERT INTO class_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    this.#upsert = this.#db.prepare(
      `INSERT INTO class_submissions (id, lab, user_id, user_name, submitted_at, summary, body) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (lab, user_id) DO UPDATE SET id = excluded.id, user_name = excluded.user_name, submitted_at = excluded.submitted_at,
         summary = excluded.summary, body = excluded.body`,
    );
    this.#count = this.#db.prepare("SELECT COUNT(*) AS count FROM class_submissions");
    this.#all = this.#db.prepare("SELECT summary FROM class_submissions ORDER BY submitted_at DESC, id");
    this.#ofLab = this.#db.prepare("SELECT summary FROM class_submissions WHERE lab = ? ORDER BY submitted_at DESC, id");
    this.#one = this.#db.prepare("SELECT body FROM class_submissions WHERE id = ?");
  }

  async settings(): Promise<ClassSettings> {
    const row = this.#getSetting.get("settings");
    return row ? { ...DEFAULT_SETTINGS, ...(JSON.parse(row.value) as ClassSettings) } : { ...DEFAULT_SETTINGS };
  }

  async saveSettings(settings: ClassSettings): Promise<void> {
    this.#putSetting.run("settings", JSON.stringify(settings));
  }

  async putPage(page: StoredPage): Promise<void> {
    this.#pages.set(page.page, page);
  }

  async page(id: string): Promise<StoredPage | null> {
    return this.#pages.get(id) ?? null;
  }

  async pages(since: number): Promise<StoredPage[]> {
    for (const [id, page] of this.#pages) if (page.lastSeenAt <= since) this.#pages.delete(id);
    return [...this.#pages.values()];
  }

  async saveSubmission(s: Submission): Promise<void> {
    this.#upsert.run(s.id, s.lab, s.user.id, s.user.name, s.submittedAt, JSON.stringify(summaryOf(s)), JSON.stringify(s));
  }

  async countSubmissions(): Promise<number> {
    return this.#count.get()!.count;
  }

  async submissions(lab?: string): Promise<SubmissionSummary[]> {
    const rows = lab === undefined ? this.#all.all() : this.#ofLab.all(lab);
    // Summaries only: a result body may be large, and a listing needs none of them.
    return rows.map((r) => JSON.parse(r.summary) as SubmissionSummary);
  }

  async submission(id: string): Promise<Submission | null> {
    const row = this.#one.get(id);
    return row ? (JSON.parse(row.body) as Submission) : null;
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
