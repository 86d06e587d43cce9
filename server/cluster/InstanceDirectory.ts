/**
 * The instances of a cluster, as every instance sees them: each one lists itself in the shared
 * store (the presence store, under a key no room can have) with an expiry it renews, and listens
 * on the control channel for an instructor's order to die. The order is carried out with SIGKILL:
 * a real, unannounced process death, so the lesson is a failover, not a graceful close.
 */
import type { PresenceStore } from "../presence/PresenceTracker.js";

export interface InstanceInfo {
  id: string;
  url: string;
  pid: number;
  startedAt: number;
}

/** Orders between instances: Redis pub/sub in a cluster, this process alone otherwise. */
export interface ControlChannel {
  publish(order: ControlOrder): Promise<void>;
  /** Returns the function that stops listening. */
  subscribe(listener: (order: ControlOrder) => void): () => void;
}

export type ControlOrder = { kill: string };

/** Not a room name (rooms are a-z, 0-9 and -), so it never meets a room's keys. */
const DIRECTORY = "_instances";
const TTL_MS = 15_000;

export class InstanceDirectory {
  readonly #self: string;
  readonly #timer: NodeJS.Timeout;
  readonly #unsubscribe: () => void;

  constructor(
    readonly info: InstanceInfo,
    private readonly store: PresenceStore,
    private readonly control: ControlChannel,
    /** What a kill order does here. Defaults to SIGKILL of this process. */
    kill: () => void = () => process.kill(process.pid, "SIGKILL"),
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.#self = JSON.stringify(info);
    this.#renew();
    this.#timer = setInterval(() => this.#renew(), TTL_MS / 3);
    this.#timer.unref();
    this.#unsubscribe = control.subscribe((order) => {
      if (order.kill === info.id) kill();
    });
  }

  /** Every instance alive, oldest first. */
  async list(): Promise<InstanceInfo[]> {
    const members = await this.store.list(DIRECTORY, Date.now());
    return members.map((m) => JSON.parse(m) as InstanceInfo).sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
  }

  /** Tell an instance (maybe this one) to die. */
  order(order: ControlOrder): Promise<void> {
    return this.control.publish(order);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#unsubscribe();
    // A graceful close says goodbye; a killed instance just stops renewing.
    await this.store.remove(DIRECTORY, this.#self).catch(this.onError);
  }

  #renew(): void {
    this.store.put(DIRECTORY, [this.#self], Date.now() + TTL_MS).catch(this.onError);
  }
}

/** One process on its own: orders reach only its own listeners. */
export class LocalControlChannel implements ControlChannel {
  readonly #listeners = new Set<(order: ControlOrder) => void>();

  async publish(order: ControlOrder): Promise<void> {
    for (const listener of this.#listeners) listener(order);
  }

  subscribe(listener: (order: ControlOrder) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
