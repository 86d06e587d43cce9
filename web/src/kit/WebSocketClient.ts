/**
 * WebSockets: one socket carries both directions. Sends go out as `send` frames and resolve on
 * the matching `ack`; if the socket drops first, the send is retried with the same id.
 */
import { ERROR_CODES, type Message, type SendRequest, type SendResponse, type ServerFrame } from "../protocol/index.js";
import { utf8Length } from "./ClientStats.js";
import { BaseFeedClient, type ConnectionHooks, type FeedClientOptions } from "./FeedClient.js";
import { HttpError, displayPath } from "./FeedHttp.js";

/** The part of the WebSocket API this client uses (the browser's and the `ws` package's). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "message" | "close" | "error", listener: (event: { data?: unknown; code?: number; reason?: string; message?: string }) => void): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface WebSocketClientOptions extends FeedClientOptions {
  /** Defaults to globalThis.WebSocket (browsers); Node passes the `ws` package's. */
  WebSocket?: WebSocketConstructor;
}

const OPEN = 1;

interface PendingSend {
  resolve(ack: SendResponse): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class WebSocketClient extends BaseFeedClient {
  readonly transport = "websocket" as const;
  readonly #WebSocket: WebSocketConstructor;
  #socket: WebSocketLike | null = null;
  readonly #pending = new Map<string, PendingSend>();

  constructor(options: WebSocketClientOptions) {
    super(options);
    const ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!ctor) throw new TypeError("WebSocketClient needs a WebSocket implementation (pass options.WebSocket in Node)");
    this.#WebSocket = ctor;
  }

  protected override transmit(request: SendRequest): Promise<SendResponse> {
    const socket = this.#socket;
    if (!socket || socket.readyState !== OPEN) return Promise.reject(new Error("the WebSocket is not open"));
    return new Promise<SendResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(request.id);
        reject(new Error("no ack in time"));
      }, this.options.requestTimeoutMs);
      this.#pending.set(request.id, { resolve, reject, timer });
      this.#write(socket, JSON.stringify({ type: "send", ...request }));
    });
  }

  #write(socket: WebSocketLike, frame: string): void {
    socket.send(frame);
    const bytes = utf8Length(frame);
    this.stats.counters.bytesOut += bytes;
    this.emit("wire", { kind: "ws", at: this.options.clock(), direction: "out", bytes, frame: "send" });
  }

  #settle(id: string, outcome: { ack: SendResponse } | { error: Error }): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    if ("ack" in outcome) pending.resolve(outcome.ack);
    else pending.reject(outcome.error);
  }

  protected run(signal: AbortSignal, hooks: ConnectionHooks): Promise<void> {
    const url = new URL(`/v1/rooms/${this.room}/ws`, this.options.baseUrl.replace(/^http/, "ws"));
    url.searchParams.set("token", this.options.token);
    this.cursorParams(url);
    return new Promise<void>((resolve, reject) => {
      const started = this.options.clock();
      const socket = new this.#WebSocket(url.href);
      this.#socket = socket;
      this.stats.counters.requests += 1;
      socket.addEventListener("open", () => {
        // The upgrade request was answered with 101 Switching Protocols.
        const durationMs = this.options.clock() - started;
        this.emit("wire", { kind: "http", at: started, method: "GET", path: displayPath(url), status: 101, bytesOut: 0, bytesIn: 0, durationMs });
      });
      let failure: Error | undefined;
      const onAbort = () => socket.close(1000, "client closed");
      signal.addEventListener("abort", onAbort, { once: true });

      socket.addEventListener("message", (event) => {
        const text = typeof event.data === "string" ? event.data : String(event.data);
        const bytes = utf8Length(text);
        this.stats.counters.bytesIn += bytes;
        const frame = JSON.parse(text) as ServerFrame;
        this.emit("wire", { kind: "ws", at: this.options.clock(), direction: "in", bytes, frame: frame.type });
        switch (frame.type) {
          case "hello":
            this.greeted(frame);
            hooks.opened();
            break;
          case "message":
            this.receive([frame.message as Message]);
            break;
          case "ack":
            this.#settle(frame.id, { ack: { id: frame.id, seq: frame.seq, ts: frame.ts } });
            break;
          case "reset":
            this.applyReset(frame.oldest);
            break;
          case "error":
            if (frame.id !== undefined) {
              // "unavailable": the server could not store it right now; "rate_limited": not this fast.
              // Either way a retry (after retryAfterMs) may succeed.
              const status = frame.code === ERROR_CODES.unavailable ? 503 : frame.code === ERROR_CODES.rateLimited ? 429 : 400;
              this.#settle(frame.id, { error: new HttpError(status, frame.code, frame.message, frame.retryAfterMs) });
            } else {
              this.emit("error", new Error(`${frame.code}: ${frame.message}`));
            }
            break;
        }
      });
      socket.addEventListener("error", (event) => {
        failure = new Error(`the WebSocket failed${event.message ? `: ${event.message}` : ""}`);
      });
      socket.addEventListener("close", (event) => {
        signal.removeEventListener("abort", onAbort);
        if (this.#socket === socket) this.#socket = null;
        for (const id of [...this.#pending.keys()]) {
          this.#settle(id, { error: new Error(`the WebSocket closed (${event.code ?? "?"}) before the ack`) });
        }
        if (signal.aborted || event.code === 1000) resolve();
        else reject(failure ?? new Error(`the WebSocket closed with ${event.code ?? "no code"} ${event.reason ?? ""}`.trim()));
      });
    });
  }
}
