/**
 * WebSockets: one socket carries both directions. Sends go out as `send` frames and resolve on
 * the matching `ack`; if the socket drops first, the send is retried with the same id.
 */
import { CLOSE_CODES, ERROR_CODES, TOKEN_EXPIRED_REASON, type Message, type SendRequest, type SendResponse, type ServerFrame } from "../protocol/index.js";
import { utf8Length } from "./ClientStats.js";
import { BaseFeedClient } from "./BaseFeedClient.js";
import { SilentConnectionError, TokenExpiredError, type ConnectionHooks, type FeedClientOptions } from "./FeedClient.js";
import { displayPath } from "./FeedHttp.js";
import { HttpError } from "./JsonClient.js";

/** The part of the WebSocket API this client uses (the browser's and the `ws` package's). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** Cut without a closing handshake (the `ws` package has it; browsers do not). */
  terminate?(): void;
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

  #write(socket: WebSocketLike, frame: string, type = "send"): void {
    socket.send(frame);
    const bytes = utf8Length(frame);
    this.stats.counters.bytesOut += bytes;
    this.emit("wire", { kind: "ws", at: this.options.clock(), direction: "out", bytes, frame: type });
  }

  /** The open socket learns of a refreshed token in a `refresh` frame: it lives on, no reconnect. */
  protected override tokenChanged(): void {
    const socket = this.#socket;
    if (socket && socket.readyState === OPEN) this.#write(socket, JSON.stringify({ type: "refresh", token: this.token }), "refresh");
  }

  #failPending(message: string): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id, { error: new Error(message) });
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
    const token = this.token;
    url.searchParams.set("token", token);
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
      let heartbeatMs: number | undefined;
      let greeted = false;
      /** Settled already (a silent socket is given up without waiting for its close event). */
      let abandoned = false;
      const abandon = (error: Error) => {
        abandoned = true;
        signal.removeEventListener("abort", onAbort);
        if (this.#socket === socket) this.#socket = null;
        this.#failPending("the WebSocket fell silent before the ack");
        // A dead link never completes a closing handshake: cut where we can, close otherwise.
        if (socket.terminate) socket.terminate();
        else socket.close(CLOSE_CODES.normal, "no heartbeat");
        reject(error);
      };
      // Until the hello, the bound is the request time-out; then the announced heartbeat's.
      const watch = this.watchSilence(
        () => (greeted ? this.livenessBound(heartbeatMs) : this.options.requestTimeoutMs),
        (silentMs) => abandon(new SilentConnectionError(silentMs)),
      );

      socket.addEventListener("message", (event) => {
        if (abandoned) return;
        watch.seen();
        const text = typeof event.data === "string" ? event.data : String(event.data);
        const bytes = utf8Length(text);
        this.stats.counters.bytesIn += bytes;
        const frame = JSON.parse(text) as ServerFrame;
        this.emit("wire", { kind: "ws", at: this.options.clock(), direction: "in", bytes, frame: frame.type });
        switch (frame.type) {
          case "hello":
            heartbeatMs = frame.heartbeatMs;
            greeted = true;
            this.greeted(frame);
            hooks.opened();
            // The token was renewed while this socket was opening: hand it the new one.
            if (this.token !== token) this.tokenChanged();
            break;
          case "heartbeat":
          case "refreshed":
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
        // The ws package names a refused upgrade's status ("Unexpected server response: 401");
        // browsers say nothing, and the client renews a token it knows has expired anyway.
        const status = /Unexpected server response: (\d{3})/.exec(event.message ?? "")?.[1];
        failure = status
          ? new HttpError(Number(status), "refused", `the WebSocket upgrade was refused with HTTP ${status}`)
          : new Error(`the WebSocket failed${event.message ? `: ${event.message}` : ""}`);
      });
      socket.addEventListener("close", (event) => {
        watch.stop();
        if (abandoned) return;
        signal.removeEventListener("abort", onAbort);
        if (this.#socket === socket) this.#socket = null;
        this.#failPending(`the WebSocket closed (${event.code ?? "?"}) before the ack`);
        if (signal.aborted || event.code === 1000) resolve();
        else if (event.code === CLOSE_CODES.policyViolation && event.reason === TOKEN_EXPIRED_REASON) reject(new TokenExpiredError("the WebSocket's token expired"));
        else reject(failure ?? new Error(`the WebSocket closed with ${event.code ?? "no code"} ${event.reason ?? ""}`.trim()));
      });
    });
  }
}
