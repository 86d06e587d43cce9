/**
 * Keeps one session's token alive for everything that is not a FeedClient (the catalog, the
 * labs, stats, the instructor's controls): it refreshes the token at `refreshAt` of its lifetime
 * (POST /v1/session/refresh, same user), retries with backoff when the server cannot be reached,
 * and says so (event `expired`) when the token ran out, instead of quietly starting a new session,
 * which would be a new user. Clients that refresh their own token hand it over with `adopt()`,
 * so the keeper and they do not refresh against each other. Isomorphic: no DOM.
 */
import type { SessionResponse } from "../protocol/index.js";
import { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from "./backoff.js";
import { Emitter } from "./Emitter.js";
import { FeedHttp } from "./FeedHttp.js";
import { HttpError, type FetchLike } from "./JsonClient.js";
import { readTokenClaims, refreshDueAt, type TokenGrant } from "./tokens.js";

/** setTimeout and clearTimeout, injectable so that tests decide when a timer fires. */
export interface KeeperTimers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface SessionKeeperOptions {
  /** The server's origin. */
  baseUrl: string;
  /** The session from POST /v1/session. */
  session: SessionResponse;
  /** Fraction of a token's lifetime after which it is refreshed. Defaults to 0.8. */
  refreshAt?: number;
  /** Retry policy when a refresh does not reach the server. Defaults to 1 s base, 30 s cap. */
  backoff?: Partial<Pick<BackoffOptions, "baseMs" | "capMs">>;
  /** Time-out of one refresh request in ms. Defaults to 10,000. */
  requestTimeoutMs?: number;
  fetch?: FetchLike;
  /** Defaults to Date.now. */
  clock?: () => number;
  /** Defaults to the platform's setTimeout and clearTimeout. */
  timers?: KeeperTimers;
  random?: () => number;
}

/** "expired": the server refused the token (401); a new session, a new user, is the only way on. */
export type KeeperState = "idle" | "running" | "expired" | "stopped";

export interface SessionKeeperEvents {
  [name: string]: (...args: never[]) => void;
  /** Another token is current (refreshed here, or adopted from a client). */
  token: (session: SessionResponse) => void;
  /** The server refused to refresh the token: it ran out (the laptop slept) or the server forgot its secret. */
  expired: (error: HttpError) => void;
  /** A refresh did not get through; the keeper tries again after `retryInMs`. */
  error: (error: Error, retryInMs: number) => void;
}

const PLATFORM_TIMERS: KeeperTimers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class SessionKeeper extends Emitter<SessionKeeperEvents> {
  /** `token` as a function, for whatever takes `string | (() => string)` and reads it at every request. */
  readonly tokenSource: () => string = () => this.#session.token;
  readonly #options: Required<Omit<SessionKeeperOptions, "session" | "backoff">> & { backoff: BackoffOptions };
  #session: SessionResponse;
  /** Local time the current token was received: lifetimes are measured from here, on this clock. */
  #receivedAt: number;
  #state: KeeperState = "idle";
  #timer: unknown;
  #failures = 0;
  #refreshing: Promise<SessionResponse> | null = null;

  constructor(options: SessionKeeperOptions) {
    super();
    this.#options = {
      refreshAt: 0.8,
      requestTimeoutMs: 10_000,
      fetch: globalThis.fetch.bind(globalThis),
      clock: Date.now,
      timers: PLATFORM_TIMERS,
      random: Math.random,
      ...options,
      backoff: { ...DEFAULT_BACKOFF, baseMs: 1_000, ...options.backoff },
    };
    this.#session = options.session;
    this.#receivedAt = this.#options.clock();
  }

  /** The current token. */
  get token(): string {
    return this.#session.token;
  }

  /** The session with the current token (the user never changes). */
  get session(): SessionResponse {
    return this.#session;
  }

  get user(): SessionResponse["user"] {
    return this.#session.user;
  }

  /** When the current token runs out, epoch ms on the server's clock. */
  get expiresAt(): number {
    return this.#session.expiresAt;
  }

  get state(): KeeperState {
    return this.#state;
  }

  /** Refresh on a timer from now on. */
  start(): void {
    if (this.#state !== "idle") return;
    this.#state = "running";
    this.#schedule();
  }

  stop(): void {
    this.#state = "stopped";
    this.#clearTimer();
  }

  /**
   * A token someone else got for this session (a FeedClient refreshed its own): use it if it is
   * the same user's and outlives the current one. Returns whether it was taken.
   */
  adopt(grant: TokenGrant): boolean {
    const { subject } = readTokenClaims(grant.token);
    if (this.#state === "stopped" || subject !== this.#session.user.id) return false;
    if (grant.token === this.#session.token || grant.expiresAt <= this.#session.expiresAt) return false;
    this.#take({ ...this.#session, token: grant.token, expiresAt: grant.expiresAt });
    if (this.#state === "expired") this.#state = "running";
    if (this.#state === "running") {
      this.#failures = 0;
      this.#schedule();
    }
    return true;
  }

  /** Refresh now (one request at a time). Rejects with the HttpError 401 when the token ran out. */
  refresh(): Promise<SessionResponse> {
    return (this.#refreshing ??= (async () => {
      try {
        const { baseUrl, fetch, requestTimeoutMs } = this.#options;
        const fresh = await FeedHttp.refreshSession(baseUrl, this.#session.token, fetch, requestTimeoutMs);
        // A client may have adopted a newer one meanwhile: keep the longer-lived.
        if (fresh.expiresAt > this.#session.expiresAt && fresh.user.id === this.#session.user.id) this.#take(fresh);
        return this.#session;
      } finally {
        this.#refreshing = null;
      }
    })());
  }

  #take(session: SessionResponse): void {
    this.#session = session;
    this.#receivedAt = this.#options.clock();
    this.emit("token", session);
  }

  /** Next refresh at `refreshAt` of the token's lifetime after it arrived. */
  #schedule(): void {
    this.#clearTimer();
    if (this.#state !== "running") return;
    this.#after(refreshDueAt(this.#session, this.#receivedAt, this.#options.refreshAt) - this.#options.clock());
  }

  #after(ms: number): void {
    this.#clearTimer();
    this.#timer = this.#options.timers.set(() => {
      this.#timer = undefined;
      void this.#tick();
    }, Math.max(0, ms));
  }

  async #tick(): Promise<void> {
    if (this.#state !== "running") return;
    try {
      const before = this.#session.token;
      await this.refresh();
      if (this.#state !== "running") return;
      this.#failures = 0;
      // Issued within the same second as the current one, the answer is the same token (iat and exp
      // are whole seconds): ask again in a second rather than at once.
      if (this.#session.token === before) this.#after(1_000);
      else this.#schedule();
    } catch (error) {
      if (this.#state !== "running") return;
      if (error instanceof HttpError && error.status === 401) {
        this.#state = "expired";
        this.emit("expired", error);
        return;
      }
      // Not refused, just not reached (or overloaded): again, later, until the server answers
      // (at least 100 ms apart: full jitter may draw 0).
      const backoff = backoffDelay(this.#failures++, this.#options.backoff, this.#options.random);
      const retryInMs = Math.max(100, backoff, error instanceof HttpError ? (error.retryAfterMs ?? 0) : 0);
      this.#after(retryInMs);
      this.emit("error", error instanceof Error ? error : new Error(String(error)), retryInMs);
    }
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    this.#options.timers.clear(this.#timer);
    this.#timer = undefined;
  }
}
