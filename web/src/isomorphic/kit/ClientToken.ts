/**
 * A feed client's own session token: refreshed ahead of expiry (same user), renewed as a new
 * session when the server refuses to refresh it, one renewal at a time however many requests
 * need it. The client decides what a new token means for its connection.
 */
import { HttpError, isRetryable } from "./JsonClient.js";
import { readTokenClaims, refreshDueAt, type TokenGrant } from "./tokens.js";

export interface ClientTokenOptions {
  token: string;
  /** When the token runs out (epoch ms); defaults to its `exp` claim. */
  expiresAt?: number | undefined;
  /** Fraction of a token's lifetime after which it is refreshed; 0 never refreshes ahead of time. */
  refreshAt: number;
  clock: () => number;
  /** Refresh the token in use (POST /v1/session/refresh): the same user. */
  refresh: () => Promise<TokenGrant>;
  /** A new session when a refresh is refused (401): a new user. Null gives up instead. */
  renewSession: (() => Promise<TokenGrant>) | null;
  /** Another token is in use now. */
  changed: (grant: TokenGrant) => void;
  /** A refresh ahead of time failed (it is retried while the token lives, if the failure may pass). */
  failed: (error: Error) => void;
}

export class ClientToken {
  readonly #options: ClientTokenOptions;
  #grant: { token: string; expiresAt: number | undefined };
  /** Local time the token was issued or received: the start of its lifetime on this clock. */
  #receivedAt: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #renewing: Promise<void> | null = null;
  #refreshing = false;

  constructor(options: ClientTokenOptions) {
    this.#options = options;
    const claims = readTokenClaims(options.token);
    this.#grant = { token: options.token, expiresAt: options.expiresAt ?? claims.expiresAt };
    // A token handed in may have been issued a while ago: its lifetime began at its iat.
    this.#receivedAt = claims.issuedAt ?? options.clock();
  }

  get value(): string {
    return this.#grant.token;
  }

  get expiresAt(): number | undefined {
    return this.#grant.expiresAt;
  }

  /** It ran out (by this machine's clock): renew before using it. */
  get expired(): boolean {
    return this.#grant.expiresAt !== undefined && this.#options.clock() >= this.#grant.expiresAt;
  }

  /** Refresh on a timer, at `refreshAt` of each token's lifetime, until `stop()`. */
  keepFresh(): void {
    this.#refreshing = true;
    this.#schedule();
  }

  stop(): void {
    this.#refreshing = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Get a new token: refresh this one, or, if the server refuses it (expired, or unknown to it),
   * a new session through `renewSession`. Throws when neither works.
   */
  renew(): Promise<void> {
    return (this.#renewing ??= (async () => {
      try {
        let grant: TokenGrant;
        try {
          grant = await this.#options.refresh();
        } catch (error) {
          if (!(error instanceof HttpError && error.status === 401) || !this.#options.renewSession) throw error;
          grant = await this.#options.renewSession();
        }
        this.#grant = { token: grant.token, expiresAt: grant.expiresAt };
        this.#receivedAt = this.#options.clock();
        this.#options.changed(grant);
      } finally {
        this.#renewing = null;
      }
    })());
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const { refreshAt, clock } = this.#options;
    const { token, expiresAt } = this.#grant;
    if (!this.#refreshing || refreshAt <= 0 || expiresAt === undefined) return;
    const due = refreshDueAt({ token, expiresAt }, this.#receivedAt, refreshAt);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.renew().then(
        () => this.#schedule(),
        (error: unknown) => {
          this.#options.failed(error instanceof Error ? error : new Error(String(error)));
          // Not refused, just not reached: try again while the token still lives (the stream
          // recovers by itself if it runs out meanwhile).
          const left = (this.#grant.expiresAt ?? 0) - clock();
          if (this.#refreshing && left > 0 && isRetryable(error)) {
            this.#timer = setTimeout(() => this.#schedule(), Math.max(250, left / 4));
          }
        },
      );
    }, Math.max(0, due - clock()));
  }
}
