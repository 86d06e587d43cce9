/**
 * Server-Sent Events. The EventSource's own reconnect is not used: on any error the stream is
 * closed and the client's backoff policy reconnects with `since` = its cursor.
 */
import type { Message } from "../protocol/index.js";
import { utf8Length } from "./ClientStats.js";
import { BaseFeedClient } from "./BaseFeedClient.js";
import { SilentConnectionError, TokenExpiredError, type ConnectionHooks, type FeedClientOptions, type RunEnd } from "./FeedClient.js";
import { displayPath } from "./FeedHttp.js";
import { HttpError } from "./JsonClient.js";

/** The part of the EventSource API this client uses (the browser's and the `eventsource` package's). */
export interface EventSourceLike {
  addEventListener(type: string, listener: (event: { data?: string; code?: number; message?: string }) => void): void;
  close(): void;
}
export type EventSourceConstructor = new (url: string) => EventSourceLike;

export interface SseClientOptions extends FeedClientOptions {
  /** Defaults to globalThis.EventSource (browsers); Node passes the `eventsource` package's. */
  EventSource?: EventSourceConstructor;
}

export class SseClient extends BaseFeedClient {
  readonly transport = "sse" as const;
  readonly #EventSource: EventSourceConstructor;
  /** Reopen the open stream with the new token (set while a stream runs). */
  #rotate: (() => void) | null = null;

  constructor(options: SseClientOptions) {
    super(options);
    const ctor = options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
    if (!ctor) throw new TypeError("SseClient needs an EventSource implementation (pass options.EventSource in Node)");
    this.#EventSource = ctor;
  }

  /**
   * A stream cannot be handed a new token: it is closed and reopened at once with the new one,
   * resuming from the cursor (nothing lost; what the two streams share is dropped as a duplicate).
   */
  protected override tokenChanged(): void {
    this.#rotate?.();
  }

  protected run(signal: AbortSignal, hooks: ConnectionHooks): Promise<RunEnd> {
    const url = new URL(`/v1/rooms/${this.room}/events`, this.options.baseUrl);
    const token = this.token;
    url.searchParams.set("token", token);
    this.cursorParams(url);
    return new Promise<RunEnd>((resolve, reject) => {
      const started = this.options.clock();
      const source = new this.#EventSource(url.href);
      this.stats.counters.requests += 1;
      source.addEventListener("open", () => {
        const durationMs = this.options.clock() - started;
        this.emit("wire", { kind: "http", at: started, method: "GET", path: displayPath(url), status: 200, bytesOut: 0, bytesIn: 0, durationMs });
      });
      let heartbeatMs: number | undefined;
      let greeted = false;
      // Until the hello, the bound is the request time-out; then the announced heartbeat's.
      const watch = this.watchSilence(
        () => (greeted ? this.livenessBound(heartbeatMs) : this.options.requestTimeoutMs),
        (silentMs) => finish(new SilentConnectionError(silentMs)),
      );
      const finish = (error?: Error, end?: RunEnd) => {
        watch.stop();
        source.close();
        if (this.#rotate === rotate) this.#rotate = null;
        signal.removeEventListener("abort", onAbort);
        if (error) reject(error);
        else resolve(end);
      };
      const rotate = () => {
        // Only once the stream is up; a stream still opening picks the new token up at its hello.
        if (greeted) finish(undefined, "rotate");
      };
      this.#rotate = rotate;
      const onAbort = () => finish();
      signal.addEventListener("abort", onAbort, { once: true });

      const data = <T>(event: { data?: string }, name: string): T => {
        watch.seen();
        const text = event.data ?? "";
        // Counted once: a fan-out delivers thousands of events a second to one process.
        const bytes = utf8Length(text);
        this.stats.counters.bytesIn += bytes;
        this.emit("wire", { kind: "sse", at: this.options.clock(), event: name, bytes });
        return JSON.parse(text) as T;
      };
      source.addEventListener("hello", (event) => {
        const hello = data<{ next: number; epoch?: string; instance?: string; heartbeatMs?: number }>(event, "hello");
        heartbeatMs = hello.heartbeatMs;
        greeted = true;
        this.greeted(hello);
        hooks.opened();
        // The token was renewed while this stream was opening: reopen with the new one.
        if (this.token !== token) rotate();
      });
      source.addEventListener("heartbeat", (event) => void data(event, "heartbeat"));
      source.addEventListener("expired", (event) => {
        data(event, "expired");
        finish(new TokenExpiredError("the event stream's token expired"));
      });
      source.addEventListener("reset", (event) => this.applyReset(data<{ oldest: number }>(event, "reset").oldest));
      source.addEventListener("message", (event) => this.receive([data<Message>(event, "message")]));
      source.addEventListener("error", (event) => {
        // Node's eventsource reports the HTTP status; a 4xx will not get better by retrying.
        if (event.code && event.code >= 400 && event.code < 500) {
          finish(new HttpError(event.code, "refused", `the event stream was refused with HTTP ${event.code}`));
        } else {
          finish(new Error(`the event stream failed${event.message ? `: ${event.message}` : ""}`));
        }
      });
    });
  }
}
