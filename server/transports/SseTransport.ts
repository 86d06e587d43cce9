/**
 * Server-Sent Events: `GET …/events` streams `event: message` with `id: <seq>`. Every event's id
 * is the cursor after it, so a browser's own reconnect (Last-Event-ID) resumes in place too.
 *
 * Streams are served below express (server/http/EventsRoute.ts) and each is one SseStream: an
 * open stream costs its socket and response plus one small object, not an express request, a
 * better-sse Session (an EventEmitter with a dozen closures, an EventBuffer, a fetch Request and
 * Response with their Headers, a URL and an AbortController) and a closure per callback. Every
 * event is formatted by better-sse's EventBuffer (sharedFrames.ts); a message once for all its
 * subscribers.
 */
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { PROTOCOL_VERSION, TOKEN_EXPIRED_REASON, type Principal } from "../../web/src/isomorphic/protocol/index.js";
import { classify, releaseRequestHeaders, tokenExpiryOf, userOf, writable } from "../http/locals.js";
import { parseEpoch, parseSince } from "../http/params.js";
import type { FeedFollower, FollowSink } from "../feed/FeedFollower.js";
import type { FeedEvent } from "../feed/types.js";
import { holdFor } from "./holdUntilTurnEnds.js";
import { httpChunk, pauseIfFull, sseEvent } from "./sharedFrames.js";
import { clientAddress } from "../limits/ConnectionCaps.js";
import type { CloseReason, TrackedConnection } from "./ConnectionRegistry.js";
import type { StreamRequest, Transport, TransportContext } from "./Transport.js";

/**
 * The idle heartbeat is a named event, not a comment: EventSource hides comments from pages, so
 * only an event lets a client tell a quiet room from a dead link. No id: the cursor stays put.
 */
const HEARTBEAT_EVENT = sseEvent("heartbeat", "{}");
/** The response head better-sse sent (its defaults, our cache-control), lower-case as it wrote them. */
const STREAM_HEADERS = Object.freeze({
  "content-type": "text/event-stream",
  "cache-control": "no-store",
  connection: "keep-alive",
  pragma: "no-cache",
  "x-accel-buffering": "no",
});

export class SseTransport implements Transport {
  readonly name = "sse" as const;
  /**
   * The last message event, formatted once for every subscriber: event, id, data, blank line.
   * JSON from JSON.stringify holds no raw line breaks, so there is nothing to sanitise.
   */
  #formatted: { event: FeedEvent | null; raw: Buffer; chunked: Buffer } = { event: null, raw: Buffer.alloc(0), chunked: Buffer.alloc(0) };
  /** Open streams, for the one heartbeat timer of all of them (not a timer per stream). */
  readonly streams = new Set<SseStream>();
  readonly #heartbeatTimer: NodeJS.Timeout;
  /** Before each fan-out write: hold the socket until the turn ends, or not (config.fanoutFlush). */
  readonly hold: (socket: Socket) => void;

  constructor(readonly ctx: TransportContext) {
    this.hold = holdFor(ctx.config.fanoutFlush);
    this.#heartbeatTimer = setInterval(() => this.#heartbeat(), ctx.config.sseHeartbeatMs).unref();
  }

  /** Open a stream for an authenticated request (EventsRoute); throws WirelabErrors before any byte is sent. */
  async stream({ req, res, room, query }: StreamRequest): Promise<void> {
    const lastEventId = req.headers["last-event-id"];
    // Last-Event-ID (sent by a reconnecting EventSource) wins over ?since.
    const since = lastEventId ? parseSince(lastEventId, "Last-Event-ID") : parseSince(query.since);
    const epoch = parseEpoch(query.epoch);
    classify(res, this.name);
    const user = userOf(res);
    const { connections, config } = this.ctx;
    connections.admit(this.name, user);
    await this.ctx.limits.connect(clientAddress(req.socket));
    const socket = res.socket;
    if (!socket || !writable(res)) return;
    // Events are small and must leave at once; config.fanoutFlush decides how writes of one turn coalesce.
    socket.setNoDelay(true);
    res.writeHead(200, STREAM_HEADERS);
    res.write(`retry:${config.sseRetryMs}\n\n`);
    releaseRequestHeaders(req);
    const stream = new SseStream(this, res, socket, user, room);
    if (since !== undefined) this.ctx.metrics.resumed(this.name);
    stream.follow(since, epoch);
  }

  /** Every interval, each stream that sent nothing since the last tick gets a heartbeat event. */
  #heartbeat(): void {
    for (const stream of this.streams) {
      if (!stream.active && writable(stream.res)) stream.res.write(HEARTBEAT_EVENT);
      stream.active = false;
    }
  }

  /** The event's bytes; framed as one HTTP/1.1 chunk when the response is chunked (it is, unless the client spoke HTTP/1.0). */
  chunkOf(event: FeedEvent, chunked: boolean): Buffer {
    if (this.#formatted.event !== event) {
      const raw = Buffer.from(sseEvent("message", event.json, event.message.seq));
      this.#formatted = { event, raw, chunked: httpChunk(raw) };
    }
    return chunked ? this.#formatted.chunked : this.#formatted.raw;
  }

  dropAll(): number {
    return this.ctx.connections.dropAll(this.name);
  }

  close(reason: CloseReason = "shutdown"): Promise<void> {
    clearInterval(this.#heartbeatTimer);
    return this.ctx.connections.closeAll(this.name, reason);
  }
}

