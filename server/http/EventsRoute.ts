/**
 * `GET /v1/rooms/{room}/events` served below express, like the poll route. An event stream lives
 * for hours, and what express adds to a request (its router's `next` closures, req.params,
 * req.query, res.locals) stays on it as long as the stream does: several KB per open stream
 * (measured with heap snapshots, docs/benchmarks.md). Same gates as the /v1 router (feedGates.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendError } from "../errors.js";
import type { StreamRequest } from "../transports/Transport.js";
import { toWirelabError } from "./api.js";
import { admitFeedRequest, type FeedGateOptions } from "./feedGates.js";

/** The route as express matches it: case-insensitive, an optional trailing slash. */
const EVENTS_PATH = /^\/v1\/rooms\/([^/?]+)\/events\/?(?:\?(.*))?$/is;

export interface EventsRouteOptions extends FeedGateOptions {
  sse: { stream(request: StreamRequest): Promise<void> };
}

export class EventsRoute {
  constructor(private readonly options: EventsRouteOptions) {}

  /** Serve the request if it opens an event stream (true); anything else is left to express (false). */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const match = EVENTS_PATH.exec(req.url ?? "");
    if (!match) return false;
    this.#answer(req, res, match[1]!, match[2] ?? "").catch((error: unknown) => sendError(res, toWirelabError(error, this.options.logger)));
    return true;
  }

  async #answer(req: IncomingMessage, res: ServerResponse, rawRoom: string, search: string): Promise<void> {
    const admitted = await admitFeedRequest(this.options, req, res, rawRoom, search);
    if (!admitted) return;
    await this.options.sse.stream({ req, res, room: admitted.room, query: admitted.query });
  }
}
