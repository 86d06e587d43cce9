/**
 * `GET /v1/rooms/{room}/events` served below express, like the poll route. An event stream lives
 * for hours, and what express adds to a request (its router's `next` closures, req.params,
 * req.query, res.locals) stays on it as long as the stream does: several KB per open stream
 * (measured with heap snapshots, docs/benchmarks.md). Same gates as the /v1 router (feedGates.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { StreamRequest } from "../transports/Transport.js";
import { FeedRoute, type AdmittedFeedRequest, type FeedGateOptions } from "./feedGates.js";

/** The route as express matches it: case-insensitive, an optional trailing slash. */
const EVENTS_PATH = /^\/v1\/rooms\/([^/?]+)\/events\/?(?:\?(.*))?$/is;

export interface EventsRouteOptions extends FeedGateOptions {
  sse: { stream(request: StreamRequest): Promise<void> };
}

export class EventsRoute extends FeedRoute<EventsRouteOptions> {
  constructor(options: EventsRouteOptions) {
    super(options, EVENTS_PATH);
  }

  protected answer(req: IncomingMessage, res: ServerResponse, { room, query }: AdmittedFeedRequest): Promise<void> {
    return this.options.sse.stream({ req, res, room, query });
  }
}
