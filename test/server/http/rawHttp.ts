/**
 * HTTP/1.1 at the byte level, for the fuzz suites: a request is written exactly as given (any
 * method, target, header bytes, framing) over a fresh net.Socket, and the answer is read back as
 * bytes — status line, headers, a body framed by Content-Length or chunks — with a deadline, so a
 * request the server never answers is reported, not waited for. And the documented error
 * contract (docs/protocol.md, "Errors") as one check every fuzz answer goes through.
 */
import { connect } from "node:net";
import { expect } from "vitest";
import { ERROR_CODES, ErrorBodySchema } from "../../../web/src/isomorphic/protocol/index.js";

export interface RawAnswer {
  /** The final status; 0 when the connection closed (or the deadline passed) before a status line. */
  status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  /** Interim (1xx) statuses seen before the final one, e.g. 100 Continue. */
  interim: number[];
  /** The deadline passed before the answer was complete. */
  timedOut: boolean;
  /** The whole answer as it came off the socket, for failure messages. */
  raw: string;
}

export interface RawOptions {
  timeoutMs?: number;
  /** Half-close after writing (default): the server sees that nothing more is coming. */
  halfClose?: boolean;
  /** The request was a HEAD: the answer has no body whatever Content-Length says. */
  head?: boolean;
  /** A stream: stop reading once the body so far satisfies this. */
  until?: (body: string) => boolean;
}

/** Write `request` to a new connection to 127.0.0.1:port and read one answer. */
export function rawHttp(port: number, request: Buffer | string, options: RawOptions = {}): Promise<RawAnswer> {
  const { timeoutMs = 5_000, halfClose = true, head = false, until } = options;
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let data = Buffer.alloc(0);
    let done = false;
    const answer: RawAnswer = { status: 0, headers: {}, body: Buffer.alloc(0), interim: [], timedOut: false, raw: "" };
    let bodyStart = -1;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      answer.raw = data.toString("latin1").slice(0, 2_000);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => {
      answer.timedOut = true;
      finish();
    }, timeoutMs);
    /** Parse what arrived; true once the answer is complete. */
    const complete = (): boolean => {
      while (bodyStart < 0) {
        const end = data.indexOf("\r\n\r\n");
        if (end < 0) return false;
        const lines = data.subarray(0, end).toString("latin1").split("\r\n");
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1] ?? 0);
        if (status >= 100 && status < 200 && status !== 101) {
          answer.interim.push(status);
          data = data.subarray(end + 4);
          continue;
        }
        answer.status = status;
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(":");
          if (colon < 0) continue;
          const name = line.slice(0, colon).trim().toLowerCase();
          const value = line.slice(colon + 1).trim();
          answer.headers[name] = answer.headers[name] === undefined ? value : `${answer.headers[name]}, ${value}`;
        }
        bodyStart = end + 4;
      }
      if (head || answer.status === 101 || answer.status === 204 || answer.status === 304) return true;
      const bytes = data.subarray(bodyStart);
      if (answer.headers["transfer-encoding"]?.toLowerCase().includes("chunked")) {
        const { body, last } = dechunk(bytes);
        answer.body = body;
        return last || (until !== undefined && until(body.toString("utf8")));
      }
      const length = answer.headers["content-length"];
      // Anything after the declared length is another answer on the same connection: not this body.
      answer.body = length === undefined ? bytes : bytes.subarray(0, Number(length));
      if (length !== undefined) return bytes.length >= Number(length);
      return until !== undefined && until(bytes.toString("utf8"));
    };
    socket.on("connect", () => {
      socket.write(request);
      if (halfClose) socket.end();
    });
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (complete()) finish();
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      complete();
      finish();
    });
  });
}

/** The chunks of a chunked body decoded so far; `last` once the zero-length chunk arrived. */
function dechunk(bytes: Buffer): { body: Buffer; last: boolean } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = bytes.indexOf("\r\n", at);
    if (eol < 0) break;
    const size = parseInt(bytes.subarray(at, eol).toString("latin1"), 16);
    if (!Number.isFinite(size)) break;
    if (size === 0) return { body: Buffer.concat(parts), last: true };
    if (bytes.length < eol + 2 + size) {
      parts.push(bytes.subarray(eol + 2));
      break;
    }
    parts.push(bytes.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return { body: Buffer.concat(parts), last: false };
}

/** One HTTP request, as bytes: every part may be garbage. */
export interface RequestSpec {
  method: string;
  /** The request target, written as is (origin form, absolute form, `*`, garbage). */
  target: string;
  /** Header lines in order, written as latin1 bytes; no Host unless given here. */
  headers: ReadonlyArray<readonly [string, string]>;
  body?: Uint8Array | undefined;
  /**
   * How the body is framed: its exact Content-Length (default), a Content-Length shorter or longer
   * than the body, chunked, both Content-Length and chunked (refused by every honest parser), or none.
   */
  framing?: "length" | "shorter" | "longer" | "chunked" | "both" | "none";
  /** HTTP version in the request line; "1.1" by default. */
  version?: string;
}

