/**
 * An in-process TCP proxy that puts an emulated network between clients and a server: latency and
 * jitter, bandwidth, drops and black holes, per connection, changeable while running, and aimed at
 * one transport's connections or at all. Put it in front of the workbench's HTTP port and all four
 * transports cross the same network:
 *
 *   const emu = await NetworkEmulator.start({ target: { host: "127.0.0.1", port: wirelab.port } });
 *   emu.setConditions("slow-3g");                                   // everyone
 *   emu.setConditions({ preset: "offline" }, { transport: "sse" }); // SSE only
 *   fetch(`${emu.url}/v1/…`);
 */
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { isTransportName, type TransportName } from "../../web/src/isomorphic/protocol/index.js";
import type { ConnectionTransport } from "./classify.js";
import {
  DROP_MODES,
  parseConditions,
  resolveConditions,
  type DropMode,
  type NetworkConditions,
  type PresetName,
  type ResolvedConditions,
} from "./conditions.js";
import { EmulatedConnection, type ConnectionInfo } from "./EmulatedConnection.js";

export interface NetworkEmulatorOptions {
  /** The real server the proxy forwards to. Required. */
  target: { host: string; port: number };
  /** Where the proxy listens. Defaults to 127.0.0.1, port 0 (any free port). */
  listen?: { host?: string; port?: number };
  /** The conditions for every connection at start. Defaults to "none". */
  conditions?: NetworkConditions | PresetName;
  /** Source of randomness for jitter and random drops. Defaults to Math.random. */
  random?: () => number;
  /** Bytes one direction of a connection may hold in emulated flight before the proxy stops reading from the sender. Defaults to 4 MiB. */
  maxInFlightBytes?: number;
  /** How long a clean drop (FIN) waits for buffered bytes to be written before destroying the sockets. Defaults to 5000 ms. */
  closeTimeoutMs?: number;
  /**
   * Connections carried at once; one more is closed at accept (it holds two file descriptors per
   * connection, from the process's budget). Defaults to no cap.
   */
  maxConnections?: number;
}

export interface ConditionsSnapshot {
  /** What every connection gets unless its transport has its own. */
  default: ResolvedConditions;
  transports: Partial<Record<TransportName, ResolvedConditions>>;
  /** The black-hole switches of blackhole(): on for everyone, and on for these transports. */
  blackhole: { all: boolean; transports: TransportName[] };
}

export interface TargetSelector {
  /** Only connections that carry this transport. Defaults to all connections. */
  transport?: TransportName;
}

const DEFAULTS = {
  listen: { host: "127.0.0.1", port: 0 },
  conditions: "none" as NetworkConditions | PresetName,
  random: Math.random,
  maxInFlightBytes: 4 * 1024 * 1024,
  closeTimeoutMs: 5_000,
  maxConnections: Number.POSITIVE_INFINITY,
};

type Settings = Required<Omit<NetworkEmulatorOptions, "listen">> & { listen: { host: string; port: number } };

export class NetworkEmulator {
  readonly #options: Settings;
  readonly #server: Server;
  readonly #connections = new Map<number, EmulatedConnection>();
  #nextId = 1;
  #default: ResolvedConditions;
  readonly #overrides = new Map<TransportName, ResolvedConditions>();
  #blackholeAll = false;
  readonly #blackholed = new Set<TransportName>();

  /** Create, listen, and resolve once the proxy accepts connections. */
  static async start(options: NetworkEmulatorOptions): Promise<NetworkEmulator> {
    const emulator = new NetworkEmulator(options);
    await emulator.#listen();
    return emulator;
  }

