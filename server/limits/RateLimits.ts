/**
 * Every rate limit of the server, in one place (rate-limiter-flexible): sends per session, stream
 * and WebSocket opens per client address, session creation per address, wrong instructor keys per
 * address. With the Redis feed the counters live in Redis, under `<redisPrefix>limits:`, so the
 * limits hold across instances; should Redis fail, each instance counts on its own meanwhile
 * (the insurance limiter). Over a limit a WirelabError 429 `rate_limited` is thrown, carrying
 * when to come back; a refused action has not happened.
 */
import type { Redis } from "ioredis";
import {
  BurstyRateLimiter,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from "rate-limiter-flexible";
import { ERROR_CODES } from "../../web/src/isomorphic/protocol/index.js";
import type { WirelabConfig } from "../config.js";
import { WirelabError } from "../errors.js";

/** The limits by name, as metrics count them (`onLimited`). */
export type LimitName =
  | "send"
  | "connect"
  | "session"
  | "instructor-key"
  /** A WebSocket closed 1008 for persisting over its send limit. */
  | "websocket-flood"
  | "connections-process"
  | "connections-ip";

/** The window of the send burst, in seconds: sendBurst extra sends per this many seconds. */
const BURST_WINDOW_SECONDS = 10;
/** The window in which wsRefusalsBeforeClose refusals close a WebSocket, in seconds. */
const REFUSAL_WINDOW_SECONDS = 10;

/** A refusal for being over a rate limit: 429 with Retry-After, and the exact wait in ms for a WebSocket. */
export class RateLimitedError extends WirelabError {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(429, ERROR_CODES.rateLimited, message, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) });
  }
}

type Limiter = Pick<RateLimiterAbstract, "consume" | "get"> | BurstyRateLimiter;

export type RateLimitsConfig = Pick<
  WirelabConfig,
  "rateLimits" | "sendsPerSecond" | "sendBurst" | "wsRefusalsBeforeClose" | "connectsPerMinute" | "sessionsPerMinute" | "instructorKeyFailuresPerMinute" | "redisPrefix"
>;

export class RateLimits {
  readonly #enabled: boolean;
  readonly #sends: Limiter;
  readonly #connects: Limiter;
  readonly #sessions: Limiter;
  readonly #keyFailures: RateLimiterAbstract;
  /** Refusals per WebSocket: always in memory, a connection lives on one instance. */
  readonly #refusals: RateLimiterMemory;
  readonly #listeners: Array<(name: LimitName) => void> = [];

  /** `redis`: the feed's command connection when the feed runs on Redis, else null (in memory). */
  constructor(config: RateLimitsConfig, redis: Redis | null) {
    this.#enabled = config.rateLimits;
    const limiter = (name: string, points: number, duration: number): RateLimiterAbstract => {
      const options = { points, duration, keyPrefix: `${config.redisPrefix}limits:${name}` };
      if (redis === null) return new RateLimiterMemory(options);
      // The same budget in memory takes over while Redis is unreachable.
      return new RateLimiterRedis({ ...options, storeClient: redis, insuranceLimiter: new RateLimiterMemory(options) });
    };
    this.#sends = new BurstyRateLimiter(limiter("send", config.sendsPerSecond, 1), limiter("send-burst", config.sendBurst, BURST_WINDOW_SECONDS));
    this.#connects = limiter("connect", config.connectsPerMinute, 60);
    this.#sessions = limiter("session", config.sessionsPerMinute, 60);
    this.#keyFailures = limiter("instructor-key", config.instructorKeyFailuresPerMinute, 60);
    this.#refusals = new RateLimiterMemory({ points: config.wsRefusalsBeforeClose, duration: REFUSAL_WINDOW_SECONDS, keyPrefix: "ws-refusals" });
  }

  /** Hear about every refusal, by limit name (metrics count them). */
  onLimited(listener: (name: LimitName) => void): void {
    this.#listeners.push(listener);
  }

  /** Tell the listeners a limit refused something (the connection caps report here too). */
  limited(name: LimitName): void {
    for (const listener of this.#listeners) listener(name);
  }

  /** One send by this user; throws RateLimitedError when over the send limit (the send must not be stored). */
  send(userId: string): Promise<void> {
    return this.#consume(this.#sends, userId, "send", "you are sending faster than this server accepts");
  }

  /** One SSE stream or WebSocket opened from this address. */
  connect(address: string): Promise<void> {
    return this.#consume(this.#connects, address, "connect", "this address opens streams faster than this server accepts");
  }

  /** One session created from this address. */
  session(address: string): Promise<void> {
    return this.#consume(this.#sessions, address, "session", "this address creates sessions faster than this server accepts");
  }

  /**
   * Check an instructor key from this address: `check` throws (403) on a wrong key, which is
   * counted; once an address has given too many wrong keys, every attempt gets 429 until the
   * window passes, the right key too, so keys cannot be guessed at speed.
   */
  async instructorKey<T>(address: string, check: () => T): Promise<T> {
    if (!this.#enabled) return check();
    const seen = await this.#keyFailures.get(address);
    const limit = this.#keyFailures.points;
    if (seen && seen.consumedPoints >= limit) {
      this.limited("instructor-key");
      throw new RateLimitedError("too many wrong instructor keys or class codes from this address: wait before trying again", seen.msBeforeNext);
    }
    try {
      return check();
    } catch (error) {
      // Counted, not refused: this attempt still gets its 403.
      await this.#keyFailures.consume(address).catch(() => {});
      throw error;
    }
  }

  /** A send on this WebSocket was refused: true when the socket has been refused so often it must close. */
  async refusedOnWebSocket(connectionId: string): Promise<boolean> {
    try {
      await this.#refusals.consume(connectionId);
      return false;
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      this.limited("websocket-flood");
      return true;
    }
  }

  async #consume(limiter: Limiter, key: string, name: LimitName, message: string): Promise<void> {
    if (!this.#enabled) return;
    try {
      await limiter.consume(key);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      this.limited(name);
      throw new RateLimitedError(message, Math.max(1, error.msBeforeNext));
    }
  }
}
