/**
 * Server-Sent Events: `GET …/events` streams `event: message` with `id: <seq>`. Every event's id
 * is the cursor after it, so a browser's own reconnect (Last-Event-ID) resumes in place too.
 */
import type { Request, Response, Router } from "express";
import { createSession, type Session } from "better-sse";
import { ERROR_CODES, PROTOCOL_VERSION } from "../../web/src/protocol/index.js";
import { WirelabError } from "../errors.js";
import { classify, userOf, writable } from "../http/locals.js";
import { parseEpoch, parseRoom, parseSince } from "../http/params.js";
import type { FeedEvent } from "../feed/types.js";
import { holdUntilTurnEnds } from "./holdUntilTurnEnds.js";
import { ROUTES, type Transport, type TransportContext } from "./Transport.js";

/** Data is serialised once per message by the feed; pass strings through untouched. */
const passThrough = (data: unknown) => data as string;
const CRLF = Buffer.from("\r\n");

export class SseTransport implements Transport {
  readonly name = "sse" as const;
  readonly #open = new Map<Session, Response>();
  #closing = false;
  /**
   * The last message event, formatted once for every subscriber: the bytes better-sse's push()
   * would write (event, id, data, blank line), without re-sanitising and re-joining them per
   * subscriber. JSON from JSON.stringify holds no raw line breaks, so there is nothing to sanitise.
   */
  #formatted: { event: FeedEvent | null; raw: Buffer; chunked: Buffer } = { event: null, raw: Buffer.alloc(0), chunked: Buffer.alloc(0) };

  constructor(private readonly ctx: TransportContext) {}

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
      if (this.#closing) throw new WirelabError(503, ERROR_CODES.unavailable, "the server is shutting down");

      const { config, feed, stats, logger } = this.ctx;
      const session = await createSession(req, res, {
        retry: config.sseRetryMs,
        keepAlive: config.sseHeartbeatMs,
        serializer: passThrough,
        trustClientEventId: false,
        headers: { "cache-control": "no-store", "x-accel-buffering": "no" },
      });
      if (!session.isConnected) return;
      if (since !== undefined) this.ctx.metrics.resumed(this.name);

      const push = (data: string, event: string, id: number): boolean => {
        if (!session.isConnected || !writable(res)) return false;
        session.push(data, event, String(id));
        if (res.writableLength > config.maxBufferedBytes) {
          logger.warn({ transport: this.name, room, buffered: res.writableLength }, "slow SSE consumer cut");
          this.ctx.metrics.dropped(this.name, "slow_consumer");
          res.destroy();
          return false;
        }
        return true;
      };
      /**
       * A message event, formatted (and chunk-framed) once for every subscriber, goes straight to
       * the socket: what res.write() would send, without re-framing it per subscriber. Writes of
       * one event-loop turn leave together. The headers went out with the session's first bytes.
       */
      const socket = res.socket;
      const pushMessage = (event: FeedEvent): boolean => {
        if (!socket || socket.destroyed || res.writableEnded || !res.headersSent || !session.isConnected) return false;
        holdUntilTurnEnds(socket);
        socket.write(this.#chunkOf(event, res.chunkedEncoding));
        if (socket.writableLength > config.maxBufferedBytes) {
          logger.warn({ transport: this.name, room, buffered: socket.writableLength }, "slow SSE consumer cut");
          this.ctx.metrics.dropped(this.name, "slow_consumer");
          res.destroy();
          return false;
        }
        return true;
      };
      const follower = feed.follow(room, since, {
        start: (next, roomEpoch) => push(JSON.stringify({ protocol: PROTOCOL_VERSION, next, ...(roomEpoch && { epoch: roomEpoch }), instance: this.ctx.instance }), "hello", next),
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
      this.#open.set(session, res);
      const leave = this.ctx.presence.join(room, userOf(res), this.name);
      session.once("disconnected", () => {
        leave();
        follower.close();
        this.#open.delete(session);
      });
    });
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
    const count = this.#open.size;
    for (const res of this.#open.values()) res.socket?.destroy();
    return count;
  }

  async close(): Promise<void> {
    this.#closing = true;
    for (const res of this.#open.values()) res.end();
  }
}
