/**
 * `GET /v1/rooms/{room}/messages` served below express. A poll is the request a server gets
 * thousands of times a second (every answered long poll comes straight back), and express's
 * router walk, request decoration and `res.send` cost more than answering it does (profiled in
 * docs/benchmarks.md). The route applies the /v1 router's gates in the same order, with the same
 * functions — no caching, the Origin check, the token — then hands the parsed request to the
 * polling transport that `wait` names: 0 is a short poll, more is a long poll.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseQueryString } from "node:querystring";
import type { Logger } from "pino";
import { tokenOf, type TokenIssuer } from "../auth.js";
import { sendError } from "../errors.js";
import type { PollingTransport } from "../transports/Transport.js";
import { toWirelabError } from "./api.js";
import { declaredTransport, setUser } from "./locals.js";
import { admitOrigin, type OriginPolicy } from "./OriginPolicy.js";
import { parsePollQuery, parseRoom } from "./params.js";

/** The route as express matches it: case-insensitive, an optional trailing slash. */
const POLL_PATH = /^\/v1\/rooms\/([^/?]+)\/messages\/?(?:\?(.*))?$/is;

export interface PollRouteOptions {
  origins: OriginPolicy;
  auth: TokenIssuer;
  logger: Logger;
  shortPoll: PollingTransport;
  longPoll: PollingTransport;
}

export class PollRoute {
  constructor(private readonly options: PollRouteOptions) {}

  /** Serve the request if it is a poll (true); anything else is left to express (false). */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const match = POLL_PATH.exec(req.url ?? "");
    if (!match) return false;
    this.#answer(req, res, match[1]!, match[2] ?? "").catch((error: unknown) => sendError(res, toWirelabError(error, this.options.logger)));
    return true;
  }

  async #answer(req: IncomingMessage, res: ServerResponse, rawRoom: string, search: string): Promise<void> {
    const { origins, auth, logger } = this.options;
    res.setHeader("cache-control", "no-store");
    if (!admitOrigin(origins, logger, req, res)) return;
    // Express's "simple" query parser is node:querystring: the same values, repeats as arrays.
    const query = parseQueryString(search);
    const { principal, expiresAt } = await auth.verifySession(tokenOf(req, query));
    setUser(res, principal, expiresAt);
    const room = parseRoom(decodedSegment(rawRoom));
    const poll = parsePollQuery(query);
    const transport = poll.wait > 0 ? this.options.longPoll : this.options.shortPoll;
    await transport.poll({ req, res, room, query: poll, declared: declaredTransport(req, query) });
  }
}

/** A path segment as express decodes it; one that is not valid percent-encoding is no room name. */
function decodedSegment(segment: string): string {
  if (!segment.includes("%")) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return "";
  }
}
