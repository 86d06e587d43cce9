/**
 * WebSockets: `GET …/ws` upgrades (ws). One JSON text frame per event both ways. Protocol
 * violations the ws library detects close the connection with their RFC 6455 code
 * (1009 frame too big, 1007 invalid UTF-8); a bad command only earns an error frame.
 */
import { randomUUID } from "node:crypto";
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
  TOKEN_EXPIRED_REASON,
  describeIssues,
  type Principal,
  type ServerFrame,
} from "../../web/src/isomorphic/protocol/index.js";
import { WirelabError, refuseUpgrade } from "../errors.js";
import { tokenOf } from "../auth.js";
import { parseEpoch, parseRoom, parseSince } from "../http/params.js";
import type { Cursor } from "../feed/cursor.js";
import type { FeedFollower } from "../feed/FeedFollower.js";
import type { FeedEvent } from "../feed/types.js";
import { holdFor } from "./holdUntilTurnEnds.js";
import { pauseIfFull, webSocketTextFrame } from "./sharedFrames.js";
import { clientAddress } from "../limits/ConnectionCaps.js";
import { RateLimitedError } from "../limits/RateLimits.js";
import type { CloseReason, TrackedConnection } from "./ConnectionRegistry.js";
import { ROUTES, type Transport, type TransportContext } from "./Transport.js";

/** One query parameter as the HTTP routes see it: absent, a string, or several strings. */
function queryValue(url: URL, name: string): string | string[] | undefined {
  const values = url.searchParams.getAll(name);
  return values.length > 1 ? values : values[0];
}

const PATH = new RegExp(`^/v1${ROUTES.websocket.replace(":room", "([^/]*)")}$`);

/** The idle app-level heartbeat: browsers do not expose ping frames to pages. */
const HEARTBEAT = JSON.stringify({ type: "heartbeat" } satisfies ServerFrame);

/** What the heartbeat timer knows of one socket. */
interface Liveness {
  readonly connection: TrackedConnection;
  /** A pong came since the last ping. */
  alive: boolean;
  /** Something was sent since the last tick: no heartbeat frame needed. */
  active: boolean;
}

export class WebSocketTransport implements Transport {
  readonly name = "websocket" as const;
  readonly #wss: WebSocketServer;
  readonly #pingTimer: NodeJS.Timeout;
  /** Open sockets, for the heartbeat (the registry owns the bookkeeping). */
  readonly #sockets = new Map<WebSocket, Liveness>();
  /** The last message framed: every subscriber of a room gets the same bytes, framed once. */
  #framed: { event: FeedEvent | null; frame: Buffer } = { event: null, frame: Buffer.alloc(0) };
  /** Before each fan-out write: hold the socket until the turn ends, or not (config.fanoutFlush). */
  readonly #hold: (socket: Duplex) => void;

