/**
 * What every transport client shares: the reconnect loop (exponential backoff, full jitter),
 * in-order exactly-once delivery with gap filling, idempotent sends with retries, and counters.
 * A transport subclass only opens its connection and feeds what it receives into `receive()`.
 */
import {
  DEFAULT_ROOM,
  LIMITS,
  type Message,
  type PollResponse,
  type SendRequest,
  type SendResponse,
  type TransportName,
} from "../protocol/index.js";
import { DEFAULT_BACKOFF, backoffDelay, sleep, type BackoffOptions } from "./backoff.js";
import { ClientStats } from "./ClientStats.js";
import { Emitter } from "./Emitter.js";
import { FeedHttp, type WireRecord } from "./FeedHttp.js";
import { HttpError, isRetryable, type FetchLike } from "./JsonClient.js";
import { Sequencer } from "./Sequencer.js";
import { SendPacer } from "./SendPacer.js";
import { readTokenClaims, type TokenGrant } from "./tokens.js";

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

/** A refused token (401) or an expired stream: renewing the token may help, retrying as is cannot. */
function isTokenRefusal(error: unknown): boolean {
  return error instanceof TokenExpiredError || (error instanceof HttpError && error.status === 401);
}

/** A random message id; getRandomValues works in insecure browser contexts too (randomUUID does not). */
export function newMessageId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export abstract class BaseFeedClient extends Emitter<FeedClientEvents> implements FeedClient {
  abstract readonly transport: TransportName;
  readonly room: string;
  readonly stats: ClientStats;
  protected readonly http: FeedHttp;
  protected readonly options: Required<Omit<FeedClientOptions, "since" | "backoff" | "expiresAt" | "livenessTimeoutMs">> &
    Pick<FeedClientOptions, "livenessTimeoutMs"> & { backoff: BackoffOptions };
  readonly #sequencer: Sequencer;
  readonly #pacer: SendPacer;
  #state: ConnectionState = "idle";
  #run: AbortController | null = null;
  #filling = false;
  #instance: string | undefined;
  #epoch: string | undefined;
  #token: string;
  #expiresAt: number | undefined;
  /** When the current token was issued (or learned), epoch ms: the start of its lifetime. */
  #issuedAt: number;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** One renewal at a time, shared by everyone who needs it. */
  #renewing: Promise<void> | null = null;

  constructor(options: FeedClientOptions) {
    super();
    this.options = {
      room: DEFAULT_ROOM,
      history: LIMITS.pollLimitDefault,
      sendRetries: 5,
      maxSendsInFlight: 16,
      requestTimeoutMs: 10_000,
      maxLatencySamples: 10_000,
      fetch: globalThis.fetch.bind(globalThis),
      random: Math.random,
      clock: Date.now,
      refreshAt: 0.8,
      livenessMarginMs: 5_000,
      renewSession: null,
      ...options,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    };
    if (options.renewSession === undefined) this.options.renewSession = this.#newSessionOfSameName();
    this.#token = options.token;
    const claims = readTokenClaims(options.token);
    this.#expiresAt = options.expiresAt ?? claims.expiresAt;
    this.#issuedAt = claims.issuedAt ?? this.options.clock();
    this.room = this.options.room;
    this.stats = new ClientStats(this.options.maxLatencySamples);
    this.#sequencer = new Sequencer(options.since);
    this.#pacer = new SendPacer(this.options.maxSendsInFlight, this.options.clock);
    // The transport name is read lazily: subclass fields are not set yet while this runs.
    const self = this;
    this.http = new FeedHttp({
      baseUrl: this.options.baseUrl,
      get token() {
        return self.#token;
      },
      get transport() {
        return self.transport;
      },
      fetch: this.options.fetch,
      timeoutMs: this.options.requestTimeoutMs,
      stats: this.stats,
      wire: (record) => this.emit("wire", record),
      clock: this.options.clock,
      served: (instance) => this.servedBy(instance),
    });
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The session token in use now (it changes when the client refreshes it). */
  get token(): string {
    return this.#token;
  }

  /** When the token in use runs out (epoch ms), if known. */
  get tokenExpiresAt(): number | undefined {
    return this.#expiresAt;
  }

  /**
   * How long a stream may stay silent before it counts as dead: the option, else two of the
   * server's heartbeat intervals plus the margin; undefined (not watched) when neither is known.
   */
  protected livenessBound(heartbeatMs: number | undefined): number | undefined {
    if (this.options.livenessTimeoutMs !== undefined) return this.options.livenessTimeoutMs;
    return heartbeatMs === undefined ? undefined : 2 * heartbeatMs + this.options.livenessMarginMs;
  }

  /**
   * Watch a stream for silence: returns `seen()` (call it on every byte that arrives) and
   * `stop()`. `dead()` runs once, after `boundMs()` ms without a `seen()`; the bound is read
   * at every check, so it can change once the hello announced the heartbeat. One interval timer
   * per stream, not a timer reset per message.
   */
  protected watchSilence(boundMs: () => number | undefined, dead: (silentMs: number) => void): { seen(): void; stop(): void } {
    let last = this.options.clock();
    let stopped = false;
    const check = () => {
      if (stopped) return;
      const bound = boundMs();
      const silent = this.options.clock() - last;
      if (bound !== undefined && silent > bound) {
        stop();
        this.stats.counters.zombies += 1;
        dead(silent);
        return;
      }
      timer = setTimeout(check, Math.max(50, Math.min((bound ?? 1_000) / 4, 1_000)));
    };
    let timer = setTimeout(check, 50);
    const stop = () => {
      stopped = true;
      clearTimeout(timer);
    };
    return { seen: () => (last = this.options.clock()), stop };
  }

  get cursor(): number | undefined {
    return this.#sequencer.last;
  }

  get instance(): string | undefined {
    return this.#instance;
  }

  /** The room epoch the cursor belongs to, once the server named one: sent back with the cursor. */
  protected get epoch(): string | undefined {
    return this.#epoch;
  }

  /** The server instance that answered: from an HTTP response header or a stream's hello. */
  protected servedBy(instance: string | undefined): void {
    if (instance) this.#instance = instance;
  }

  /** A stream's first frame or event: where it starts, in which epoch, from which instance. */
  protected greeted(hello: { next: number; epoch?: string | undefined; instance?: string | undefined }): void {
    this.servedBy(hello.instance);
    // A client without a cursor (history: 0) starts at the server's.
    if (this.cursor === undefined) this.#sequencer.resetTo(hello.next);
    if (hello.epoch) this.#epoch = hello.epoch;
  }

  /** The cursor as the query of a stream's URL: since and, when known, its epoch. */
  protected cursorParams(url: URL): void {
    if (this.cursor === undefined) return;
    url.searchParams.set("since", String(this.cursor));
    if (this.#epoch) url.searchParams.set("epoch", this.#epoch);
  }

  /** Start (or restart after close) the connection loop; it resumes from the cursor. */
  connect(): void {
    if (this.#run) return;
    const run = new AbortController();
    this.#run = run;
    this.#scheduleRefresh();
    void this.#loop(run.signal);
  }

  close(): void {
    this.#run?.abort();
    this.#run = null;
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
    this.#setState("closed");
  }

  /**
   * A new token is in use. Streams learn of it their own way (the WebSocket client sends a
   * `refresh` frame, the SSE client reopens its stream); polls simply send it with the next request.
   */
  protected tokenChanged(): void {}

  /** Refresh ahead of expiry, at `refreshAt` of the token's lifetime. */
  #scheduleRefresh(): void {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
    if (!this.#run || this.options.refreshAt <= 0 || this.#expiresAt === undefined) return;
    const due = this.#issuedAt + this.options.refreshAt * (this.#expiresAt - this.#issuedAt);
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = undefined;
      this.renewToken().then(
        () => this.#scheduleRefresh(),
        (error: unknown) => {
          this.emit("error", error instanceof Error ? error : new Error(String(error)));
          // Not refused, just not reached: try again while the token still lives (the stream
          // recovers by itself if it runs out meanwhile).
          const left = (this.#expiresAt ?? 0) - this.options.clock();
          if (this.#run && left > 0 && isRetryable(error)) {
            this.#refreshTimer = setTimeout(() => this.#scheduleRefresh(), Math.max(250, left / 4));
          }
        },
      );
    }, Math.max(0, due - this.options.clock()));
  }

  /**
   * Get a new token: refresh the current one (same user), or, if the server refuses it (expired,
   * or unknown to it), a new session through `renewSession`. Throws when neither works.
   */
  protected renewToken(): Promise<void> {
    return (this.#renewing ??= (async () => {
      try {
        let grant: TokenGrant;
        try {
          grant = await this.http.refreshSession();
        } catch (error) {
          if (!(error instanceof HttpError && error.status === 401) || !this.options.renewSession) throw error;
          grant = await this.options.renewSession();
        }
        this.#token = grant.token;
        this.#expiresAt = grant.expiresAt;
        this.#issuedAt = this.options.clock();
        this.stats.counters.tokenRenewals += 1;
        this.emit("token", { token: grant.token, expiresAt: grant.expiresAt });
        this.tokenChanged();
      } finally {
        this.#renewing = null;
      }
    })());
  }

  /** The default fallback: a new session under the same display name (and so a new user id). */
  #newSessionOfSameName(): (() => Promise<TokenGrant>) | null {
    const { name } = readTokenClaims(this.options.token);
    if (name === undefined) return null;
    return () => FeedHttp.createSession(this.options.baseUrl, name, { fetch: this.options.fetch });
  }

  async send(text: string, options: { id?: string } = {}): Promise<SendResponse> {
    const request: SendRequest = { id: options.id ?? newMessageId(), text, sentAt: this.options.clock() };
    let renewed = false;
    for (let attempt = 0; ; ) {
      await this.#pacer.acquire();
      try {
        const ack = await this.transmit(request);
        this.#pacer.release("accepted");
        return ack;
      } catch (error) {
        // Over the server's rate limit: the pacer holds every send until the server's Retry-After,
        // then this one goes again. It was not stored, so nothing is lost by waiting.
        if (error instanceof HttpError && error.rateLimited) {
          this.#pacer.release("rate-limited", error.retryAfterMs ?? 1_000);
          continue;
        }
        this.#pacer.release("failed");
        // A refused token: renew it once and send again (a new session means a new sender id).
        if (isTokenRefusal(error) && !renewed && attempt < this.options.sendRetries) {
          renewed = true;
          await this.renewToken();
          attempt += 1;
          continue;
        }
        // The same id on every try: the server stores it once, however often it arrives.
        if (attempt >= this.options.sendRetries || !isRetryable(error)) throw error;
        await sleep(backoffDelay(attempt, this.options.backoff, this.options.random));
        attempt += 1;
      }
    }
  }

  /** Deliver one send attempt. HTTP by default; the WebSocket client sends a frame. */
  protected transmit(request: SendRequest): Promise<SendResponse> {
    return this.http.send(this.room, request);
  }

  /** Run one connection until it ends: resolve on a clean end ("rotate": reopen at once), throw on failure. */
  protected abstract run(signal: AbortSignal, hooks: ConnectionHooks): Promise<RunEnd>;

  async #loop(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let lastError: unknown;
    /** The next attempt reopens the same connection with a new token: no state change, no reconnect counted. */
    let rotating = false;
    /** The token was renewed since the last successful open: a second refusal is final. */
    let renewedSinceOpen = false;
    for (let attempt = 0; !signal.aborted; attempt++) {
      lastError = undefined;
      if (!rotating) {
        if (attempt > 0) this.stats.counters.reconnects += 1;
        this.#setState(attempt === 0 ? "connecting" : "reconnecting");
      }
      rotating = false;
      try {
        // A token that ran out while we were away is renewed before it is refused.
        if (this.#expiresAt !== undefined && this.options.clock() >= this.#expiresAt && !renewedSinceOpen) {
          await this.renewToken();
          renewedSinceOpen = true;
        }
        if (this.cursor === undefined && this.options.history > 0) {
          this.applyPage(await this.http.poll(this.room, { limit: this.options.history }, signal));
        }
        const end = await this.run(signal, {
          opened: () => {
            failures = 0;
            renewedSinceOpen = false;
            this.#setState("open");
          },
        });
        if (end === "rotate") {
          rotating = true;
          continue;
        }
      } catch (error) {
        if (signal.aborted) return;
        if (isTokenRefusal(error) && !renewedSinceOpen) {
          // Expired or refused: renew the token and reconnect at once, resuming from the cursor.
          try {
            await this.renewToken();
            renewedSinceOpen = true;
            continue;
          } catch (renewError) {
            error = renewError;
          }
        }
        lastError = error;
        this.emit("error", error instanceof Error ? error : new Error(String(error)));
        if ((error instanceof HttpError && !error.retryable) || error instanceof TokenExpiredError) {
          // The server refuses this client (bad token, bad room): retrying cannot help.
          if (this.#run?.signal === signal) this.close();
          return;
        }
      }
      if (signal.aborted) return;
      failures += 1;
      if (failures > this.options.backoff.maxAttempts) {
        this.emit("error", new Error(`gave up after ${failures} failed connection attempts`));
        this.close();
        return;
      }
      this.#setState("reconnecting");
      // A refusal that says when to come back (429/503 with Retry-After) is waited out at least that long.
      const asked = lastError instanceof HttpError ? (lastError.retryAfterMs ?? 0) : 0;
      await sleep(Math.max(asked, backoffDelay(failures - 1, this.options.backoff, this.options.random)), signal);
    }
  }

  #setState(state: ConnectionState): void {
    if (state === this.#state) return;
    const previous = this.#state;
    this.#state = state;
    this.emit("state", state, previous);
  }

  /** Apply one page of history (a poll answer or a gap fill). */
  protected applyPage(page: PollResponse): void {
    if (page.reset) this.applyReset(page.oldest);
    if (page.epoch) this.#epoch = page.epoch;
    this.receive(page.messages);
    if (this.cursor === undefined) this.#sequencer.resetTo(page.next);
  }

  /** The server skipped ahead: what was between the cursor and `oldest` is gone. */
  protected applyReset(oldest: number): void {
    this.stats.counters.resets += 1;
    this.#sequencer.resetTo(Math.max(oldest - 1, 0));
    this.emit("reset", oldest);
  }

  /** Hand received messages to the sequencer: emitted in order, once each; gaps are filled. */
  protected receive(messages: readonly Message[]): void {
    for (const message of messages) {
      const offer = this.#sequencer.offer(message);
      if (offer.kind === "duplicate") this.stats.counters.duplicates += 1;
      else if (offer.kind === "ready") for (const m of offer.messages) this.#emitMessage(m);
    }
    if (this.#sequencer.gap && !this.#filling) void this.#fillGaps();
  }

  #emitMessage(message: Message): void {
    this.stats.counters.messages += 1;
    let latency: number | undefined;
    if (message.sentAt !== undefined) {
      latency = this.options.clock() - message.sentAt;
      this.stats.addLatency(latency);
    }
    this.emit("message", message, latency);
  }

  async #fillGaps(): Promise<void> {
    this.#filling = true;
    try {
      for (let gap = this.#sequencer.gap; gap; gap = this.#sequencer.gap) {
        const limit = Math.min(gap.before - gap.after - 1, LIMITS.pollLimitMax);
        this.applyPage(await this.http.poll(this.room, { since: gap.after, epoch: this.#epoch, limit }));
        this.stats.counters.gapsFilled += 1;
      }
    } catch (error) {
      this.emit("error", error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.#filling = false;
    }
  }
}
