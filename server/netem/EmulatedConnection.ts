/**
 * One client connection through the emulator: the accepted client socket, a socket to the real
 * server, and a Link each way ("up" client → server, "down" server → client). It knows its
 * transport from the requests it carries, asks the emulator for the conditions of that transport
 * whenever something changes, and runs the timed and random drops those conditions ask for.
 */
import { recordProxied } from "../clientAddress.js";
import { connect, type Socket } from "node:net";
import type { ConnectionTransport } from "./classify.js";
import { sameDrop, type DropConditions, type DropMode, type ResolvedConditions } from "./conditions.js";
import { Link, type LinkItem } from "./Link.js";
import { RequestSniffer } from "./RequestSniffer.js";

export type ConnectionState = "connecting" | "open" | "blackholed" | "closing" | "closed";

export interface ConnectionInfo {
  id: number;
  /** Null until the first request head has passed. */
  transport: ConnectionTransport | null;
  state: ConnectionState;
  /** Epoch ms. */
  openedAt: number;
  /** Bytes handed to the server / to the client so far. */
  bytesUp: number;
  bytesDown: number;
  /** Bytes read from one side and held by the emulator (in flight, paced, or black-holed). */
  heldUp: number;
  heldDown: number;
  /** Why it ended, once it has: who closed it, or the emulator's drop. */
  endedBy?: "client" | "server" | "drop-reset" | "drop-close" | "emulator";
}

/** What a connection needs from the emulator that owns it. */
export interface ConnectionEnvironment {
  target: { host: string; port: number };
  conditionsFor(transport: ConnectionTransport | null): ResolvedConditions;
  blackholed(transport: ConnectionTransport | null): boolean;
  random(): number;
  maxInFlightBytes: number;
  closeTimeoutMs: number;
  closed(connection: EmulatedConnection): void;
}

export class EmulatedConnection {
  readonly openedAt = Date.now();
  #transport: ConnectionTransport | null = null;
  #conditions: ResolvedConditions;
  #held: boolean;
  #connected = false;
  #closing = false;
  #closed = false;
  #endedBy: ConnectionInfo["endedBy"];
  #bytesUp = 0;
  #bytesDown = 0;
  readonly #server: Socket;
  readonly #up: Link;
  readonly #down: Link;
  readonly #sniffer = new RequestSniffer();
  #armedDrop: DropConditions | null = null;
  readonly #dropTimers: NodeJS.Timeout[] = [];
  #socketsOpen = 2;

  constructor(
    readonly id: number,
    private readonly client: Socket,
    private readonly env: ConnectionEnvironment,
  ) {
    this.#conditions = env.conditionsFor(null);
    this.#held = env.blackholed(null) || this.#conditions.blackhole;
    // Half-open is allowed on both sides so that a FIN travels through the link like data does.
    this.#server = connect({ ...env.target, allowHalfOpen: true, noDelay: true });
    // The server's limits count this connection under the client's address, not the emulator's.
    recordProxied(this.#server, client);
    client.setNoDelay(true);

    const random = () => env.random();
    this.#up = new Link(client, this.#server, {
      conditions: () => this.#conditions.up,
      held: () => this.#held,
      random,
      delivered: (n) => (this.#bytesUp += n),
    }, { maxInFlightBytes: env.maxInFlightBytes });
    this.#down = new Link(this.#server, client, {
      conditions: () => this.#conditions.down,
      held: () => this.#held,
      random,
      delivered: (n) => (this.#bytesDown += n),
    }, { maxInFlightBytes: env.maxInFlightBytes });

