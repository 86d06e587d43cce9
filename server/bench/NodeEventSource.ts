/**
 * A lean EventSource for the load workers: a node:http GET parsed by `eventsource-parser`, with
 * plain-object events and a listener map. The `eventsource` package goes through undici's fetch
 * web stream (a promise per chunk), a TextDecoder and an EventTarget dispatch per event; in the
 * fan-out benchmark that made the workers, not the server, what SSE latency measured (#12).
 *
 * What it keeps of the EventSource contract is what the kit's SseClient uses: named events and
 * `message`, `open`, `error` (with `code` = the HTTP status and `message`, as `eventsource`
 * reports them), `readyState`, `close()`. It never reconnects by itself (so `retry:` is parsed
 * and ignored, and no Last-Event-ID is sent): the kit closes the stream on any error and
 * reconnects with its own cursor, so an error always ends the stream (readyState CLOSED).
 */
import { request, type Agent, type ClientRequest, type IncomingMessage } from "node:http";
import { createParser, type EventSourceMessage, type EventSourceParser } from "eventsource-parser";

/** An event as listeners get it: the fields a MessageEvent has that SSE fills. */
export interface StreamEvent {
  readonly type: string;
  readonly data: string;
  readonly lastEventId: string;
  readonly origin: string;
}

/** `open` and `error`; an error carries the HTTP status when the answer was the problem. */
export interface StreamStateEvent {
  readonly type: "open" | "error";
  readonly code?: number;
  readonly message?: string;
}

type Listener = (event: StreamEvent & StreamStateEvent) => void;

export interface NodeEventSourceOptions {
  /** Carries the connection (and its `localAddress`, for a bound source address). */
  agent?: Agent;
}

export class NodeEventSource {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSED = 2;

  readonly url: string;
  readonly withCredentials = false;
  readyState: number = NodeEventSource.CONNECTING;
  onopen: ((event: StreamStateEvent) => void) | null = null;
  onmessage: ((event: StreamEvent) => void) | null = null;
  onerror: ((event: StreamStateEvent) => void) | null = null;

  readonly #listeners = new Map<string, Listener[]>();
  readonly #origin: string;
  readonly #request: ClientRequest;
  readonly #parser: EventSourceParser;
  #lastEventId = "";
  #firstChunk = true;

  constructor(url: string | URL, options: NodeEventSourceOptions = {}) {
    const target = new URL(url);
    if (target.protocol !== "http:") throw new SyntaxError(`NodeEventSource speaks plain HTTP only, not ${target.protocol} (${target.href})`);
    this.url = target.href;
    this.#origin = target.origin;
    this.#parser = createParser({ onEvent: (event) => this.#dispatchMessage(event) });
    this.#request = request(target, { agent: options.agent, headers: { accept: "text/event-stream", "cache-control": "no-cache" } }, (response) =>
      this.#answered(response),
    );
    this.#request.on("error", (error) => this.#fail(error.message));
    this.#request.end();
  }

  addEventListener(type: string, listener: Listener): void {
    const listeners = this.#listeners.get(type);
    if (!listeners) this.#listeners.set(type, [listener]);
    else if (!listeners.includes(listener)) listeners.push(listener);
  }

  removeEventListener(type: string, listener: Listener): void {
    const listeners = this.#listeners.get(type);
    const at = listeners?.indexOf(listener) ?? -1;
    if (at >= 0) listeners!.splice(at, 1);
  }

  close(): void {
    if (this.readyState === NodeEventSource.CLOSED) return;
    this.readyState = NodeEventSource.CLOSED;
    this.#request.destroy();
  }

  #answered(response: IncomingMessage): void {
    if (this.readyState === NodeEventSource.CLOSED) return void response.resume();
    const status = response.statusCode ?? 0;
    // The same checks and messages as `eventsource`, so a report reads the same with either.
    if (status === 204) return this.#fail("Server sent HTTP 204, not reconnecting", 204);
    if (status !== 200) return this.#fail(`Non-200 status code (${status})`, status);
    if (!(response.headers["content-type"] ?? "").startsWith("text/event-stream")) {
      return this.#fail('Invalid content type, expected "text/event-stream"', status);
    }
    // A string decoder keeps a character split across chunks whole; no TextDecoder per chunk.
    response.setEncoding("utf8");
    response.on("data", (chunk: string) => this.#feed(chunk));
    response.on("end", () => this.#fail(undefined));
    response.on("error", (error) => this.#fail(error.message));
    // A connection cut mid-stream may end the response with neither `end` nor `error`.
    response.on("close", () => this.#fail("the stream was cut"));
    this.readyState = NodeEventSource.OPEN;
    this.#dispatch("open", { type: "open" }, this.onopen);
  }

  #feed(chunk: string): void {
    if (this.#firstChunk) {
      this.#firstChunk = false;
      // The stream may begin with a byte-order mark, which is not part of the first field.
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    this.#parser.feed(chunk);
  }

  #dispatchMessage(parsed: EventSourceMessage): void {
    // Events still in a chunk when a listener closed the stream are not delivered.
    if (this.readyState !== NodeEventSource.OPEN) return;
    if (parsed.id !== undefined) this.#lastEventId = parsed.id;
    const type = parsed.event || "message";
    const event: StreamEvent = { type, data: parsed.data, lastEventId: this.#lastEventId, origin: this.#origin };
    this.#dispatch(type, event, type === "message" ? this.onmessage : null);
  }

  /** The one way a stream ends other than close(): once, as an `error` event. */
  #fail(message: string | undefined, code?: number): void {
    if (this.readyState === NodeEventSource.CLOSED) return;
    this.readyState = NodeEventSource.CLOSED;
    this.#request.destroy();
    const event: StreamStateEvent = { type: "error", ...(code !== undefined && { code }), ...(message !== undefined && { message }) };
    this.#dispatch("error", event, this.onerror);
  }

  #dispatch<E extends StreamEvent | StreamStateEvent>(type: string, event: E, handler: ((event: E) => void) | null): void {
    handler?.call(this, event);
    const listeners = this.#listeners.get(type);
    if (!listeners) return;
    if (listeners.length === 1) return listeners[0]!(event as never);
    for (const listener of listeners.slice()) listener(event as never);
  }
}
