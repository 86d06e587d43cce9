/**
 * Typed access to what the request pipeline stores on a response. Kept under a symbol on the
 * Node response itself (not express's res.locals), so the poll route below express (PollRoute)
 * and the express routes read and write the same state.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { TRANSPORT_HEADER, TRANSPORT_PARAM, isTransportName, type Principal, type StatsBucket, type TransportName } from "../../web/src/isomorphic/protocol/index.js";
import type { TrafficSpan } from "../stats/TrafficStats.js";

interface WirelabLocals {
  user?: Principal;
  /** When the request's token runs out (epoch ms). */
  tokenExpiresAt?: number;
  span?: TrafficSpan;
}

const LOCALS = Symbol("wirelab.locals");
type WithLocals = ServerResponse & { [LOCALS]?: WirelabLocals };

function localsOf(res: ServerResponse): WirelabLocals {
  return ((res as WithLocals)[LOCALS] ??= {});
}

export function userOf(res: ServerResponse): Principal {
  const user = localsOf(res).user;
  if (!user) throw new Error("route reached without authentication");
  return user;
}

export function setUser(res: ServerResponse, user: Principal, tokenExpiresAt?: number): void {
  const locals = localsOf(res);
  locals.user = user;
  if (tokenExpiresAt !== undefined) locals.tokenExpiresAt = tokenExpiresAt;
}

/** When the token of an authenticated request runs out (epoch ms), if known. */
export function tokenExpiryOf(res: ServerResponse): number | undefined {
  return localsOf(res).tokenExpiresAt;
}

export function setSpan(res: ServerResponse, span: TrafficSpan): void {
  localsOf(res).span = span;
}

export function spanOf(res: ServerResponse): TrafficSpan | undefined {
  return localsOf(res).span;
}

/** The transport a request says it belongs to (header or query parameter), if it names a real one. */
export function declaredTransport(req: IncomingMessage, query: Record<string, unknown>): TransportName | undefined {
  const declared = req.headers[TRANSPORT_HEADER] ?? query[TRANSPORT_PARAM];
  return isTransportName(declared) ? declared : undefined;
}

/** Count this request under a transport (every request starts under "api"). */
export function classify(res: ServerResponse, bucket: StatsBucket): void {
  const span = localsOf(res).span;
  if (span) span.bucket = bucket;
}

const NO_HEADERS: IncomingMessage["headers"] = Object.freeze({});
const NO_RAW_HEADERS: string[] = Object.freeze([]) as unknown as string[];

/**
 * A connection held open (an event stream, a parked long poll) keeps its request object as long
 * as it lasts, and with it the headers as strings twice over (rawHeaders, headers): about 1 KB for
 * a browser's request. Call once they were read; nothing after reads them.
 */
export function releaseRequestHeaders(req: IncomingMessage): void {
  req.rawHeaders = NO_RAW_HEADERS;
  req.headers = NO_HEADERS;
}

/** True while a response can still be written: not finished, not torn down. */
export function writable(res: ServerResponse): boolean {
  return !res.writableEnded && !res.destroyed;
}

/** Answer with JSON unless the response is already closing; true when it was written. */
export function sendJson(res: ServerResponse, status: number, body: unknown): boolean {
  return sendJsonText(res, status, JSON.stringify(body));
}

/** Answer with JSON text made beforehand (a shared page), unless the response is already closing. */
export function sendJsonText(res: ServerResponse, status: number, json: string): boolean {
  if (!writable(res)) return false;
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(json) });
  res.end(json);
  return true;
}
