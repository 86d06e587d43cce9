/**
 * The open connections of every transport, in one place: which ones there are, whose they are,
 * and what the server does to all of them at once. Transports register each stream, WebSocket,
 * parked poll and in-flight poll here; the registry owns the per-user cap, the refusal while the
 * server shuts down, the slow-consumer cut, and the drop-all / close-all the fault API and the
 * shutdown use. A transport only says how one of its connections is cut or closed.
 */
import type { Logger } from "pino";
import { ERROR_CODES, type Principal, type TransportName } from "../../web/src/isomorphic/protocol/index.js";
import { WirelabError } from "../errors.js";

/**
 * Why the server closes its connections: "restart" (SIGTERM, an in-place restart: come back
 * soon, WebSocket 1012) or "shutdown" (going away for good, WebSocket 1001).
 */
export type CloseReason = "restart" | "shutdown";

export interface TrackedConnection {
  readonly transport: TransportName;
  readonly user: Principal;
  readonly room: string;
  /** Cut at once, as a network failure would (no goodbye). */
  drop(): void;
  /** Say goodbye the transport's way; resolves once the connection is gone. */
  close(reason: CloseReason): Promise<void> | void;
  /** When the connection's token runs out (epoch ms): then `expire()` is called. */
  readonly expiresAt?: number;
  /** Close because the token ran out, the transport's way (WebSocket 1008, SSE `event:expired`). */
  expire?(): void;
  /** Bytes written to the connection that the kernel has not taken yet (for the unsent-bytes gauge). */
  unsentBytes?(): number;
}

/** The longest delay setTimeout takes (about 24.8 days); a later expiry is re-armed on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ConnectionRegistryOptions {
  /** Long-lived connections (streams, WebSockets, parked polls) one user may hold at once. */
  maxPerUser: number;
  /** A connection with more unsent output than this is cut (it resumes on reconnect). */
  maxBufferedBytes: number;
  logger: Logger;
}

export class ConnectionRegistry {
  readonly #open = new Map<TransportName, Set<TrackedConnection>>();
  /** Long-lived connections per user id, for the per-user cap. */
  readonly #perUser = new Map<string, number>();
  readonly #listeners: Array<(event: ConnectionEvent) => void> = [];
  /**
   * One timer per connection with an expiry, at its expiry: Node keeps timers in a priority queue,
   * so 50,000 of them cost a few MB and O(log n) each, and nothing is scanned while they wait.
   */
  readonly #expiryTimers = new Map<TrackedConnection, ReturnType<typeof setTimeout>>();
  /** Connections the server ended itself, by why: zombies (missed pongs) and expired tokens. */
  readonly #terminated = { zombie: 0, expired: 0 };
  #closing = false;

  constructor(private readonly options: ConnectionRegistryOptions) {}

  /** True once close-all has begun: new connections are refused with 503. */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * May this user open one more connection of this transport? Throws 503 while the server shuts
   * down and 429 when the user already holds their share. Call it before any work is done.
   */
  admit(transport: TransportName, user: Principal, longLived = true): void {
    if (this.#closing) {
      throw new WirelabError(503, ERROR_CODES.unavailable, "the server is shutting down", { retryAfterSeconds: 1 });
    }
    if (longLived && (this.#perUser.get(user.id) ?? 0) >= this.options.maxPerUser) {
      this.#emit({ kind: "refused", transport });
      throw new WirelabError(
        429,
        ERROR_CODES.tooManyConnections,
        `this session already holds ${this.options.maxPerUser} open connections (the per-user limit): close one first`,
        { retryAfterSeconds: 5 },
      );
    }
  }

  /**
   * Track a connection until the returned function is called (call it when the connection ends;
   * calling it twice is harmless). `longLived` connections count against the per-user cap.
   */
  add(connection: TrackedConnection, longLived = true): () => void {
    let set = this.#open.get(connection.transport);
    if (!set) this.#open.set(connection.transport, (set = new Set()));
    set.add(connection);
    if (longLived) this.#perUser.set(connection.user.id, (this.#perUser.get(connection.user.id) ?? 0) + 1);
    if (connection.expiresAt !== undefined && connection.expire) this.#armExpiry(connection, connection.expiresAt);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      set.delete(connection);
      this.#disarmExpiry(connection);
      if (!longLived) return;
      const left = (this.#perUser.get(connection.user.id) ?? 1) - 1;
      if (left > 0) this.#perUser.set(connection.user.id, left);
      else this.#perUser.delete(connection.user.id);
    };
  }

  /**
   * The connection's token was refreshed: it now lives until `expiresAt` (epoch ms). Only a
   * connection that is still tracked is re-armed.
   */
  extend(connection: TrackedConnection, expiresAt: number): void {
    if (!this.#expiryTimers.has(connection)) return;
    this.#armExpiry(connection, expiresAt);
  }

  /**
   * A transport found a peer dead by its silence (a missed pong) and cut it: counted here, and
   * told to listeners (metrics), like the other cuts.
   */
  reportZombie(connection: TrackedConnection): void {
    this.#terminated.zombie += 1;
    this.#emit({ kind: "zombie", transport: connection.transport });
  }

  /** How many connections the server ended for silence (zombie) or an expired token, since start. */
  terminated(kind: "zombie" | "expired"): number {
    return this.#terminated[kind];
  }

  #armExpiry(connection: TrackedConnection, expiresAt: number): void {
    this.#disarmExpiry(connection);
    const delay = Math.min(Math.max(expiresAt - Date.now(), 0), MAX_TIMER_MS);
    // Arguments, not a closure: every open connection holds this timer.
    const timer = setTimeout(expiryDue, delay, this, connection, expiresAt);
    timer.unref();
    this.#expiryTimers.set(connection, timer);
  }

  /** Called by a connection's expiry timer only: re-arm a far expiry, or expire it. */
  expiryDue(connection: TrackedConnection, expiresAt: number): void {
    this.#expiryTimers.delete(connection);
    if (Date.now() < expiresAt) return this.#armExpiry(connection, expiresAt);
    this.#terminated.expired += 1;
    this.#emit({ kind: "expired", transport: connection.transport });
    connection.expire?.();
  }

  #disarmExpiry(connection: TrackedConnection): void {
    const timer = this.#expiryTimers.get(connection);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#expiryTimers.delete(connection);
  }

