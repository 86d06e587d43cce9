/**
 * Runs a wirelab instance, the network emulator in front of it, and restarts the instance in
 * place on demand: the port closes, clients see real disconnects and refused connections, and
 * a new instance comes up on the same port with the same store, secret and instructor key.
 * The emulator stays up across restarts, as a real network would.
 */
import type { Logger } from "pino";
import { resolveConfig, shareWithEmulator, type WirelabConfig, type WirelabOptions } from "./config.js";
import { startWirelab, type Wirelab } from "./app.js";
import { sleep } from "../web/src/isomorphic/kit/backoff.js";
import { createLogger } from "./logger.js";
import { sessionSecret } from "./sessionSecret.js";
import { NetworkEmulator } from "./netem/index.js";
import type { CloseReason } from "./transports/ConnectionRegistry.js";

export class WirelabSupervisor {
  #current: Wirelab;
  #restarting: Promise<void> | null = null;
  #network: NetworkEmulator | null = null;
  #restarts = 0;

  private constructor(
    first: Wirelab,
    private readonly config: WirelabConfig,
    private readonly logger: Logger,
  ) {
    this.#current = first;
  }

  static async start(options: WirelabOptions = {}, logger?: Logger): Promise<WirelabSupervisor> {
    // Resolve once: a restart must reuse the same secret (tokens stay valid) and instructor key.
    const resolved = resolveConfig(options);
    // Draw (or read) the secret once, so an in-place restart keeps tokens valid even for a
    // memory-only feed. With Redis each start reads the shared key, after the feed connects.
    const secured = resolved.redisUrl === null ? { ...resolved, secret: await sessionSecret(resolved) } : resolved;
    // The emulator shares the process's open files with the server: split the budget once.
    const shared = secured.networkPort !== null ? shareWithEmulator(secured) : null;
    const config = shared?.server ?? secured;
    const log = logger ?? createLogger(config.logLevel);
    let supervisor: WirelabSupervisor | undefined;
    const first = await startWirelab(config, log, {
      network: () => supervisor?.network ?? null,
      restart: (downtimeMs) => supervisor!.restart(downtimeMs),
    });
    supervisor = new WirelabSupervisor(first, { ...config, port: first.config.port }, log);
    if (config.networkPort !== null) {
      try {
        supervisor.#network = await NetworkEmulator.start({
          target: { host: config.host === "0.0.0.0" ? "127.0.0.1" : config.host, port: first.config.port },
          listen: { host: config.host, port: config.networkPort },
          ...(shared && { maxConnections: shared.emulatorMaxConnections }),
        });
      } catch (error) {
        await first.close();
        throw error;
      }
    }
    return supervisor;
  }

  get current(): Wirelab {
    return this.#current;
  }

  get url(): string {
    return this.#current.url;
  }

  get network(): NetworkEmulator | null {
    return this.#network;
  }

  get restarts(): number {
    return this.#restarts;
  }

  /** Stop the instance, keep the port closed for `downtimeMs`, then start a fresh one. */
  restart(downtimeMs = 1_000): Promise<void> {
    this.#restarting ??= (async () => {
      this.logger.info({ downtimeMs }, "restart: stopping");
      await this.#current.close("restart");
      await sleep(downtimeMs);
      this.#current = await startWirelab(this.config, this.logger, {
        network: () => this.#network,
        restart: (ms) => this.restart(ms),
      });
      this.#restarts += 1;
      this.logger.info({ url: this.#current.url, instance: this.#current.instance }, "restart: serving again");
    })().finally(() => {
      this.#restarting = null;
    });
    return this.#restarting;
  }

  /** Stop for good ("shutdown") or to come back ("restart": what SIGTERM means to a supervised service). */
  async close(reason: CloseReason = "shutdown"): Promise<void> {
    await this.#restarting?.catch(() => {});
    await this.#current.close(reason);
    await this.#network?.close();
  }
}