/**
 * One open event stream. It is the follower's sink, the registry's connection and the heartbeat's
 * entry at once, with its behaviour on the prototype: a stream holds no closures of its own but
 * the one close listener and what the registry and presence hand back.
 */
class SseStream implements FollowSink, TrackedConnection {
  readonly transport = "sse" as const;
  readonly expiresAt?: number;
  /** Something was written since the last heartbeat tick: no heartbeat needed. */
  active = false;
  /** Framed as HTTP/1.1 chunks (unless the client spoke HTTP/1.0): fixed once the head is written. */
  readonly #chunked: boolean;
  #follower: FeedFollower | null = null;
  readonly #untrack: () => void;
  readonly #leave: () => void;

  constructor(
    private readonly hub: SseTransport,
    readonly res: ServerResponse,
    private readonly socket: Socket,
    readonly user: Principal,
    readonly room: string,
  ) {
    this.#chunked = res.chunkedEncoding;
    const expiresAt = tokenExpiryOf(res);
    if (expiresAt !== undefined) this.expiresAt = expiresAt;
    hub.streams.add(this);
    this.#untrack = hub.ctx.connections.add(this);
    this.#leave = hub.ctx.presence.join(room, user, hub.name);
    res.once("close", this.#closed);
  }

  follow(since: number | undefined, epoch: string | undefined): void {
    this.#follower = this.hub.ctx.feed.follow(this.room, since, this, epoch);
  }

  /** The stream ended (either side): it leaves every place that knows it. */
  readonly #closed = (): void => {
    this.hub.streams.delete(this);
    this.#untrack();
    this.#leave();
    this.#follower?.close();
    this.#follower = null;
  };

  start(next: number, roomEpoch: string): void {
    const { instance, config } = this.hub.ctx;
    this.#write(sseEvent("hello", JSON.stringify({ protocol: PROTOCOL_VERSION, next, ...(roomEpoch && { epoch: roomEpoch }), instance, heartbeatMs: config.sseHeartbeatMs }), next));
  }

  reset(oldest: number): void {
    this.#write(sseEvent("reset", JSON.stringify({ oldest }), Math.max(oldest - 1, 0)));
  }

  /**
   * A message event, formatted (and chunk-framed) once for every subscriber, goes straight to
   * the socket: what res.write() would send, without re-framing it per subscriber. How writes of
   * one event-loop turn leave is config.fanoutFlush's choice (holdUntilTurnEnds.ts).
   */
  deliver(event: FeedEvent): boolean {
    const { res, socket } = this;
    if (socket.destroyed || !writable(res)) return true;
    this.hub.hold(socket);
    socket.write(this.hub.chunkOf(event, this.#chunked));
    this.active = true;
    if (this.hub.ctx.connections.cutIfSlow(this, socket.writableLength)) return true;
    this.hub.ctx.stats.delivered(this.hub.name);
    this.hub.ctx.metrics.delivered(this.hub.name, event.message);
    // Backpressure (sharedFrames.ts): a stream delivers only once its follower exists.
    if (!this.#follower || !pauseIfFull(socket, this.hub.ctx.config.pauseBufferedBytes, this.#follower)) return true;
    this.hub.ctx.metrics.streamPaused(this.hub.name);
    return false;
  }

  fail(error: unknown): void {
    this.hub.ctx.logger.error({ err: error, transport: this.transport, room: this.room }, "SSE stream failed");
    this.res.destroy();
  }

  unsentBytes(): number {
    return this.socket.writableLength;
  }

  /** Cut at once, as a network failure would. */
  drop(): void {
    this.socket.destroy();
  }

  /**
   * The documented end of a stream: a `goodbye` event naming the reason and a `retry:` hint (how
   * long EventSource waits before it reconnects), then the end of the response.
   */
  close(reason: CloseReason): Promise<void> {
    const { res } = this;
    if (!writable(res)) return Promise.resolve();
    const retryMs = this.hub.ctx.config.sseRetryMs;
    const gone = new Promise<void>((resolve) => res.once("close", () => resolve()));
    res.end(sseEvent("goodbye", JSON.stringify({ reason, retryMs }), undefined, retryMs));
    return gone;
  }

  /**
   * The token ran out: an `expired` event, then the end. No `retry:` hint: reconnecting with the
   * same token would be refused (401); the client refreshes its token and reconnects with its cursor.
   */
  expire(): void {
    if (!writable(this.res)) return;
    this.res.end(sseEvent("expired", JSON.stringify({ reason: TOKEN_EXPIRED_REASON })));
  }

  /** A rare event through the response; false (and the stream cut) when the client reads too slowly. */
  #write(text: string): void {
    if (!writable(this.res)) return;
    this.res.write(text);
    this.active = true;
    this.hub.ctx.connections.cutIfSlow(this, this.res.writableLength);
  }
}