export function encodeRequest(spec: RequestSpec): Buffer {
  const body = Buffer.from(spec.body ?? new Uint8Array());
  const framing = spec.framing ?? "length";
  const lines = [`${spec.method} ${spec.target} HTTP/${spec.version ?? "1.1"}`, ...spec.headers.map(([name, value]) => `${name}: ${value}`)];
  if (!spec.headers.some(([name]) => name.toLowerCase() === "connection")) lines.push("Connection: close");
  let payload = body;
  if (framing === "length" && (body.length > 0 || spec.method === "POST" || spec.method === "PUT")) lines.push(`Content-Length: ${body.length}`);
  if (framing === "shorter") lines.push(`Content-Length: ${Math.max(0, body.length - 1 - (body.length >> 1))}`);
  if (framing === "longer") lines.push(`Content-Length: ${body.length + 1 + (body.length >> 1)}`);
  if (framing === "chunked" || framing === "both") {
    lines.push("Transfer-Encoding: chunked");
    if (framing === "both") lines.push(`Content-Length: ${body.length}`);
    payload = Buffer.concat([Buffer.from(body.length > 0 ? `${body.length.toString(16)}\r\n` : ""), body, Buffer.from(body.length > 0 ? "\r\n0\r\n\r\n" : "0\r\n\r\n")]);
  }
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), payload]);
}

/**
 * Every error status the server documents and the codes it may carry (docs/protocol.md, "Errors";
 * 422 is a broken lab, "Class"). 5xx are answers about the server, never about client garbage: a
 * fuzz check passes them only when it names them.
 */
export const DOCUMENTED_ERRORS: Readonly<Record<number, readonly string[]>> = {
  400: [ERROR_CODES.badRequest, ERROR_CODES.invalidJson, ERROR_CODES.invalidBody, ERROR_CODES.badRoom, ERROR_CODES.badQuery],
  401: [ERROR_CODES.unauthorized],
  403: [ERROR_CODES.forbidden, ERROR_CODES.classCodeRequired, ERROR_CODES.forbiddenOrigin, ERROR_CODES.forbiddenHost],
  404: [ERROR_CODES.notFound],
  405: [ERROR_CODES.badRequest],
  409: [ERROR_CODES.unavailable],
  413: [ERROR_CODES.payloadTooLarge],
  415: [ERROR_CODES.unsupportedMediaType],
  417: [ERROR_CODES.badRequest],
  422: [ERROR_CODES.invalidBody],
  426: [ERROR_CODES.upgradeRequired],
  429: [ERROR_CODES.rateLimited, ERROR_CODES.tooManyConnections],
  431: [ERROR_CODES.headersTooLarge],
  503: [ERROR_CODES.unavailable],
  507: [ERROR_CODES.tooManyRooms, ERROR_CODES.classFull],
};

/** What went in and what came out, for a failure message fast-check prints with its counterexample. */
export function describe(request: Buffer | string, answer: RawAnswer): string {
  const sent = (typeof request === "string" ? request : request.toString("latin1")).slice(0, 600);
  return `sent ${JSON.stringify(sent)}\ngot ${answer.timedOut ? "(timed out) " : ""}${JSON.stringify(answer.raw.slice(0, 600))}`;
}

/**
 * The answer is the documented error: a documented status with one of its codes, as JSON
 * (`{"error":{"code","message"}}`, no body for HEAD). `codes` narrows the codes accepted.
 */
export function expectDocumentedError(answer: RawAnswer, context: string, opts: { codes?: readonly string[]; head?: boolean } = {}): string {
  expect(answer.timedOut, `no answer in time\n${context}`).toBe(false);
  expect(DOCUMENTED_ERRORS[answer.status], `status ${answer.status} is not a documented error\n${context}`).toBeDefined();
  expect(answer.headers["content-type"] ?? "", `error without a JSON content type\n${context}`).toMatch(/^application\/json/);
  if (opts.head) return "";
  let body: unknown;
  try {
    body = JSON.parse(answer.body.toString("utf8"));
  } catch {
    throw new Error(`error body is not JSON\n${context}`);
  }
  const parsed = ErrorBodySchema.safeParse(body);
  expect(parsed.success, `error body is not {"error":{"code","message"}}\n${context}`).toBe(true);
  const { code, message } = parsed.data!.error;
  expect(DOCUMENTED_ERRORS[answer.status], `code ${code} is not documented with status ${answer.status}\n${context}`).toContain(code);
  if (opts.codes) expect(opts.codes, `code ${code} is not one of ${opts.codes.join(", ")}\n${context}`).toContain(code);
  expect(message.length, `empty error message\n${context}`).toBeGreaterThan(0);
  return code;
}
