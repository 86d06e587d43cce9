/**
 * The /v1 router's gates for a feed request served below express (polls, event streams): no
 * caching, the Origin check, then the token, in that order and with the same functions.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseQueryString, type ParsedUrlQuery } from "node:querystring";
import type { Logger } from "pino";
import { tokenOf, type TokenIssuer } from "../auth.js";
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