  /** Open connections of one transport (or of all). */
  count(transport?: TransportName): number {
    if (transport) return this.#open.get(transport)?.size ?? 0;
    let total = 0;
    for (const set of this.#open.values()) total += set.size;
    return total;
  }

  /** Output written to open connections (of one transport, or of all) that is still waiting in the process. */
  unsentBytes(transport?: TransportName): number {
    let total = 0;
    for (const [name, set] of this.#open) {
      if (transport && name !== transport) continue;
      for (const connection of set) total += connection.unsentBytes?.() ?? 0;
    }
    return total;
  }

  /** Long-lived connections a user holds right now. */
  heldBy(userId: string): number {
    return this.#perUser.get(userId) ?? 0;
  }

  /**
   * The slow-consumer rule, in one place: true (and the connection is cut) when its unsent
   * output exceeds the budget. Memory per connection stays bounded; the client resumes. The cut
   * is the connection's drop() unless `cut` says otherwise (then a caller on a hot path need
   * not make a closure per write).
   */
  cutIfSlow(connection: TrackedConnection, bufferedBytes: number, cut?: () => void): boolean {
    if (bufferedBytes <= this.options.maxBufferedBytes) return false;
    this.options.logger.warn(
      { transport: connection.transport, room: connection.room, buffered: bufferedBytes },
      "slow consumer cut",
    );
    this.#emit({ kind: "slow", transport: connection.transport });
    if (cut) cut();
    else connection.drop();
    return true;
  }

  /** Cut every connection of a transport at once, as a network failure would; returns how many. */
  dropAll(transport: TransportName): number {
    const set = this.#open.get(transport);
    if (!set) return 0;
    const connections = [...set];
    for (const connection of connections) connection.drop();
    if (connections.length > 0) this.#emit({ kind: "dropped", transport, count: connections.length });
    return connections.length;
  }

  /** Refuse new connections from now on (every transport). */
  startClosing(): void {
    this.#closing = true;
  }

  /** Refuse new connections, then close every connection of a transport the transport's way. */
  async closeAll(transport: TransportName, reason: CloseReason): Promise<void> {
    this.#closing = true;
    const set = this.#open.get(transport);
    if (!set) return;
    await Promise.all([...set].map((connection) => connection.close(reason)));
  }

  /** Hear about cuts and refusals (metrics count them). */
  onEvent(listener: (event: ConnectionEvent) => void): void {
    this.#listeners.push(listener);
  }

  #emit(event: ConnectionEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}

function expiryDue(registry: ConnectionRegistry, connection: TrackedConnection, expiresAt: number): void {
  registry.expiryDue(connection, expiresAt);
}

export type ConnectionEvent =
  | { kind: "slow"; transport: TransportName }
  | { kind: "dropped"; transport: TransportName; count: number }
  | { kind: "refused"; transport: TransportName }
  /** A peer that did not answer the heartbeat (a WebSocket ping) was terminated. */
  | { kind: "zombie"; transport: TransportName }
  /** A connection was closed because its token ran out without a refresh. */
  | { kind: "expired"; transport: TransportName };