  constructor(private readonly ctx: TransportContext) {
    this.#hold = holdFor(ctx.config.fanoutFlush);
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: ctx.config.maxPayloadBytes,
      // The protocol is no named subprotocol: agree to none a client offers (ws would echo the first, RFC 6455 §4.2.2).
      handleProtocols: () => false,
    });
    // ws checks the handshake itself (method, Upgrade, Sec-WebSocket-Key and -Version, subprotocols)
    // and would refuse a bad one with a text/html body: the JSON error instead, with ws's status.
    this.#wss.on("wsClientError", (error: Error, socket: Duplex, req: IncomingMessage) => {
      // ws checks the method first: any other refusal is of a GET.
      const method = req.method !== "GET";
      refuseUpgrade(
        socket,
        new WirelabError(method ? 405 : 400, ERROR_CODES.badRequest, `not a WebSocket handshake this server accepts: ${error.message}`),
        // RFC 9110 §15.5.6: a 405 names the methods it would take. RFC 6455 §4.4: a version the
        // server does not speak is answered with the ones it does.
        method ? { Allow: "GET" } : /Version/.test(error.message) ? { "Sec-WebSocket-Version": "13, 8" } : {},
      );
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
    const { principal: user, expiresAt } = await this.ctx.auth.verifySession(tokenOf(req, url.searchParams));
    const room = parseRoom(rawRoom);
    const cursor: Cursor = { since: parseSince(queryValue(url, "since")), epoch: parseEpoch(queryValue(url, "epoch")) };
    this.ctx.connections.admit(this.name, user);
    await this.ctx.limits.connect(clientAddress(req.socket));
    if (socket.destroyed) return;
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#open(ws, socket, user, room, cursor, expiresAt));
  }

  #open(ws: WebSocket, socket: Duplex, user: Principal, room: string, cursor: Cursor, expiresAt: number): void {
    const { feed, stats, logger, connections, limits } = this.ctx;
    const connection: TrackedConnection = {
      transport: this.name,
      user,
      room,
      expiresAt,
      drop: () => ws.terminate(),
      close: (reason) => this.#goodbye(ws, reason),
      expire: () => this.#expire(ws),
      unsentBytes: () => ws.bufferedAmount,
    };
    const untrack = connections.add(connection);
    const tooSlow = () => connections.cutIfSlow(connection, ws.bufferedAmount, () => ws.close(CLOSE_CODES.tryAgainLater, "consumer too slow"));
    const liveness: Liveness = { connection, alive: true, active: false };
    this.#sockets.set(ws, liveness);
    /** Ids this connection has sent and not yet had acknowledged: the ack must precede the message. */
    const awaitingAck = new Set<string>();
    /** This socket's key for counting its refused sends. */
    const refusalKey = randomUUID();
    if (cursor.since !== undefined) this.ctx.metrics.resumed(this.name);

    const send = (frame: string): boolean => {
      // Never write to a closing socket.
      if (ws.readyState !== WebSocket.OPEN) return false;
      ws.send(frame);
      liveness.active = true;
      return !tooSlow();
    };
    const sendFrame = (frame: ServerFrame) => send(JSON.stringify(frame));
    /**
     * A message frame, framed once for every subscriber, goes straight to the socket ws owns (ws
     * would re-encode and re-frame the string per subscriber). That is safe because nothing is
     * ever queued inside ws's sender without permessage-deflate, so frames stay in order.
     */
    const sendFramed = (frame: Buffer): boolean => {
      if (ws.readyState !== WebSocket.OPEN || !socket.writable) return false;
      this.#hold(socket);
      socket.write(frame);
      liveness.active = true;
      return !tooSlow();
    };
    const ack = ({ id, seq, ts }: { id: string; seq: number; ts: number }) => {
      if (awaitingAck.delete(id)) sendFrame({ type: "ack", id, seq, ts });
    };

    /**
     * Frames that came before the hello. On Redis the hello waits for the room's subscription (a
     * round trip); a command answered before it would break "the hello is the first frame", and a
     * send stored before it would fall before the stream's start and never be delivered to its
     * sender. So they wait (the socket paused meanwhile, so they stay few), then run in order.
     */
    let beforeHello: Array<[RawData, boolean]> | null = [];

    const follower = feed.follow(room, cursor.since, {
      start: (next, epoch) => {
        sendFrame({ type: "hello", protocol: PROTOCOL_VERSION, next, ...(epoch && { epoch }), instance: this.ctx.instance, heartbeatMs: this.ctx.config.wsPingIntervalMs });
        const waiting = beforeHello ?? [];
        beforeHello = null;
        if (waiting.length > 0) ws.resume();
        for (const [data, isBinary] of waiting) act(data, isBinary);
      },
      reset: (oldest) => sendFrame({ type: "reset", oldest }),
      deliver: (event) => {
        const { message } = event;
        if (message.from.id === user.id) ack(message);
        if (sendFramed(this.#frameOf(event))) {
          stats.delivered(this.name);
          this.ctx.metrics.delivered(this.name, message);
        }
        return !this.#full(socket, follower);
      },
      fail: (error) => {
        logger.error({ err: error, transport: this.name, room }, "WebSocket stream failed");
        ws.close(CLOSE_CODES.internalError, "feed unavailable");
      },
    }, cursor.epoch);

    ws.on("pong", () => (liveness.alive = true));
    /** A refreshed token of the same user extends the connection; anything else leaves it as it was. */
    const refresh = (token: string) => {
      this.ctx.auth.verifySession(token).then(
        (verified) => {
          if (verified.principal.id !== user.id) {
            sendFrame({ type: "error", code: ERROR_CODES.unauthorized, message: "the token belongs to another user" });
            return;
          }
          connections.extend(connection, verified.expiresAt);
          sendFrame({ type: "refreshed", expiresAt: verified.expiresAt });
        },
        (error: unknown) => {
          const message = error instanceof WirelabError ? error.message : "the token could not be checked";
          sendFrame({ type: "error", code: ERROR_CODES.unauthorized, message });
        },
      );
    };
    ws.on("message", (data: RawData, isBinary: boolean) => {
      if (beforeHello) {
        if (beforeHello.length === 0) ws.pause();
        beforeHello.push([data, isBinary]);
        return;
      }
      act(data, isBinary);
    });
    /** One frame from the client: a command, or the error frame that says why it is none. */
    const act = (data: RawData, isBinary: boolean): void => {
      // Once closing (a 1008 for a flood, a shutdown), frames still in the buffer are not acted on.
      if (ws.readyState !== WebSocket.OPEN) return;
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
      if (command.data.type === "refresh") return refresh(command.data.token);
      const { type: _type, ...input } = command.data;
      awaitingAck.add(input.id);
      // The limit is checked before the store: a refused send is not stored, and its id is in the refusal.
      limits.send(user.id).then(() => feed.publish(room, user, input)).then(
        ({ message, created }) => {
          ack(message);
          if (created) this.ctx.metrics.stored(this.name);
        },
        (error: unknown) => {
          awaitingAck.delete(input.id);
          if (error instanceof RateLimitedError) {
            if (ws.readyState !== WebSocket.OPEN) return;
            sendFrame({ type: "error", code: error.code, message: error.message, id: input.id, retryAfterMs: error.retryAfterMs });
            // A client that keeps sending while refused is cut (1008); an honest one waits retryAfterMs.
            void limits.refusedOnWebSocket(refusalKey).then((persists) => {
              if (persists && ws.readyState === WebSocket.OPEN) ws.close(CLOSE_CODES.policyViolation, "rate limit exceeded: too many refused sends");
            });
            return;
          }
          if (error instanceof WirelabError) {
            // Refused, not failed (the store is unreachable): the client may send it again later.
            sendFrame({ type: "error", code: error.code, message: error.message, id: input.id });
            return;
          }
          logger.error({ err: error, room }, "storing a message failed");
          sendFrame({ type: "error", code: ERROR_CODES.internal, message: "the message was not stored", id: input.id });
        },
      );
    };
    // ws closes the connection itself on protocol errors (1009, 1007, 1002); log and carry on.
    ws.on("error", (error) => logger.debug({ err: error, transport: this.name }, "WebSocket protocol error"));
    const leave = this.ctx.presence.join(room, user, this.name);
    ws.once("close", () => {
      leave();
      follower.close();
      untrack();
      this.#sockets.delete(ws);
    });
  }

  /** 1012 when the server comes back (restart), 1001 when it goes for good; a peer that never completes the closing handshake is cut. */
  #goodbye(ws: WebSocket, reason: CloseReason): Promise<void> {
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise<void>((resolve) => {
      ws.once("close", () => resolve());
      if (reason === "restart") ws.close(CLOSE_CODES.serviceRestart, "server restarting");
      else ws.close(CLOSE_CODES.goingAway, "server shutting down");
      setTimeout(() => ws.terminate(), 2_000).unref();
    });
  }

  /** The token ran out without a refresh: 1008, and a peer that never completes the closing handshake is cut. */
  #expire(ws: WebSocket): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.close(CLOSE_CODES.policyViolation, TOKEN_EXPIRED_REASON);
    setTimeout(() => ws.terminate(), 2_000).unref();
  }

  /** Backpressure (sharedFrames.ts): the follower pauses until the socket drains. */
  #full(socket: Duplex, follower: FeedFollower): boolean {
    if (!pauseIfFull(socket, this.ctx.config.pauseBufferedBytes, follower)) return false;
    this.ctx.metrics.streamPaused(this.name);
    return true;
  }

  #frameOf(event: FeedEvent): Buffer {
    if (this.#framed.event !== event) {
      this.#framed = { event, frame: webSocketTextFrame(`{"type":"message","message":${event.json}}`) };
    }
    return this.#framed.frame;
  }

  /**
   * Every interval: a peer that has not answered the previous ping is a zombie (half-open TCP) and
   * is terminated; the others get a ping, and an app-level heartbeat frame if nothing else was sent
   * to them since the last tick, so a page (which cannot see pings) learns the link is alive.
   */
  #heartbeat(): void {
    for (const [ws, liveness] of this.#sockets) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      if (!liveness.alive) {
        this.ctx.connections.reportZombie(liveness.connection);
        ws.terminate();
        continue;
      }
      liveness.alive = false;
      ws.ping();
      if (!liveness.active) ws.send(HEARTBEAT);
      liveness.active = false;
    }
  }

  dropAll(): number {
    return this.ctx.connections.dropAll(this.name);
  }

  async close(reason: CloseReason = "shutdown"): Promise<void> {
    clearInterval(this.#pingTimer);
    await this.ctx.connections.closeAll(this.name, reason);
    this.#wss.close();
  }
}
