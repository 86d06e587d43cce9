/** Typed access to what the middleware chain stores on a response. */
import type { Request, Response } from "express";
import { TRANSPORT_HEADER, TRANSPORT_PARAM, isTransportName, type Principal, type StatsBucket, type TransportName } from "../../web/src/protocol/index.js";
import type { TrafficSpan } from "../stats/TrafficStats.js";

interface WirelabLocals {
  user?: Principal;
  /** When the request's token runs out (epoch ms). */
  tokenExpiresAt?: number;
  span?: TrafficSpan;
}

export function userOf(res: Response): Principal {
  const user = (res.locals as WirelabLocals).user;
  if (!user) throw new Error("route reached without authentication");
  return user;
}

export function setUser(res: Response, user: Principal, tokenExpiresAt?: number): void {
  (res.locals as WirelabLocals).user = user;
  if (tokenExpiresAt !== undefined) (res.locals as WirelabLocals).tokenExpiresAt = tokenExpiresAt;
}

/** When the token of an authenticated request runs out (epoch ms), if known. */
export function tokenExpiryOf(res: Response): number | undefined {
  return (res.locals as WirelabLocals).tokenExpiresAt;
}

export function setSpan(res: Response, span: TrafficSpan): void {
  (res.locals as WirelabLocals).span = span;
}

/** The transport a request says it belongs to (header or query parameter), if it names a real one. */
export function declaredTransport(req: Request): TransportName | undefined {
  const declared = req.headers[TRANSPORT_HEADER] ?? req.query[TRANSPORT_PARAM];
  return isTransportName(declared) ? declared : undefined;
}

/** Count this request under a transport (every request starts under "api"). */
export function classify(res: Response, bucket: StatsBucket): void {
  const span = (res.locals as WirelabLocals).span;
  if (span) span.bucket = bucket;
}

/** True while a response can still be written: not finished, not torn down. */
export function writable(res: Response): boolean {
  return !res.writableEnded && !res.destroyed;
}

/** Answer with JSON unless the response is already closing; true when it was written. */
export function sendJson(res: Response, status: number, body: unknown): boolean {
  if (!writable(res)) return false;
  res.status(status).json(body);
  return true;
}
