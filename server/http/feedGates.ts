/**
 * The /v1 router's gates for a feed request served below express (polls, event streams): no
 * caching, the Origin check, then the token, in that order and with the same functions. FeedRoute
 * is what each such route shares: its path matched as express would, the gates, errors as /v1's.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseQueryString, type ParsedUrlQuery } from "node:querystring";
import type { Logger } from "pino";
import { tokenOf, type TokenIssuer } from "../auth.js";
import { sendError } from "../errors.js";
import { toWirelabError } from "./api.js";
import { setUser } from "./locals.js";
import { admitOrigin, type OriginPolicy } from "./OriginPolicy.js";
import { parseRoom } from "./params.js";

export interface FeedGateOptions {
  origins: OriginPolicy;
  auth: TokenIssuer;
  logger: Logger;
}

export interface AdmittedFeedRequest {
  room: string;
  /** Express's "simple" query parser is node:querystring: the same values, repeats as arrays. */
  query: ParsedUrlQuery;
}

/** The request's room and query once it passed the gates; null when it was already answered (refused origin). Throws WirelabErrors. */
export async function admitFeedRequest(options: FeedGateOptions, req: IncomingMessage, res: ServerResponse, rawRoom: string, search: string): Promise<AdmittedFeedRequest | null> {
  res.setHeader("cache-control", "no-store");
  if (!admitOrigin(options.origins, options.logger, req, res)) return null;
  const query = parseQueryString(search);
  const { principal, expiresAt } = await options.auth.verifySession(tokenOf(req, query));
  setUser(res, principal, expiresAt);
  return { room: parseRoom(decodedSegment(rawRoom)), query };
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

/**
 * A GET (or HEAD) route below express. `path` must capture the raw room segment first and the query
 * string second, case-insensitive with an optional trailing slash, as express matches /v1's routes.
 */
export abstract class FeedRoute<Options extends FeedGateOptions> {
  constructor(
    protected readonly options: Options,
    private readonly path: RegExp,
  ) {}

  /** Serve the request if it is this route's (true); anything else is left to express (false). */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const match = this.path.exec(req.url ?? "");
    if (!match) return false;
    this.#answer(req, res, match[1]!, match[2] ?? "").catch((error: unknown) => sendError(res, toWirelabError(error, this.options.logger)));
    return true;
  }

  /** Answer a request that passed the gates. */
  protected abstract answer(req: IncomingMessage, res: ServerResponse, admitted: AdmittedFeedRequest): Promise<void>;

  async #answer(req: IncomingMessage, res: ServerResponse, rawRoom: string, search: string): Promise<void> {
    const admitted = await admitFeedRequest(this.options, req, res, rawRoom, search);
    if (admitted) await this.answer(req, res, admitted);
  }
}
