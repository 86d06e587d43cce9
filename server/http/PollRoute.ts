/**
 * `GET /v1/rooms/{room}/messages` served below express. A poll is the request a server gets
 * thousands of times a second (every answered long poll comes straight back), and express's
 * router walk, request decoration and `res.send` cost more than answering it does (profiled in
 * docs/benchmarks.md). The route applies the /v1 router's gates in the same order, with the same
 * functions — no caching, the Origin check, the token (feedGates.ts) — then hands the parsed
 * request to the polling transport that `wait` names: 0 is a short poll, more is a long poll.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendError } from "../errors.js";
import type { PollingTransport } from "../transports/Transport.js";
import { toWirelabError } from "./api.js";
import { admitFeedRequest, type FeedGateOptions } from "./feedGates.js";
import { declaredTransport } from "./locals.js";
import { parsePollQuery } from "./params.js";

/** The route as express matches it: case-insensitive, an optional trailing slash. */
const POLL_PATH = /^\/v1\/rooms\/([^/?]+)\/messages\/?(?:\?(.*))?$/is;

export interface PollRouteOptions extends FeedGateOptions {
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
    const admitted = await admitFeedRequest(this.options, req, res, rawRoom, search);
    if (!admitted) return;
    const poll = parsePollQuery(admitted.query);
    const transport = poll.wait > 0 ? this.options.longPoll : this.options.shortPoll;
    await transport.poll({ req, res, room: admitted.room, query: poll, declared: declaredTransport(req, admitted.query) });
  }
}
