/**
 * The seam every transport implements. A transport turns the one Feed into its own wire
 * format; it knows nothing of the other transports.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Router } from "express";
import type { Logger } from "pino";
import type { TransportName } from "../../web/src/isomorphic/protocol/index.js";
import type { TokenIssuer } from "../auth.js";
import type { WirelabConfig } from "../config.js";
import type { Feed } from "../feed/Feed.js";
import type { PresenceTracker } from "../presence/PresenceTracker.js";
import type { TrafficStats } from "../stats/TrafficStats.js";
import type { CloseReason, ConnectionRegistry } from "./ConnectionRegistry.js";
import type { RateLimits } from "../limits/RateLimits.js";
import type { WirelabMetrics } from "../metrics/WirelabMetrics.js";
import type { PollQuery } from "../http/params.js";

export interface TransportContext {
  feed: Feed;
  auth: TokenIssuer;
  stats: TrafficStats;
  /** Prometheus metrics: resumes, cuts, zombies, delivery latency (TrafficStats feeds the rest). */
  metrics: WirelabMetrics;
  config: WirelabConfig;
  logger: Logger;
  /** This instance's id (new at every start), named in stream hellos. */
  instance: string;
  /** Who is in which room: transports report their clients here. */
  presence: PresenceTracker;
  /** Every transport's open connections: caps, drop-all, close-all, refusal while closing. */
  connections: ConnectionRegistry;
  /** Rate limits: sends per session, stream opens per address. */
  limits: RateLimits;
}

export interface Transport {
  readonly name: TransportName;
  /** Register the HTTP routes this transport serves on express (behind authentication, under /v1). */
  mount?(router: Router): void;
  /** Take an HTTP upgrade if it is for this transport; false leaves it to others. */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean;
  /** Cut every open connection at once, as a network failure would; returns how many. */
  dropAll(): number;
  /** Graceful shutdown: tell open clients why they are closed (restart or for good), then stop. */
  close(reason?: CloseReason): Promise<void>;
}

/** An authenticated GET of a room's messages, parsed: what PollRoute hands a polling transport. */
export interface PollRequest {
  req: IncomingMessage;
  res: ServerResponse;
  room: string;
  query: PollQuery;
  /** The transport the client says it uses (a stream's history load or gap fill), if any. */
  declared: TransportName | undefined;
}

/**
 * Short and long polling answer the same route (`wait` tells them apart). It is the hottest
 * request of the server, so it is served below express (server/http/PollRoute.ts).
 */
export interface PollingTransport extends Transport {
  readonly name: "short-poll" | "long-poll";
  poll(request: PollRequest): Promise<void>;
}

/** An authenticated GET of a room's event stream: what EventsRoute hands the SSE transport. */
export interface StreamRequest {
  req: IncomingMessage;
  res: ServerResponse;
  room: string;
  /** The query as node:querystring parses it (repeats as arrays). */
  query: Record<string, string | string[] | undefined>;
}

/** Route paths, shared so that docs, transports and tests agree. */
export const ROUTES = {
  messages: "/rooms/:room/messages",
  events: "/rooms/:room/events",
  websocket: "/rooms/:room/ws",
} as const;
