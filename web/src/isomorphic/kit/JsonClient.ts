/**
 * One JSON client for the HTTP API: a token (or where to read the current one) on every request, a
 * time-out, JSON in and out, and one error type, HttpError, for every refusal. The admin API, the
 * lab catalog, the CLI and the benchmark all speak through it; the feed clients' instrumented
 * requests (FeedHttp) read answers with the same readJson, so an error means the same everywhere.
 */
import { ERROR_CODES, type ErrorBody, type SessionRequest, type SessionResponse } from "../protocol/index.js";

export type FetchLike = typeof fetch;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** How long the server asked the client to wait before trying again (Retry-After, or a frame's retryAfterMs). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "HttpError";
  }

  /** Refused for going too fast: wait retryAfterMs, then the same request will do. */
  get rateLimited(): boolean {
    return this.code === ERROR_CODES.rateLimited;
  }

  /** Worth retrying: the server is unavailable or overloaded, not refusing the request itself. */
  get retryable(): boolean {
    // 507 (the server's room cap) is final: no retry can make room.
    return (this.status >= 500 && this.status !== 507) || this.status === 429 || this.status === 408;
  }
}

/** Network failures, time-outs and 5xx are worth a retry; 4xx are not. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof HttpError) return error.retryable;
  return true;
}

export interface JsonClientOptions {
  /** The token, or where to read the current one (a SessionKeeper's tokenSource); none for the open routes. */
  token?: string | (() => string) | null;
  /** Defaults to the platform's fetch. */
  fetch?: FetchLike;
  /** Time-out of one request in ms. Defaults to 10,000. */
  timeoutMs?: number;
}

/** What POST /v1/session takes besides the name: an instructor key (in the body only), a class code. */
export interface SessionOptions {
  instructorKey?: string | undefined;
  classCode?: string | undefined;
}

export class JsonClient {
  readonly #token: string | (() => string) | null;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;

  constructor(
    readonly baseUrl: string,
    options: JsonClientOptions = {},
  ) {
    this.#token = options.token ?? null;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /**
   * A new session for `name`; with `instructorKey`, an instructor's (403 `forbidden` for a wrong
   * key, 429 `rate_limited` after too many from this address).
   */
  static createSession(baseUrl: string, name: string, options: SessionOptions & { fetch?: FetchLike | undefined } = {}): Promise<SessionResponse> {
    const { instructorKey, classCode, fetch } = options;
    const body: SessionRequest = { name, ...(instructorKey !== undefined && { instructorKey }), ...(classCode !== undefined && { classCode }) };
    return new JsonClient(baseUrl, fetch ? { fetch } : {}).request<SessionResponse>("POST", "/v1/session", body);
  }

  /** The same client with another token. */
  withToken(token: string | (() => string)): JsonClient {
    return new JsonClient(this.baseUrl, { token, fetch: this.#fetch, timeoutMs: this.#timeoutMs });
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  /** `body` is sent as JSON; a request with none sends no body (and no content type). */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.#send(method, path, body);
    return readJson<T>(response, await response.text());
  }

  /** A non-JSON answer (a CSV download) as text; a refusal is still an HttpError. */
  async text(path: string): Promise<string> {
    const response = await this.#send("GET", path);
    const text = await response.text();
    if (!response.ok) readJson(response, text);
    return text;
  }

  /** True once the server answers GET /healthz with 2xx (no token needed). */
  async healthy(timeoutMs = 2_000): Promise<boolean> {
    try {
      const response = await this.#fetch(new URL("/healthz", this.baseUrl), { signal: AbortSignal.timeout(timeoutMs) });
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }

  #send(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    const token = typeof this.#token === "function" ? this.#token() : this.#token;
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    return this.#fetch(new URL(path, this.baseUrl), {
      method,
      headers,
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
  }
}

/** An answer's JSON, or the HttpError its error body (or its lack of JSON) stands for. */
export function readJson<T>(response: Response, text: string): T {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(response.status, "invalid_response", `the server answered ${response.status} without JSON`);
  }
  if (!response.ok) {
    const error = (body as ErrorBody).error;
    throw new HttpError(response.status, error?.code ?? "unknown", error?.message ?? `HTTP ${response.status}`, retryAfterMs(response.headers.get("retry-after")));
  }
  return body as T;
}

/** Retry-After (RFC 9110 §10.2.3: seconds, or an HTTP date) in ms; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
