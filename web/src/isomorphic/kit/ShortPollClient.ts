/** Short polling: ask "anything new since my cursor?" every interval, whether or not there is. */
import { LIMITS } from "../protocol/index.js";
import { sleep } from "./backoff.js";
import { BaseFeedClient } from "./BaseFeedClient.js";
import type { ConnectionHooks, FeedClientOptions } from "./FeedClient.js";

export interface ShortPollClientOptions extends FeedClientOptions {
  /** Time between polls in ms. Defaults to 2,000. */
  intervalMs?: number;
}

export class ShortPollClient extends BaseFeedClient {
  readonly transport = "short-poll" as const;
  readonly #intervalMs: number;

  constructor(options: ShortPollClientOptions) {
    super(options);
    this.#intervalMs = options.intervalMs ?? 2_000;
  }

  protected async run(signal: AbortSignal, hooks: ConnectionHooks): Promise<void> {
    while (!signal.aborted) {
      const page = await this.http.poll(this.room, { since: this.cursor, epoch: this.epoch, limit: LIMITS.pollLimitMax }, signal);
      hooks.opened();
      this.applyPage(page);
      // A full page, or one the server cut at its byte budget (more), means more is waiting: ask
      // again at once instead of after the interval.
      if (!page.more && page.messages.length < LIMITS.pollLimitMax) await sleep(this.#intervalMs, signal);
    }
  }
}
