/** Reconnection delay policy: exponential backoff with full jitter. Pure, so it is easy to test. */

export interface BackoffOptions {
  /** First delay ceiling in ms. Defaults to 500. */
  baseMs: number;
  /** Largest delay in ms. Defaults to 30,000. */
  capMs: number;
  /** Failed attempts in a row before giving up. Defaults to Infinity (reconnect forever). */
  maxAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 30_000, maxAttempts: Number.POSITIVE_INFINITY };

/**
 * Delay before retry number `attempt` (0-based): uniform in [0, min(cap, base·2^attempt)).
 * Full jitter spreads a crowd of clients that lost the server at the same instant.
 */
export function backoffDelay(attempt: number, options: Pick<BackoffOptions, "baseMs" | "capMs">, random: () => number = Math.random): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.min(attempt, 52));
  return Math.floor(random() * ceiling);
}

/** Resolves after `ms`, or at once when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