    client.on("data", (chunk: Buffer) => {
      // Classify before scheduling, so the request's own bytes already cross under its transport's conditions.
      const transport = this.#sniffer.active ? this.#sniffer.feed(chunk) : undefined;
      if (transport !== undefined && transport !== this.#transport) {
        this.#transport = transport;
        this.refresh();
      }
      this.#up.push({ kind: "data", chunk });
    });
    this.#server.on("data", (chunk: Buffer) => this.#down.push({ kind: "data", chunk }));
    this.#server.once("connect", () => {
      this.#connected = true;
    });
    this.#wireEnd(client, this.#up, "client");
    this.#wireEnd(this.#server, this.#down, "server");
    this.#armDrops();
  }

  get transport(): ConnectionTransport | null {
    return this.#transport;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Re-read the conditions (they, the black-hole switches or the transport changed) and apply them now. */
  refresh(): void {
    if (this.#closing) return;
    this.#conditions = this.env.conditionsFor(this.#transport);
    this.#held = this.env.blackholed(this.#transport) || this.#conditions.blackhole;
    if (!sameDrop(this.#armedDrop, this.#conditions.drop)) this.#armDrops();
    this.#up.pump();
    this.#down.pump();
  }

  /** End the connection now, on both sides, whatever is still held: an RST, or a FIN each way. */
  drop(mode: DropMode): boolean {
    if (this.#closing) return false;
    this.#closing = true;
    this.#endedBy = mode === "reset" ? "drop-reset" : "drop-close";
    this.#clearDropTimers();
    this.#up.discard();
    this.#down.discard();
    for (const socket of [this.client, this.#server]) {
      if (socket.destroyed) continue;
      if (mode === "reset") socket.resetAndDestroy();
      else socket.destroySoon();
    }
    if (mode === "close") {
      // destroySoon() waits for buffered bytes to be written; a peer that never reads must not keep us.
      const timer = setTimeout(() => this.destroy(), this.env.closeTimeoutMs);
      timer.unref();
      const settled = () => {
        if (this.client.destroyed && this.#server.destroyed) clearTimeout(timer);
      };
      this.client.once("close", settled);
      this.#server.once("close", settled);
    }
    return true;
  }

  /** Tear down without ceremony (the emulator is closing). */
  destroy(): void {
    this.#closing = true;
    this.#endedBy ??= "emulator";
    this.#clearDropTimers();
    this.#up.discard();
    this.#down.discard();
    this.client.destroy();
    this.#server.destroy();
  }

  info(): ConnectionInfo {
    let state: ConnectionState = "open";
    if (this.#closed) state = "closed";
    else if (this.#closing || this.#up.finished || this.#down.finished) state = "closing";
    else if (!this.#connected) state = "connecting";
    else if (this.#held) state = "blackholed";
    return {
      id: this.id,
      transport: this.#transport,
      state,
      openedAt: this.openedAt,
      bytesUp: this.#bytesUp,
      bytesDown: this.#bytesDown,
      heldUp: this.#up.heldBytes,
      heldDown: this.#down.heldBytes,
      ...(this.#endedBy && { endedBy: this.#endedBy }),
    };
  }

  /** A FIN or an error on one socket becomes an "end" or "reset" item travelling to the other. */
  #wireEnd(socket: Socket, link: Link, side: "client" | "server"): void {
    socket.on("end", () => this.#ending(link, { kind: "end" }, side));
    // ECONNRESET, ECONNREFUSED (the server is down) and the like: the other side sees an RST.
    socket.on("error", () => this.#ending(link, { kind: "reset" }, side));
    socket.once("close", () => {
      if (--this.#socketsOpen > 0) return;
      this.#closed = true;
      this.#clearDropTimers();
      this.env.closed(this);
    });
  }

  #ending(link: Link, item: LinkItem, side: "client" | "server"): void {
    if (this.#closing) return;
    this.#endedBy ??= side;
    link.push(item);
  }

  #armDrops(): void {
    this.#clearDropTimers();
    const drop = (this.#armedDrop = this.#conditions.drop);
    if (!drop) return;
    // Counted from now: the connection just opened, or its drop conditions just changed.
    if (drop.afterMs !== null) this.#later(drop.afterMs, () => this.drop(drop.mode));
    if (drop.perMinute > 0) this.#armRandomDrop(drop);
  }

  /** Drops as a Poisson process: exponentially distributed gaps with the asked-for mean. */
  #armRandomDrop(drop: DropConditions): void {
    const meanMs = 60_000 / drop.perMinute;
    const wait = -Math.log(1 - this.env.random()) * meanMs;
    this.#later(wait, () => this.drop(drop.mode));
  }

  #later(ms: number, run: () => void): void {
    const timer = setTimeout(run, ms);
    timer.unref();
    this.#dropTimers.push(timer);
  }

  #clearDropTimers(): void {
    for (const timer of this.#dropTimers.splice(0)) clearTimeout(timer);
  }
}
