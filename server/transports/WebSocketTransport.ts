/**
 * WebSockets: `GET …/ws` upgrades (ws). One JSON text frame per event both ways. Protocol
 * violations the ws library detects close the connection with their RFC 6455 code
 * (1009 frame too big, 1007 invalid UTF-8); a bad command only earns an error frame.
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Router } from "express";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import {
  CLOSE_CODES,
  ClientFrameSchema,
  ERROR_CODES,
  PROTOCOL_VERSION,
  describeIssues,
  type ServerFrame,
  type User,
} from "../../web/src/protocol/index.js";
import { WirelabError, refuseUpgrade } from "../errors.js";
import { tokenOf } from "../auth.js";
import { parseEpoch, parseRoom, parseSince } from "../http/params.js";
import type { Cursor } from "../feed/cursor.js";
import type { FeedEvent } from "../feed/types.js";
import { holdUntilTurnEnds } from "./holdUntilTurnEnds.js";
import { ROUTES, type Transport, type TransportContext } from "./Transport.js";

/**
 * A complete server-to-client text frame (RFC 6455 §5.2) in one buffer: FIN and opcode 1, no
 * mask, no compression (perMessageDeflate is off), then the payload length in 7, 16 or 64 bits.
 */
export function frameText(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(text, headerLength, "utf8");
  return frame;
}

/** One query parameter as the HTTP routes see it: absent, a string, or several strings. */
function queryValue(url: URL, name: string): string | string[] | undefined {
  const values = url.searchParams.getAll(name);
  return values.length > 1 ? values : values[0];
}

const PATH = new RegExp(`^/v1${ROUTES.websocket.replace(":room", "([^/]*)")}$`);

export class WebSocketTransport implements Transport {
  readonly name = "websocket" as const;
  readonly #wss: WebSocketServer;
  readonly #sockets = new Set<WebSocket>();
  readonly #alive = new WeakSet<WebSocket>();
  readonly #pingTimer: NodeJS.Timeout;
  #closing = false;
  /** The last message framed: every subscriber of a room gets the same bytes, framed once. */
  #framed: { event: FeedEvent | null; frame: Buffer } = { event: null, frame: Buffer.alloc(0) };

