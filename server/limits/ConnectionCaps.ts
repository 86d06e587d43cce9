/**
 * Caps on TCP connections, per process and per client address, so a flood of connections can
 * never take the file descriptors the process needs (and /healthz keeps answering):
 * - past the hard cap (`maxConnections`) a new connection is cut at once, by node itself
 *   (`server.maxConnections`), before it costs more than the accept;
 * - between the soft cap and the hard cap a new connection is answered only at the health
 *   endpoints; every other request gets 503 + `Connection: close`, and it is closed if it sends
 *   nothing within `shedIdleMs`;
 * - past its address's cap a new connection gets 429 too_many_connections the same way.
 * Connections under the caps are never touched.
 */
import { clientAddress } from "../clientAddress.js";
import { readFileSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { ERROR_CODES } from "../../web/src/isomorphic/protocol/index.js";
import { WirelabError, refuseUpgrade, sendError } from "../errors.js";

/** The hard cap where the open-files limit cannot be read (not Linux). */
export const DEFAULT_MAX_CONNECTIONS = 10_000;

/** Paths answered even past the soft cap: what a load balancer and a monitor need. */
const HEALTH_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/** The soft "Max open files" of this process (Linux), or null where it cannot be read. */
export function openFilesLimit(): number | null {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    if (soft === undefined || soft === "unlimited") return null;
    const n = Number(soft);
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}
export { clientAddress };

export interface ConnectionCapsOptions {
  maxConnections: number;
  softCap: number;
  maxPerIp: number;
  shedIdleMs: number;
  /** Told of every refusal, by cap ("connections-process" or "connections-ip"). */
  limited: (name: "connections-process" | "connections-ip") => void;
}

/** Why a connection past a cap is refused; absent for the connections under the caps. */
const refusalOf = new WeakMap<Socket, WirelabError>();

export class ConnectionCaps {
  #open = 0;
  readonly #perIp = new Map<string, number>();

  constructor(private readonly options: ConnectionCapsOptions) {}

  /** TCP connections open right now (as counted here: the ones the hard cap let in). */
  get open(): number {
    return this.#open;
  }

  /** Count the server's connections and mark the ones past a cap. Call before listen(). */
  attach(server: Server): void {
    // Node closes connections past maxConnections right after the accept and emits "drop".
    server.maxConnections = this.options.maxConnections;
    server.on("drop", () => this.options.limited("connections-process"));
    server.on("connection", (socket: Socket) => this.#accepted(socket));
  }

  #accepted(socket: Socket): void {
    const address = clientAddress(socket);
    const fromAddress = (this.#perIp.get(address) ?? 0) + 1;
    this.#perIp.set(address, fromAddress);
    this.#open += 1;
    socket.once("close", () => {
      this.#open -= 1;
      const left = (this.#perIp.get(address) ?? 1) - 1;
      if (left > 0) this.#perIp.set(address, left);
      else this.#perIp.delete(address);
    });
    let refusal: WirelabError | null = null;
    if (this.#open > this.options.softCap) {
      refusal = new WirelabError(503, ERROR_CODES.unavailable, "the server holds as many connections as it can: try again shortly", { retryAfterSeconds: 5 });
      this.options.limited("connections-process");
    } else if (fromAddress > this.options.maxPerIp) {
      refusal = new WirelabError(
        429,
        ERROR_CODES.tooManyConnections,
        `this address already holds ${this.options.maxPerIp} connections (the per-address limit): close one first`,
        { retryAfterSeconds: 5 },
      );
      this.options.limited("connections-ip");
    }
    if (!refusal) return;
    refusalOf.set(socket, refusal);
    // A connection past a cap may not sit idle on a descriptor: it asks at once or goes.
    socket.setTimeout(this.options.shedIdleMs, () => socket.destroy());
  }

  /**
   * Answer a request on a connection past a cap: true when it was refused (503 or 429, and the
   * connection closes). Health endpoints are answered as usual, then the connection closes too.
   */
  refuseRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const refusal = refusalOf.get(req.socket);
    if (!refusal) return false;
    res.shouldKeepAlive = false;
    if (HEALTH_PATHS.has(pathOf(req))) return false;
    sendError(res, refusal);
    return true;
  }

  /** The same for a WebSocket upgrade: refused with its status and the JSON body. */
  refuseUpgrade(req: IncomingMessage, socket: Duplex): boolean {
    const refusal = refusalOf.get(req.socket);
    if (!refusal) return false;
    refuseUpgrade(socket, refusal);
    return true;
  }
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}
