/**
 * The HTTP API that is not a transport: sessions, sending over HTTP, stats, health.
 * Authentication runs before any parsing, so a caller without a token always gets 401.
 */
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import {
  ERROR_CODES,
  SendRequestSchema,
  SessionRequestSchema,
  describeIssues,
  type PresenceResponse,
  type StatsResponse,
} from "../../web/src/isomorphic/protocol/index.js";
import type { SessionOptionsResponse } from "../../web/src/isomorphic/protocol/class.js";
import { checkClassCode, roleFor, tokenOf, type TokenIssuer } from "../auth.js";
import { WirelabError, badRequest, sendError } from "../errors.js";
import type { Feed } from "../feed/Feed.js";
import type { PresenceTracker } from "../presence/PresenceTracker.js";
import type { TrafficStats } from "../stats/TrafficStats.js";
import { clientAddress } from "../limits/ConnectionCaps.js";
import type { RateLimits } from "../limits/RateLimits.js";
import type { WirelabMetrics } from "../metrics/WirelabMetrics.js";
import { classify, declaredTransport, setUser, userOf } from "./locals.js";
import { BAD_ROOM_MESSAGE, parseRoom } from "./params.js";
import type { Logger } from "pino";

/** Is this Content-Type JSON (any parameters, any case)? */
function isJsonType(contentType: string | undefined): boolean {
  return contentType?.split(";", 1)[0]!.trim().toLowerCase() === "application/json";
}

/**
 * A JSON body, and only one that says so: a page may send text/plain or a form to any origin
 * without a CORS preflight, so parsing those as JSON would let it skip the question.
 */
export function jsonBody(limitBytes: number) {
  const parse = express.json({ limit: limitBytes, strict: true, type: () => true });
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!isJsonType(req.headers["content-type"])) {
      throw new WirelabError(415, ERROR_CODES.unsupportedMediaType, "send the body as JSON, with Content-Type: application/json");
    }
    parse(req, res, next);
  };
}

function validate<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: import("zod").ZodError } }, body: unknown): T {
  const result = schema.safeParse(body);
  if (!result.success) throw badRequest(ERROR_CODES.invalidBody, describeIssues(result.error));
  return result.data;
}

export function authenticate(auth: TokenIssuer) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const url = new URL(req.originalUrl, "http://localhost");
    const { principal, expiresAt } = await auth.verifySession(tokenOf(req, url.searchParams));
    setUser(res, principal, expiresAt);
    next();
  };
}

export function sessionRoutes(
  router: Router,
  auth: TokenIssuer,
  config: { maxPayloadBytes: number; instructorKey: string; autoInstructor: boolean; classCode: string | null },
  limits: RateLimits,
  /** Is the caller one of the server's own pages (or no browser)? Only those are auto-instructors. */
  fromOwnPage: (req: Request) => boolean,
  /** Where students join, for the class view and a lab's shared link (empty on a loopback workbench). */
  joinUrls: () => string[] = () => [],
): void {
  router.post("/session", jsonBody(config.maxPayloadBytes), async (req, res) => {
    const { name, instructorKey, classCode } = validate(SessionRequestSchema, req.body);
    const address = clientAddress(req.socket);
    // An allowed but foreign origin may have a session, never the loopback instructor role unasked.
    const asked = { ...config, autoInstructor: config.autoInstructor && fromOwnPage(req) };
    // Key guesses are throttled first: a throttled address learns nothing about its key.
    const role = instructorKey === undefined ? roleFor(undefined, asked) : await limits.instructorKey(address, () => roleFor(instructorKey, asked));
    // Wrong class codes draw on the same budget as wrong keys: both are guesses at a secret.
    if (role === "learner" && config.classCode !== null) await limits.instructorKey(address, () => checkClassCode(classCode, config.classCode));
    await limits.session(address);
    res.status(201).json(await auth.issue(name, role));
  });
  // Before joining, the form asks what the server wants of it.
  router.get("/session/options", (_req, res) => {
    const body: SessionOptionsResponse = { classCode: config.classCode !== null, joinUrls: joinUrls() };
    res.json(body);
  });
  // A still-valid token buys a fresh one for the same user (id, name, role); no body is read.
  router.post("/session/refresh", authenticate(auth), async (_req, res) => {
    res.status(200).json(await auth.refresh(userOf(res)));
  });
}

