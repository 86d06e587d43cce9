/**
 * `GET /v1/rooms/{room}/messages` served below express. A poll is the request a server gets
 * thousands of times a second (every answered long poll comes straight back), and express's
 * router walk, request decoration and `res.send` cost more than answering it does (profiled in
 * docs/benchmarks.md). The route applies the /v1 router's gates in the same order, with the same
 * functions — no caching, the Origin check, the token (feedGates.ts) — then hands the parsed
 * request to the polling transport that `wait` names: 0 is a short poll, more is a long poll.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { PollingTransport } from "../transports/Transport.js";
import { FeedRoute, type AdmittedFeedRequest, type FeedGateOptions } from "./feedGates.js";
import { declaredTransport } from "./locals.js";
import { parsePollQuery } from "./params.js";

/** The route as express matches it: case-insensitive, an optional trailing slash. */
const POLL_PATH = /^\/v1\/rooms\/([^/?]+)\/messages\/?(?:\?(.*))?$/is;

export interface PollRouteOptions extends FeedGateOptions {
  shortPoll: PollingTransport;
  longPoll: PollingTransport;
}

export class PollRoute extends FeedRoute<PollRouteOptions> {
  constructor(options: PollRouteOptions) {
    super(options, POLL_PATH);
  }

  protected async answer(req: IncomingMessage, res: ServerResponse, { room, query }: AdmittedFeedRequest): Promise<void> {
    const poll = parsePollQuery(query);
    const transport = poll.wait > 0 ? this.options.longPoll : this.options.shortPoll;
    await transport.poll({ req, res, room, query: poll, declared: declaredTransport(req, query) });
  }
}
