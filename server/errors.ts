/**
 * One error type for everything the server refuses. It carries the HTTP status and the
 * machine-readable code that end up in `{"error":{"code","message"}}`.
 */
import type { ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { STATUS_CODES } from "node:http";
import { ERROR_CODES, type ErrorBody } from "../web/src/isomorphic/protocol/index.js";

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export interface WirelabErrorOptions {
  /** Sent as `Retry-After` (seconds): when a refused client may try again. */
  retryAfterSeconds?: number;
}

export class WirelabError extends Error {
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    options: WirelabErrorOptions = {},
  ) {
    super(message);
    this.name = "WirelabError";
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

export const unauthorized = (message: string) => new WirelabError(401, ERROR_CODES.unauthorized, message);
export const badRequest = (code: ErrorCode, message: string) => new WirelabError(400, code, message);

export function sendError(res: ServerResponse, error: WirelabError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(error.toBody());
  res.writeHead(error.status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    ...(error.retryAfterSeconds !== undefined && { "retry-after": String(error.retryAfterSeconds) }),
  });
  res.end(body);
}

/** How long a refused connection may take to close its side once the answer is sent; then it is cut. */
export const REFUSED_LINGER_MS = 2_000;

/**
 * Answer on the raw socket with a real HTTP status and the JSON error body, then close: a
 * refused WebSocket upgrade (no 101), or a request the HTTP parser could not take. The socket is
 * nobody's to read any more, so what the client still sends is drained (its FIN must be seen for
 * the socket to close), and a client that does not close within REFUSED_LINGER_MS is cut: a
 * refusal never holds a file descriptor.
 */
export function refuseUpgrade(socket: Duplex, error: WirelabError, headers: Readonly<Record<string, string>> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(error.toBody());
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ""}\r\n` +
      "Connection: close\r\n" +
      "Content-Type: application/json; charset=utf-8\r\n" +
      (error.retryAfterSeconds !== undefined ? `Retry-After: ${error.retryAfterSeconds}\r\n` : "") +
      Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("") +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      body,
  );
  socket.resume();
  const linger = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
  socket.once("close", () => clearTimeout(linger));
}
