/**
 * How fast a client sends: at most `maxInFlight` sends at once, in the order they were made.
 * When the server refuses one for its rate limit (429 / a `rate_limited` frame), every send waits
 * until the server said to come back, then they go one at a time, and the window widens by one
 * per accepted send. So a client that sends too fast slows to what the server accepts, instead of
 * piling up refusals (a WebSocket that persists is closed with 1008).
 */
export type SendOutcome = "accepted" | "rate-limited" | "failed";

export class SendPacer {
  readonly #queue: Array<() => void> = [];
  #inFlight = 0;
  #window: number;
  #pausedUntil = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly maxInFlight: number,
    private readonly clock: () => number = Date.now,
  ) {
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new RangeError("maxInFlight must be a positive integer");
    this.#window = maxInFlight;
  }

  /** Sends allowed at once right now (1 after a refusal, growing back to maxInFlight). */
  get window(): number {
    return this.#window;
  }

  /** Resolves when this send may go; pair every acquire with one release. */
  acquire(): Promise<void> {
    return new Promise((resolve) => {
      this.#queue.push(resolve);
      this.#pump();
    });
  }

  /** A send attempt ended; `retryAfterMs` is the server's wait when it was rate-limited. */
  release(outcome: SendOutcome, retryAfterMs = 0): void {
    this.#inFlight -= 1;
    if (outcome === "accepted") this.#window = Math.min(this.maxInFlight, this.#window + 1);
    if (outcome === "rate-limited") {
      this.#window = 1;
      this.#pausedUntil = Math.max(this.#pausedUntil, this.clock() + retryAfterMs);
    }
    this.#pump();
  }

  #pump(): void {
    const wait = this.#pausedUntil - this.clock();
    if (wait > 0) {
      this.#timer ??= setTimeout(() => {
        this.#timer = null;
        this.#pump();
      }, wait);
      return;
    }
    while (this.#queue.length > 0 && this.#inFlight < this.#window) {
      this.#inFlight += 1;
      this.#queue.shift()!();
    }
  }
}
