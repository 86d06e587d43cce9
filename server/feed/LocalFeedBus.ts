/** FeedBus for a single process: subscribers of a room are called synchronously, in order. */
import type { FeedBus, FeedEvent, FeedListener } from "./types.js";

export class LocalFeedBus implements FeedBus {
  readonly #rooms = new Map<string, Set<FeedListener>>();

  publish(event: FeedEvent): void {
    const listeners = this.#rooms.get(event.message.room);
    if (!listeners) return;
    for (const listener of listeners) listener(event);
  }

  subscribe(room: string, listener: FeedListener): () => void {
    let listeners = this.#rooms.get(room);
    if (!listeners) this.#rooms.set(room, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.#rooms.get(room) === listeners) this.#rooms.delete(room);
    };
  }

  async close(): Promise<void> {
    this.#rooms.clear();
  }
}
