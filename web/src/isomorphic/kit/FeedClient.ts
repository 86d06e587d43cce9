/**
 * The one client interface the dashboard, labs and benchmark program against, its options and
 * events, and the errors a connection ends with. BaseFeedClient.ts holds what every transport's
 * implementation shares.
 */
import type { Message, SendResponse, TransportName } from "../protocol/index.js";
import type { BackoffOptions } from "./backoff.js";
import type { ClientStats } from "./ClientStats.js";
import type { WireRecord } from "./FeedHttp.js";
import type { FetchLike } from "./JsonClient.js";
import type { TokenGrant } from "./tokens.js";

export type ConnectionState = "idle" | "connecting" | "open" | "reconnecting" | "closed";

export interface FeedClientOptions {
  /** Server origin, e.g. "http://127.0.0.1:8080". */
  baseUrl: string;
  /** Session token from POST /v1/session. */
  token: string;
  /** When the token runs out (epoch ms, the session's `expiresAt`). Defaults to the token's own `exp` claim. */
  expiresAt?: number;
  /**
   * Fraction of the token's lifetime after which the client refreshes it (POST /v1/session/refresh,
   * same user); 0 never refreshes ahead of time (an expired token is still renewed on the way).
   * Defaults to 0.8.
   */
  refreshAt?: number;
  /**
   * How to get a new session when the token can no longer be refreshed (it expired while the
   * client slept, or the server forgot its secret): a new session is a new user id. Defaults to
   * POST /v1/session with the token's name; null gives up instead (the client closes).
   */
  renewSession?: (() => Promise<TokenGrant>) | null;
  /**
   * A stream (SSE, WebSocket) with no data and no heartbeat for this long, in ms, is closed as a
   * zombie and reconnected. Defaults to 2 × the heartbeat interval the server announces in its
   * hello + `livenessMarginMs`; without an announced interval, streams are not watched.
   */
  livenessTimeoutMs?: number;
  /** Slack over two heartbeat intervals before a silent stream counts as dead, in ms. Defaults to 5,000. */
  livenessMarginMs?: number;
  /** Defaults to "lobby". */
  room?: string;
  /** Recent messages to load before going live. Defaults to 50; 0 starts at the live edge. */
  history?: number;
  /** Resume after this seq instead of loading recent history. */
  since?: number;
  /** Reconnect policy. Defaults to 500 ms base, 30 s cap, unlimited attempts. */
  backoff?: Partial<BackoffOptions>;
  /** Retries of one send after the first try (refusals for the rate limit are waited out, not counted). Defaults to 5. */
  sendRetries?: number;
  /** Sends in flight at once; more wait their turn, in order. Defaults to 16. */
  maxSendsInFlight?: number;
  /** Time-out of one HTTP request or WebSocket ack in ms (a long poll adds its wait). Defaults to 10,000. */
  requestTimeoutMs?: number;
  /** Latency samples kept. Defaults to 10,000. */
  maxLatencySamples?: number;
  fetch?: FetchLike;
  random?: () => number;
  clock?: () => number;
}

export interface FeedClientEvents {
  [name: string]: (...args: never[]) => void;
  message: (message: Message, latencyMs: number | undefined) => void;
  state: (state: ConnectionState, previous: ConnectionState) => void;
  reset: (oldest: number) => void;
  error: (error: Error) => void;
  wire: (record: WireRecord) => void;
  /** The client now uses another token (refreshed, or a new session): share it with whoever else needs it. */
  token: (grant: TokenGrant) => void;
}

/** The one client interface the dashboard, labs and benchmark program against. */
export interface FeedClient {
  readonly transport: TransportName;
  readonly room: string;
  readonly state: ConnectionState;
  readonly stats: ClientStats;
  /** Seq of the last message emitted, the cursor a reconnect resumes from. */
  readonly cursor: number | undefined;
  /** Id of the server instance that answered last (a restart or failover changes it), once known. */
  readonly instance: string | undefined;
  connect(): void;
  close(): void;
  send(text: string, options?: { id?: string }): Promise<SendResponse>;
  on<K extends keyof FeedClientEvents>(name: K, listener: FeedClientEvents[K]): () => void;
}

/** Signals the subclass gives the loop while a connection runs. */
export interface ConnectionHooks {
  /** The connection is established (resets the backoff). */
  opened(): void;
}

/**
 * How a run may end without failing: "rotate" — the client closed it itself to reopen it at once
 * with a refreshed token (no backoff, no reconnect counted, the state stays as it is).
 */
export type RunEnd = void | "rotate";

/** A stream was closed because its token ran out (WebSocket 1008 "token expired", SSE `event:expired`). */
export class TokenExpiredError extends Error {
  constructor(message = "the session token expired") {
    super(message);
    this.name = "TokenExpiredError";
  }
}

/** A stream fell silent for longer than its bound: closed as a zombie. */
export class SilentConnectionError extends Error {
  constructor(silentMs: number) {
    super(`no data and no heartbeat for ${silentMs} ms: the connection is dead`);
    this.name = "SilentConnectionError";
  }
}

/** A random message id; getRandomValues works in insecure browser contexts too (randomUUID does not). */
export function newMessageId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
