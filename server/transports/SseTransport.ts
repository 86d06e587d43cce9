/**
 * Server-Sent Events: `GET …/events` streams `event: message` with `id: <seq>`. Every event's id
 * is the cursor after it, so a browser's own reconnect (Last-Event-ID) resumes in place too.
 */
import type { Request, Response, Router } from "express";
import { createSession, type Session } from "better-sse";
import { PROTOCOL_VERSION, TOKEN_EXPIRED_REASON } from "../../web/src/protocol/index.js";
import { classify, tokenExpiryOf, userOf, writable } from "../http/locals.js";
import { parseEpoch, parseRoom, parseSince } from "../http/params.js";
import type { FeedEvent } from "../feed/types.js";
import { holdFor } from "./holdUntilTurnEnds.js";
import { clientAddress } from "../limits/ConnectionCaps.js";
import type { CloseReason, TrackedConnection } from "./ConnectionRegistry.js";
import { ROUTES, type Transport, type TransportContext } from "./Transport.js";

/** Data is serialised once per message by the feed; pass strings through untouched. */
const passThrough = (data: unknown) => data as string;
const CRLF = Buffer.from("\r\n");
/**
 * The idle heartbeat is a named event, not a comment: EventSource hides comments from pages, so
 * only an event lets a client tell a quiet room from a dead link. No id: the cursor stays put.
 */
const HEARTBEAT_EVENT = "event:heartbeat\ndata:{}\n\n";

/** What the heartbeat timer knows of one stream. */
interface StreamLiveness {
  readonly res: Response;
  /** Something was written since the last tick: no heartbeat needed. */
  active: boolean;
}

export class SseTransport implements Transport {
  readonly name = "sse" as const;
  /**
   * The last message event, formatted once for every subscriber: the bytes better-sse's push()
   * would write (event, id, data, blank line), without re-sanitising and re-joining them per
   * subscriber. JSON from JSON.stringify holds no raw line breaks, so there is nothing to sanitise.
   */
  #formatted: { event: FeedEvent | null; raw: Buffer; chunked: Buffer } = { event: null, raw: Buffer.alloc(0), chunked: Buffer.alloc(0) };
  /** Open streams, for the one heartbeat timer of all of them (not a timer per stream). */
  readonly #streams = new Set<StreamLiveness>();
  readonly #heartbeatTimer: NodeJS.Timeout;

  constructor(private readonly ctx: TransportContext) {
    this.#heartbeatTimer = setInterval(() => this.#heartbeat(), ctx.config.sseHeartbeatMs).unref();
  }

