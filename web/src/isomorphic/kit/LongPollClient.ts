/** Long polling: the server holds each request until there is news or the wait ends; ask again at once. */
import { LIMITS } from "../protocol/index.js";
import { BaseFeedClient } from "./BaseFeedClient.js";
import type { ConnectionHooks, FeedClientOptions } from "./FeedClient.js";

export interface LongPollClientOptions extends FeedClientOptions {
  /** How long the server may hold a poll, in ms (at most 30,000). Defaults to 25,000. */
  waitMs?: number;
}

export class LongPollClient extends BaseFeedClient {
  readonly transport = "long-poll" as const;
  readonly #waitMs: number;

  constructor(options: LongPollClientOptions) {
    super(options);
    this.#waitMs = Math.min(options.waitMs ?? 25_000, LIMITS.waitMaxMs);
  }

  protected async run(signal: AbortSignal, hooks: ConnectionHooks): Promise<void> {
    // The first request of a connection catches up at once (wait=0), so "open" means the server
    // answered; every later one is parked until there is news.
    for (let wait = 0; !signal.aborted; wait = this.#waitMs) {
      const page = await this.http.poll(this.room, { since: this.cursor, epoch: this.epoch, wait, limit: LIMITS.pollLimitMax }, signal);
      hooks.opened();
      this.applyPage(page);
    }
  }
}
