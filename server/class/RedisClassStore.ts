/**
 * The class of a cluster, in Redis: every instance reads and writes the same settings, pages and
 * submissions, so the instructor sees the whole class whichever instance answers.
 */
import type { Redis } from "ioredis";
import type { ClassSettings, Submission, SubmissionSummary } from "../../web/src/isomorphic/protocol/class.js";
import { DEFAULT_SETTINGS, summaryOf, type ClassStore, type StoredPage } from "./ClassStore.js";

/**
 * Replace a learner's earlier submission of the same lab, atomically.
 * KEYS: bodies, summaries, by learner; ARGV: id, learner key, body, summary.
 */
const SAVE_SUBMISSION = `
local old = redis.call('HGET', KEYS[3], ARGV[2])
if old then
  redis.call('HDEL', KEYS[1], old)
  redis.call('HDEL', KEYS[2], old)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[1])
return 1`;

export class RedisClassStore implements ClassStore {
  readonly #keys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    const base = `${prefix}class:`;
    this.#keys = { settings: `${base}settings`, pages: `${base}pages`, seen: `${base}seen`, subs: `${base}submissions`, summaries: `${base}submissions:summaries`, by: `${base}submissions:by-learner` };
  }

  async settings(): Promise<ClassSettings> {
    const value = await this.redis.get(this.#keys.settings);
    return value ? { ...DEFAULT_SETTINGS, ...(JSON.parse(value) as ClassSettings) } : { ...DEFAULT_SETTINGS };
  }

  async saveSettings(settings: ClassSettings): Promise<void> {
    await this.redis.set(this.#keys.settings, JSON.stringify(settings));
  }

  async putPage(page: StoredPage): Promise<void> {
    await this.redis.multi().hset(this.#keys.pages, page.page, JSON.stringify(page)).zadd(this.#keys.seen, page.lastSeenAt, page.page).exec();
  }

  async page(id: string): Promise<StoredPage | null> {
    const value = await this.redis.hget(this.#keys.pages, id);
    return value ? (JSON.parse(value) as StoredPage) : null;
  }

  async pages(since: number): Promise<StoredPage[]> {
    const stale = await this.redis.zrangebyscore(this.#keys.seen, "-inf", since);
    if (stale.length > 0) await this.redis.multi().hdel(this.#keys.pages, ...stale).zrem(this.#keys.seen, ...stale).exec();
    const all = await this.redis.hvals(this.#keys.pages);
    return all.map((value) => JSON.parse(value) as StoredPage);
  }

  async saveSubmission(s: Submission): Promise<void> {
    await this.redis.eval(SAVE_SUBMISSION, 3, this.#keys.subs, this.#keys.summaries, this.#keys.by, s.id, `${s.lab}\n${s.user.id}`, JSON.stringify(s), JSON.stringify(summaryOf(s)));
  }

  async countSubmissions(): Promise<number> {
    return this.redis.hlen(this.#keys.subs);
  }

  async submissions(lab?: string): Promise<SubmissionSummary[]> {
    // Summaries only: a result body may be large, and a listing needs none of them.
    const all = (await this.redis.hvals(this.#keys.summaries)).map((value) => JSON.parse(value) as SubmissionSummary);
    return all.filter((s) => lab === undefined || s.lab === lab).sort((a, b) => b.submittedAt - a.submittedAt || a.id.localeCompare(b.id));
  }

  async submission(id: string): Promise<Submission | null> {
    const value = await this.redis.hget(this.#keys.subs, id);
    return value ? (JSON.parse(value) as Submission) : null;
  }

  async close(): Promise<void> {
    // The connection belongs to the feed's backend, which closes it.
  }
}