  constructor(options: NetworkEmulatorOptions) {
    // Options left undefined keep their defaults (an admin API may pass every key).
    this.#options = {
      ...DEFAULTS,
      ...defined(options),
      target: options.target,
      listen: { ...DEFAULTS.listen, ...defined(options.listen ?? {}) },
    };
    const { target, maxInFlightBytes, closeTimeoutMs } = this.#options;
    if (!target || typeof target.host !== "string" || !Number.isInteger(target.port) || target.port <= 0 || target.port > 65535) {
      throw new TypeError("target must be { host, port } with a port from 1 to 65535");
    }
    if (!(maxInFlightBytes >= 1024)) throw new TypeError("maxInFlightBytes must be at least 1024");
    if (!(closeTimeoutMs >= 0)) throw new TypeError("closeTimeoutMs must be >= 0");
    const { maxConnections } = this.#options;
    if (!(maxConnections >= 1)) throw new TypeError("maxConnections must be at least 1");
    this.#default = resolveConditions(parseConditions(this.#options.conditions));
    this.#server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.#accept(socket));
    // Node closes a connection past the cap right after accept: it never reaches the server.
    if (Number.isFinite(maxConnections)) this.#server.maxConnections = maxConnections;
  }

  /** The port the proxy listens on; 0 before it listens. */
  get port(): number {
    return (this.#server.address() as AddressInfo | null)?.port ?? 0;
  }

  /** The proxy's base URL, to use where the server's own URL would be. */
  get url(): string {
    const host = this.#options.listen.host;
    return `http://${host.includes(":") ? `[${host}]` : host}:${this.port}`;
  }

  /**
   * Replace the conditions of everyone (the default) or of one transport's connections. Existing
   * connections change at once; bytes already in flight keep the timing they left with.
   * Throws a TypeError naming the field when `conditions` is not valid.
   */
  setConditions(conditions: NetworkConditions | PresetName, options: TargetSelector = {}): ResolvedConditions {
    const transport = checkTransport(options.transport);
    const resolved = resolveConditions(parseConditions(conditions));
    if (transport) this.#overrides.set(transport, resolved);
    else this.#default = resolved;
    this.#refresh(transport);
    return resolved;
  }

  /** Remove one transport's own conditions (it follows the default again), or, without a transport, reset everything to "none". */
  clearConditions(options: TargetSelector = {}): void {
    const transport = checkTransport(options.transport);
    if (transport) {
      this.#overrides.delete(transport);
    } else {
      this.#overrides.clear();
      this.#default = resolveConditions({ preset: "none" });
    }
    this.#refresh(transport);
  }

  conditions(): ConditionsSnapshot {
    return {
      default: structuredClone(this.#default),
      transports: Object.fromEntries([...this.#overrides].map(([t, c]) => [t, structuredClone(c)])),
      blackhole: { all: this.#blackholeAll, transports: [...this.#blackholed] },
    };
  }

  /** The live connections, oldest first. */
  connections(): ConnectionInfo[] {
    return [...this.#connections.values()].map((c) => c.info());
  }

  /** Drop the selected connections now; returns how many were dropped. */
  drop(options: TargetSelector & { mode?: DropMode } = {}): number {
    const transport = checkTransport(options.transport);
    const mode = options.mode ?? "reset";
    if (!(DROP_MODES as readonly string[]).includes(mode)) throw new TypeError(`mode must be one of ${DROP_MODES.join(", ")}`);
    let count = 0;
    for (const connection of this.#select(transport)) if (connection.drop(mode)) count += 1;
    return count;
  }

  /**
   * Switch the black hole on or off for one transport, or for everyone. Switching it off without a
   * transport lifts every switch (not a black hole that a connection's conditions ask for, such as
   * the "offline" preset). Returns how many live connections the switch covers.
   */
  blackhole(options: TargetSelector & { on: boolean }): number {
    const transport = checkTransport(options.transport);
    if (typeof options.on !== "boolean") throw new TypeError("on must be true or false");
    if (transport) {
      if (options.on) this.#blackholed.add(transport);
      else this.#blackholed.delete(transport);
    } else {
      this.#blackholeAll = options.on;
      if (!options.on) this.#blackholed.clear();
    }
    this.#refresh(transport);
    return this.#select(transport).length;
  }

  /** Stop listening and tear down every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const connection of this.#connections.values()) connection.destroy();
    await closed;
  }

  #listen(): Promise<void> {
    const { host, port } = this.#options.listen;
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
  }

  #accept(socket: Socket): void {
    const connection = new EmulatedConnection(this.#nextId++, socket, {
      target: this.#options.target,
      conditionsFor: (transport) => this.#conditionsFor(transport),
      blackholed: (transport) => this.#blackholeAll || (isTransportName(transport) && this.#blackholed.has(transport)),
      random: this.#options.random,
      maxInFlightBytes: this.#options.maxInFlightBytes,
      closeTimeoutMs: this.#options.closeTimeoutMs,
      closed: (c) => this.#connections.delete(c.id),
    });
    this.#connections.set(connection.id, connection);
  }

  #conditionsFor(transport: ConnectionTransport | null): ResolvedConditions {
    return (isTransportName(transport) && this.#overrides.get(transport)) || this.#default;
  }

  #select(transport: TransportName | undefined): EmulatedConnection[] {
    return [...this.#connections.values()].filter((c) => !c.closed && (!transport || c.transport === transport));
  }

  /** Tell the affected connections to re-read their conditions. A default change reaches everyone (some follow an override and keep it). */
  #refresh(transport: TransportName | undefined): void {
    for (const connection of this.#select(transport)) connection.refresh();
  }
}

function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkTransport(transport: unknown): TransportName | undefined {
  if (transport === undefined) return undefined;
  if (!isTransportName(transport)) throw new TypeError(`transport must be one of short-poll, long-poll, sse, websocket (got ${String(transport)})`);
  return transport;
}