  constructor(private readonly ctx: TransportContext) {
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: ctx.config.maxPayloadBytes,
    });
    // A peer that has not answered the previous ping by the next one is gone (half-open TCP).
    this.#pingTimer = setInterval(() => this.#heartbeat(), ctx.config.wsPingIntervalMs).unref();
  }

  mount(router: Router): void {
    router.get(ROUTES.websocket, () => {
      throw new WirelabError(426, ERROR_CODES.upgradeRequired, "this endpoint speaks WebSocket: send an Upgrade request");
    });
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean {
    const match = PATH.exec(url.pathname);
    if (!match) return false;
    const span = this.ctx.stats.begin(socket as Socket, this.name);
    socket.once("close", () => this.ctx.stats.end(span));
    this.#accept(req, socket, head, url, match[1]!).catch((error: unknown) => {
      if (!(error instanceof WirelabError)) {
        this.ctx.logger.error({ err: error }, "WebSocket upgrade failed");
        error = new WirelabError(500, ERROR_CODES.internal, "the upgrade failed");
      }
      refuseUpgrade(socket, error as WirelabError);
    });
    return true;
  }

  async #accept(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, rawRoom: string): Promise<void> {
    // Authentication first: a caller without a valid token learns nothing else.
    const user = await this.ctx.auth.verify(tokenOf(req, url));
    const room = parseRoom(rawRoom);
    const cursor: Cursor = { since: parseSince(queryValue(url, "since")), epoch: parseEpoch(queryValue(url, "epoch")) };
    if (this.#closing) throw new WirelabError(503, ERROR_CODES.unavailable, "the server is shutting down");
    if (socket.destroyed) return;
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#open(ws, socket, user, room, cursor));
  }

  #open(ws: WebSocket, socket: Duplex, user: User, room: string, cursor: Cursor): void {
    const { feed, stats, logger, config } = this.ctx;
    this.#sockets.add(ws);
    this.#alive.add(ws);
    /** Ids this connection has sent and not yet had acknowledged: the ack must precede the message. */
    const awaitingAck = new Set<string>();
    if (cursor.since !== undefined) this.ctx.metrics.resumed(this.name);

    const send = (frame: string): boolean => {
      // Never write to a closing socket.
      if (ws.readyState !== WebSocket.OPEN) return false;
      ws.send(frame);
      if (ws.bufferedAmount > config.maxBufferedBytes) {
        logger.warn({ transport: this.name, room, buffered: ws.bufferedAmount }, "slow WebSocket consumer cut");
        this.ctx.metrics.dropped(this.name, "slow_consumer");
        ws.close(CLOSE_CODES.tryAgainLater, "consumer too slow");
        return false;
      }
      return true;
    };
    const sendFrame = (frame: ServerFrame) => send(JSON.stringify(frame));
    /**
     * A message frame, framed once for every subscriber, goes straight to the socket ws owns (ws
     * would re-encode and re-frame the string per subscriber). That is safe because nothing is
     * ever queued inside ws's sender without permessage-deflate, so frames stay in order.
     */
    const sendFramed = (frame: Buffer): boolean => {
      if (ws.readyState !== WebSocket.OPEN || !socket.writable) return false;
      holdUntilTurnEnds(socket);
      socket.write(frame);
      if (ws.bufferedAmount > config.maxBufferedBytes) {
        logger.warn({ transport: this.name, room, buffered: ws.bufferedAmount }, "slow WebSocket consumer cut");
        this.ctx.metrics.dropped(this.name, "slow_consumer");
        ws.close(CLOSE_CODES.tryAgainLater, "consumer too slow");
        return false;
      }
      return true;
    };
    const ack = ({ id, seq, ts }: { id: string; seq: number; ts: number }) => {
      if (awaitingAck.delete(id)) sendFrame({ type: "ack", id, seq, ts });
    };

    const follower = feed.follow(room, cursor.since, {
      start: (next, epoch) => sendFrame({ type: "hello", protocol: PROTOCOL_VERSION, next, ...(epoch && { epoch }), instance: this.ctx.instance }),
      reset: (oldest) => sendFrame({ type: "reset", oldest }),
      deliver: (event) => {
        const { message } = event;
        if (message.from.id === user.id) ack(message);
        if (sendFramed(this.#frameOf(event))) {
          stats.delivered(this.name);
          this.ctx.metrics.delivered(this.name, message);
        }
      },
      fail: (error) => {
        logger.error({ err: error, transport: this.name, room }, "WebSocket stream failed");
        ws.close(CLOSE_CODES.internalError, "feed unavailable");
      },
    }, cursor.epoch);

    ws.on("pong", () => this.#alive.add(ws));
    ws.on("message", (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        sendFrame({ type: "error", code: ERROR_CODES.binaryFrame, message: "send JSON commands as text frames" });
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString());
      } catch {
        sendFrame({ type: "error", code: ERROR_CODES.invalidJson, message: "the frame is not valid JSON" });
        return;
      }
      const command = ClientFrameSchema.safeParse(parsed);
      if (!command.success) {
        const id = typeof (parsed as { id?: unknown })?.id === "string" ? (parsed as { id: string }).id : undefined;
        sendFrame({
          type: "error",
          code: ERROR_CODES.invalidCommand,
          message: describeIssues(command.error),
          ...(id !== undefined && { id }),
        });
        return;
      }
      const { type: _type, ...input } = command.data;
      awaitingAck.add(input.id);
      feed.publish(room, user, input).then(
        ({ message, created }) => {
          ack(message);
          if (created) this.ctx.metrics.stored(this.name);
        },
        (error: unknown) => {
          awaitingAck.delete(input.id);
          if (error instanceof WirelabError) {
            // Refused, not failed (the store is unreachable): the client may send it again later.
            sendFrame({ type: "error", code: error.code, message: error.message, id: input.id });
            return;
          }
          logger.error({ err: error, room }, "storing a message failed");
          sendFrame({ type: "error", code: ERROR_CODES.internal, message: "the message was not stored", id: input.id });
        },
      );
    });
    // ws closes the connection itself on protocol errors (1009, 1007, 1002); log and carry on.
    ws.on("error", (error) => logger.debug({ err: error, transport: this.name }, "WebSocket protocol error"));
    const leave = this.ctx.presence.join(room, user, this.name);
    ws.once("close", () => {
      leave();
      follower.close();
      this.#sockets.delete(ws);
    });
  }

  #frameOf(event: FeedEvent): Buffer {
    if (this.#framed.event !== event) {
      this.#framed = { event, frame: frameText(`{"type":"message","message":${event.json}}`) };
    }
    return this.#framed.frame;
  }

  #heartbeat(): void {
    for (const ws of this.#sockets) {
      if (!this.#alive.has(ws)) {
        this.ctx.metrics.zombieTerminated(this.name);
        ws.terminate();
        continue;
      }
      this.#alive.delete(ws);
      ws.ping();
    }
  }

  dropAll(): number {
    const count = this.#sockets.size;
    for (const ws of this.#sockets) ws.terminate();
    return count;
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#pingTimer);
    const closed = [...this.#sockets].map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once("close", () => resolve());
          ws.close(CLOSE_CODES.goingAway, "server shutting down");
          // A peer that never completes the closing handshake is cut.
          setTimeout(() => ws.terminate(), 2_000).unref();
        }),
    );
    await Promise.all(closed);
    this.#wss.close();
  }
}
