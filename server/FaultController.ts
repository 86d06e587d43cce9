/**
 * Server-side faults an instructor can cause on demand: cut connections, refuse new ones for a
 * while, stall the event loop, restart in place. Each models something real: a crashed load
 * balancer, a full accept queue, a long GC pause or a blocking call, a deploy.
 */
import type { Server } from "node:http";
import type { Logger } from "pino";
import { TRANSPORTS, type TransportName } from "../web/src/isomorphic/protocol/index.js";
import type { Transport } from "./transports/index.js";
import type { WirelabMetrics } from "./metrics/WirelabMetrics.js";

export interface FaultStatus {
  /** Epoch ms until which new connections are refused, or null. */
  refusingUntil: number | null;
}

export class FaultController {
  #refusingUntil: number | null = null;
  #relisten: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    private readonly deps: {
      server: Server;
      transports: Record<TransportName, Transport>;
      metrics: WirelabMetrics;
      listen: { port: number; host: string };
      logger: Logger;
      /** Restart the whole server in place; absent when nothing supervises this instance. */
      restart?: (downtimeMs: number) => Promise<void>;
    },
  ) {}

  /** The port actually bound (when the config asked for 0), for re-listening after a refuse. */
  listenOn(port: number): void {
    this.deps.listen.port = port;
  }

  status(): FaultStatus {
    return { refusingUntil: this.#refusingUntil };
  }

  /** Cut every open connection of one transport, or of all, as a network failure would. */
  drop(target: TransportName | "all"): Partial<Record<TransportName, number>> {
    const names = target === "all" ? TRANSPORTS : [target];
    const dropped = Object.fromEntries(names.map((name) => [name, this.deps.transports[name].dropAll()]));
    for (const name of names) this.deps.metrics.dropped(name, "fault", dropped[name]);
    this.deps.logger.info({ fault: "drop", dropped }, "connections dropped");
    return dropped;
  }

  /** Close the listening socket for `ms`: new connections are refused, open ones carry on. */
  refuse(ms: number): FaultStatus {
    const { server, listen, logger } = this.deps;
    clearTimeout(this.#relisten);
    if (server.listening) server.close();
    this.#refusingUntil = Date.now() + ms;
    this.#relisten = setTimeout(() => {
      this.#refusingUntil = null;
      if (this.#closed) return;
      server.listen(listen.port, listen.host);
      logger.info({ fault: "refuse" }, "accepting connections again");
    }, ms);
    logger.info({ fault: "refuse", ms }, "refusing new connections");
    return this.status();
  }

  /** Block the event loop for `ms`, as a long synchronous task would: nothing moves meanwhile. */
  stall(ms: number): void {
    this.deps.logger.info({ fault: "stall", ms }, "stalling the event loop");
    // After the current response has been written, so the caller hears that it worked.
    setTimeout(() => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        // busy wait: the stall is the point
      }
    }, 20);
  }

  get canRestart(): boolean {
    return this.deps.restart !== undefined;
  }

  restart(downtimeMs: number): void {
    const restart = this.deps.restart;
    if (!restart) throw new Error("this server instance is not supervised and cannot restart itself");
    this.deps.logger.info({ fault: "restart", downtimeMs }, "restarting in place");
    setTimeout(() => {
      restart(downtimeMs).catch((error: unknown) => this.deps.logger.error({ err: error }, "restart failed"));
    }, 20);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#relisten);
  }
}
