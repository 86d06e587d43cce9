/** Orders between the instances of a cluster, over a Redis pub/sub channel of their own. */
import type { Redis } from "ioredis";
import type { ControlChannel, ControlOrder } from "./InstanceDirectory.js";

export class RedisControlChannel implements ControlChannel {
  readonly #listeners = new Set<(order: ControlOrder) => void>();
  readonly #channel: string;

  /** `subscriber` is a connection of its own; `publisher` any command connection. */
  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    prefix: string,
  ) {
    this.#channel = `${prefix}control`;
    subscriber.on("message", (channel: string, text: string) => {
      if (channel !== this.#channel) return;
      let order: ControlOrder;
      try {
        order = JSON.parse(text) as ControlOrder;
      } catch {
        return;
      }
      for (const listener of this.#listeners) listener(order);
    });
    subscriber.subscribe(this.#channel).catch(() => {});
  }

  async publish(order: ControlOrder): Promise<void> {
    await this.publisher.publish(this.#channel, JSON.stringify(order));
  }

  subscribe(listener: (order: ControlOrder) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
