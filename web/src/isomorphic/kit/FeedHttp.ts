/**
 * The HTTP side of every client: polls, sends and history fills, counted and logged as wire
 * records. Uses the `fetch` it is given (the platform's by default).
 */
import {
  INSTANCE_HEADER,
  TRANSPORT_HEADER,
  TRANSPORT_PARAM,
  type PollResponse,
  type SendRequest,
  type SendResponse,
  type SessionResponse,
  type TransportName,
} from "../protocol/index.js";
import type { ClientStats } from "./ClientStats.js";
import { JsonClient, readJson, type FetchLike, type SessionOptions } from "./JsonClient.js";
import { utf8Length } from "./ClientStats.js";

/**
 * One thing that crossed the wire, as far as this client can see it. An `http` record is also
 * emitted when an SSE stream or a WebSocket opens (status 200 or 101, no body bytes, `durationMs`
 * the time until it opened); its path never contains the token.
 */
export type WireRecord =
  | { kind: "http"; at: number; method: string; path: string; status: number; bytesOut: number; bytesIn: number; durationMs: number }
  | { kind: "sse"; at: number; event: string; bytes: number }
  | { kind: "ws"; at: number; direction: "in" | "out"; bytes: number; frame: string };

/** The path and query of a URL as it may be shown to people: without the `token` parameter. */
export function displayPath(url: URL): string {
  const shown = new URL(url.href);
  shown.searchParams.delete("token");
  return shown.pathname + shown.search;
}

export interface PollQuery {
  since?: number | undefined;
  /** The room epoch `since` belongs to; sent only with a since. */
  epoch?: string | undefined;
  wait?: number;
  limit?: number;
}

export class FeedHttp {
  constructor(
    private readonly options: {
      baseUrl: string;
      /** Read at every request: the client swaps in a refreshed token. */
      readonly token: string;
      transport: TransportName;
      fetch: FetchLike;
      timeoutMs: number;
      stats: ClientStats;
      wire: (record: WireRecord) => void;
      clock: () => number;
      /** Told the id of the server instance that answered, when it names one. */
      served?: (instance: string) => void;
    },
  ) {}

  /** A new session for `name` (an instructor's with `instructorKey`): JsonClient.createSession. */
  static createSession(baseUrl: string, name: string, options: SessionOptions & { fetch?: FetchLike | undefined } = {}): Promise<SessionResponse> {
    return JsonClient.createSession(baseUrl, name, options);
  }

  /**
   * A fresh token for the same user, outside any client (no transport named, so the server counts
   * it as no transport's traffic). 401 when the token already expired.
   */
  static refreshSession(baseUrl: string, token: string, fetchImpl?: FetchLike, timeoutMs = 10_000): Promise<SessionResponse> {
    return new JsonClient(baseUrl, { token, timeoutMs, ...(fetchImpl && { fetch: fetchImpl }) }).request<SessionResponse>("POST", "/v1/session/refresh");
  }

  /** A fresh token for the same user (POST /v1/session/refresh with the current, still-valid token). */
  refreshSession(signal?: AbortSignal): Promise<SessionResponse> {
    return this.request<SessionResponse>("POST", "/v1/session/refresh", "{}", signal);
  }

  poll(room: string, query: PollQuery, signal?: AbortSignal): Promise<PollResponse> {
    const params = new URLSearchParams();
    if (query.since !== undefined) params.set("since", String(query.since));
    if (query.since !== undefined && query.epoch) params.set("epoch", query.epoch);
    if (query.wait) params.set("wait", String(query.wait));
    if (query.limit !== undefined) params.set("limit", String(query.limit));
    const extraWait = query.wait ?? 0;
    return this.request<PollResponse>("GET", `/v1/rooms/${room}/messages?${params}`, undefined, signal, extraWait);
  }

  send(room: string, body: SendRequest, signal?: AbortSignal): Promise<SendResponse> {
    return this.request<SendResponse>("POST", `/v1/rooms/${room}/messages`, JSON.stringify(body), signal);
  }

  async request<T>(method: string, path: string, body?: string, signal?: AbortSignal, extraWaitMs = 0): Promise<T> {
    const { stats, clock, transport } = this.options;
    const started = clock();
    const headers: Record<string, string> = {};
    // Built as text, once: a poller makes this request many times a second, and URLSearchParams
    // edits re-serialise the whole URL at each one.
    let shown = path;
    let sent = path;
    if (body === undefined) {
      // A GET with no custom headers is a "simple" cross-origin request: polls through the network
      // emulator (another port, so another origin) then need no CORS preflight each time.
      const separator = path.includes("?") ? "&" : "?";
      shown = `${path}${separator}${TRANSPORT_PARAM}=${transport}`;
      sent = `${path}${separator}token=${encodeURIComponent(this.options.token)}&${TRANSPORT_PARAM}=${transport}`;
    } else {
      headers.authorization = `Bearer ${this.options.token}`;
      headers[TRANSPORT_HEADER] = transport;
      headers["content-type"] = "application/json";
    }
    const url = new URL(sent, this.options.baseUrl);
    stats.counters.requests += 1;
    const bytesOut = body === undefined ? 0 : utf8Length(body);
    stats.counters.bytesOut += bytesOut;
    // One controller for the time-out and the caller's signal: cheaper than AbortSignal.timeout()
    // plus AbortSignal.any() per request.
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort(new DOMException("the request timed out", "TimeoutError"));
    }, this.options.timeoutMs + extraWaitMs);
    const cancel = () => abort.abort(signal?.reason);
    if (signal?.aborted) cancel();
    else signal?.addEventListener("abort", cancel, { once: true });
    let response: Response;
    let text: string;
    try {
      response = await this.options.fetch(url, { method, headers, ...(body !== undefined && { body }), signal: abort.signal });
      text = await response.text();
    } catch (error) {
      // No answer within the time-out (and not our own abort): the link is as good as dead.
      if (timedOut && !signal?.aborted) stats.counters.zombies += 1;
      throw error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", cancel);
    }
    const instance = response.headers.get(INSTANCE_HEADER);
    if (instance) this.options.served?.(instance);
    const bytesIn = utf8Length(text);
    stats.counters.bytesIn += bytesIn;
    this.options.wire({ kind: "http", at: started, method, path: shown, status: response.status, bytesOut, bytesIn, durationMs: clock() - started });
    return readJson<T>(response, text);
  }
}
