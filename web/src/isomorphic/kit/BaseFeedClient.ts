/**
 * What every transport client shares: the reconnect loop (exponential backoff, full jitter),
 * in-order exactly-once delivery with gap filling, idempotent sends with retries, the session
 * token (ClientToken) and counters. A transport subclass only opens its connection and feeds
 * what it receives into `receive()`.
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
import { ClientToken } from "./ClientToken.js";
import { Emitter } from "./Emitter.js";
import {
  TokenExpiredError,
  newMessageId,
  type ConnectionHooks,
  type ConnectionState,
  type FeedClient,
  type FeedClientEvents,
  type FeedClientOptions,
  type RunEnd,
} from "./FeedClient.js";
import { FeedHttp } from "./FeedHttp.js";
import { HttpError, isRetryable } from "./JsonClient.js";
import { Sequencer } from "./Sequencer.js";
import { SendPacer } from "./SendPacer.js";
import { watchSilence, type SilenceWatch } from "./SilenceWatch.js";
import { readTokenClaims, type TokenGrant } from "./tokens.js";

/** A refused token (401) or an expired stream: renewing the token may help, retrying as is cannot. */
function isTokenRefusal(error: unknown): boolean {
  return error instanceof TokenExpiredError || (error instanceof HttpError && error.status === 401);
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
  readonly #token: ClientToken;

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
    this.#token = new ClientToken({
      token: options.token,
      expiresAt: options.expiresAt,
      refreshAt: this.options.refreshAt,
      clock: this.options.clock,
      refresh: () => this.http.refreshSession(),
      renewSession: this.options.renewSession,
      changed: (grant) => {
        this.stats.counters.tokenRenewals += 1;
        this.emit("token", { token: grant.token, expiresAt: grant.expiresAt });
        this.tokenChanged();
      },
      failed: (error) => this.emit("error", error),
    });
    this.room = this.options.room;
    this.stats = new ClientStats(this.options.maxLatencySamples);
    this.#sequencer = new Sequencer(options.since);
    this.#pacer = new SendPacer(this.options.maxSendsInFlight, this.options.clock);
    // The transport name is read lazily: subclass fields are not set yet while this runs.
    const self = this;
    this.http = new FeedHttp({
      baseUrl: this.options.baseUrl,
      get token() {
        return self.#token.value;
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
    return this.#token.value;
  }

  /** When the token in use runs out (epoch ms), if known. */
  get tokenExpiresAt(): number | undefined {
    return this.#token.expiresAt;
  }

  /**
   * How long a stream may stay silent before it counts as dead: the option, else two of the
   * server's heartbeat intervals plus the margin; undefined (not watched) when neither is known.
   */
  protected livenessBound(heartbeatMs: number | undefined): number | undefined {
    if (this.options.livenessTimeoutMs !== undefined) return this.options.livenessTimeoutMs;
    return heartbeatMs === undefined ? undefined : 2 * heartbeatMs + this.options.livenessMarginMs;
  }

  /** Watch a stream for silence (see watchSilence); a silent one counts as a zombie. */
  protected watchSilence(boundMs: () => number | undefined, dead: (silentMs: number) => void): SilenceWatch {
    return watchSilence(this.options.clock, boundMs, (silentMs) => {
      this.stats.counters.zombies += 1;
      dead(silentMs);
    });
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
    this.#token.keepFresh();
    void this.#loop(run.signal);
  }

  close(): void {
    this.#run?.abort();
    this.#run = null;
    this.#token.stop();
    this.#setState("closed");
  }

  /**
   * A new token is in use. Streams learn of it their own way (the WebSocket client sends a
   * `refresh` frame, the SSE client reopens its stream); polls simply send it with the next request.
   */
  protected tokenChanged(): void {}

  /** A new token: refreshed (same user), or a new session when the server refuses to refresh. */
  protected renewToken(): Promise<void> {
    return this.#token.renew();
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
        if (this.#token.expired && !renewedSinceOpen) {
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