/** Only instructors may change the network or inject faults: learners share a class server. */
export function requireInstructor(_req: Request, res: Response, next: NextFunction): void {
  if (userOf(res).role !== "instructor") {
    throw new WirelabError(403, ERROR_CODES.forbidden, "this needs an instructor session (POST /v1/session with instructorKey)");
  }
  next();
}

export function apiRoutes(router: Router, deps: { feed: Feed; stats: TrafficStats; metrics: WirelabMetrics; presence: PresenceTracker; limits: RateLimits; maxBodyBytes: number }): void {
  router.get("/stats", (_req, res) => {
    const body: StatsResponse = { ...deps.stats.snapshot(), instance: deps.presence.instance, presence: { members: deps.presence.localMembers } };
    res.json(body);
  });

  router.get("/rooms/:room/presence", async (req, res) => {
    const room = parseRoom(req.params.room);
    const body: PresenceResponse = { room, members: await deps.presence.list(room) };
    res.json(body);
  });

  router.post("/rooms/:room/messages", (req, res, next) => {
    // Count the send under the client's transport when it says which one it is.
    const via = declaredTransport(req, req.query);
    if (via) classify(res, via);
    parseRoom(req.params.room);
    next();
  }, jsonBody(deps.maxBodyBytes), async (req, res) => {
    const room = parseRoom(req.params.room);
    const input = validate(SendRequestSchema, req.body);
    // Checked before the store: a refused send is not stored (429 says when to send it again).
    await deps.limits.send(userOf(res).id);
    const { message, created } = await deps.feed.publish(room, userOf(res), input);
    if (created) deps.metrics.stored(declaredTransport(req, req.query) ?? "api");
    res.status(created ? 201 : 200).json({ seq: message.seq, id: message.id, ts: message.ts });
  });
}

/** Unknown routes and every thrown error end here, as JSON. */
export function errorHandler(logger: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    sendError(res, error instanceof URIError && (error as { status?: number }).status === 400 ? undecodablePath(req) : toWirelabError(error, logger));
  };
}

/**
 * Express could not decode a path parameter (not valid percent-encoding): that names no room — what
 * the poll, stream and WebSocket routes answer for the same segment — and nothing else either.
 */
function undecodablePath(req: Request): WirelabError {
  if (/^\/v1\/rooms\//i.test(req.originalUrl)) return badRequest(ERROR_CODES.badRoom, BAD_ROOM_MESSAGE);
  return badRequest(ERROR_CODES.badRequest, "a path segment is not valid percent-encoding");
}

export function notFound(req: Request): never {
  throw new WirelabError(404, ERROR_CODES.notFound, `no route for ${req.method} ${req.path}`);
}

export function toWirelabError(error: unknown, logger: Logger): WirelabError {
  if (error instanceof WirelabError) return error;
  const e = error as { type?: string; status?: number; message?: string };
  if (e?.type === "entity.parse.failed") return badRequest(ERROR_CODES.invalidJson, "the body is not valid JSON");
  if (e?.type === "entity.too.large") {
    return new WirelabError(413, ERROR_CODES.payloadTooLarge, "the body is larger than the server accepts");
  }
  // A charset or content encoding the body parser does not read.
  if (e?.status === 415) return new WirelabError(415, ERROR_CODES.unsupportedMediaType, e.message ?? "unsupported media type");
  if (typeof e?.status === "number" && e.status >= 400 && e.status < 500) {
    return new WirelabError(e.status, ERROR_CODES.invalidBody, e.message ?? "bad request");
  }
  logger.error({ err: error }, "request failed");
  return new WirelabError(500, ERROR_CODES.internal, "internal server error");
}