  mount(router: Router): void {
    router.get(ROUTES.events, async (req: Request, res: Response) => {
      const room = parseRoom(req.params.room);
      const lastEventId = req.headers["last-event-id"];
      // Last-Event-ID (sent by a reconnecting EventSource) wins over ?since.
      const since = lastEventId
        ? parseSince(lastEventId, "Last-Event-ID")
        : parseSince(req.query.since);
      const epoch = parseEpoch(req.query.epoch);
      classify(res, this.name);
      const user = userOf(res);
      const { config, feed, stats, logger, connections } = this.ctx;
      connections.admit(this.name, user);
      await this.ctx.limits.connect(clientAddress(req.socket));

      const session = await createSession(req, res, {
        retry: config.sseRetryMs,
        // Our own heartbeat (below) replaces better-sse's comment keep-alive.
        keepAlive: null,
        serializer: passThrough,
        trustClientEventId: false,
        headers: { "cache-control": "no-store", "x-accel-buffering": "no" },
      });
      if (!session.isConnected) return;
      const liveness: StreamLiveness = { res, active: false };
      this.#streams.add(liveness);
      session.once("disconnected", () => this.#streams.delete(liveness));
      const connection = this.#track(session, res, room);
      if (since !== undefined) this.ctx.metrics.resumed(this.name);

      const push = (data: string, event: string, id: number): boolean => {
        if (!session.isConnected || !writable(res)) return false;
        session.push(data, event, String(id));
        liveness.active = true;
        return !connections.cutIfSlow(connection, res.writableLength, () => res.destroy());
      };
      /**
       * A message event, formatted (and chunk-framed) once for every subscriber, goes straight to
       * the socket: what res.write() would send, without re-framing it per subscriber. How writes of
       * one event-loop turn leave is config.fanoutFlush's choice (holdUntilTurnEnds.ts).
       * The headers went out with the session's first bytes.
       */
      const socket = res.socket;
      const hold = holdFor(config.fanoutFlush);
      const pushMessage = (event: FeedEvent): boolean => {
        if (!socket || socket.destroyed || res.writableEnded || !res.headersSent || !session.isConnected) return false;
        hold(socket);
        socket.write(this.#chunkOf(event, res.chunkedEncoding));
        liveness.active = true;
        return !connections.cutIfSlow(connection, socket.writableLength, () => res.destroy());
      };
      const follower = feed.follow(room, since, {
        start: (next, roomEpoch) =>
          push(
            JSON.stringify({ protocol: PROTOCOL_VERSION, next, ...(roomEpoch && { epoch: roomEpoch }), instance: this.ctx.instance, heartbeatMs: config.sseHeartbeatMs }),
            "hello",
            next,
          ),
        reset: (oldest) => push(JSON.stringify({ oldest }), "reset", Math.max(oldest - 1, 0)),
        deliver: (event) => {
          if (pushMessage(event)) {
            stats.delivered(this.name);
            this.ctx.metrics.delivered(this.name, event.message);
          }
        },
        fail: (error) => {
          logger.error({ err: error, transport: this.name, room }, "SSE stream failed");
          res.destroy();
        },
      }, epoch);
      const leave = this.ctx.presence.join(room, user, this.name);
      session.once("disconnected", () => {
        leave();
        follower.close();
      });
    });
  }

  /** Register a stream; it leaves the registry when it disconnects. */
  #track(session: Session, res: Response, room: string): TrackedConnection {
    const expiresAt = tokenExpiryOf(res);
    const connection: TrackedConnection = {
      transport: this.name,
      user: userOf(res),
      room,
      ...(expiresAt !== undefined && { expiresAt }),
      drop: () => res.socket?.destroy(),
      close: (reason) => this.#goodbye(session, res, reason),
      expire: () => this.#expired(session, res),
    };
    session.once("disconnected", this.ctx.connections.add(connection));
    return connection;
  }

  /**
   * The documented end of a stream: a `goodbye` event naming the reason and a `retry:` hint (how
   * long EventSource waits before it reconnects), then the end of the response.
   */
  #goodbye(session: Session, res: Response, reason: CloseReason): Promise<void> {
    if (!writable(res)) return Promise.resolve();
    const retryMs = this.ctx.config.sseRetryMs;
    const gone = new Promise<void>((resolve) => res.once("close", () => resolve()));
    if (session.isConnected) res.write(`event:goodbye\ndata:${JSON.stringify({ reason, retryMs })}\nretry:${retryMs}\n\n`);
    res.end();
    return gone;
  }

  /**
   * The token ran out: an `expired` event, then the end. No `retry:` hint: reconnecting with the
   * same token would be refused (401); the client refreshes its token and reconnects with its cursor.
   */
  #expired(session: Session, res: Response): void {
    if (!writable(res)) return;
    if (session.isConnected) res.write(`event:expired\ndata:${JSON.stringify({ reason: TOKEN_EXPIRED_REASON })}\n\n`);
    res.end();
  }

  /** Every interval, each stream that sent nothing since the last tick gets a heartbeat event. */
  #heartbeat(): void {
    for (const liveness of this.#streams) {
      if (!liveness.active && writable(liveness.res)) liveness.res.write(HEARTBEAT_EVENT);
      liveness.active = false;
    }
  }

  /** The event's bytes; framed as one HTTP/1.1 chunk when the response is chunked (it is, unless the client spoke HTTP/1.0). */
  #chunkOf(event: FeedEvent, chunked: boolean): Buffer {
    if (this.#formatted.event !== event) {
      const raw = Buffer.from(`event:message\nid:${event.message.seq}\ndata:${event.json}\n\n`);
      this.#formatted = { event, raw, chunked: Buffer.concat([Buffer.from(`${raw.length.toString(16)}\r\n`), raw, CRLF]) };
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
