/** FeedBus for a single process: subscribers of a room are called synchronously, in order. */
import type { FeedBus, FeedEvent, FeedListener, FeedSubscription } from "./types.js";

/** In-process subscriptions take effect at once. */
const READY = Promise.resolve();

export class LocalFeedBus implements FeedBus {
  readonly #rooms = new Map<string, Set<FeedListener>>();

  publish(event: FeedEvent): void {
    const listeners = this.#rooms.get(event.message.room);
    if (!listeners) return;
    for (const listener of listeners) listener.message(event);
  }

  subscribe(room: string, listener: FeedListener): FeedSubscription {
    let listeners = this.#rooms.get(room);
    if (!listeners) this.#rooms.set(room, (listeners = new Set()));
    listeners.add(listener);
    return new LocalSubscription(this.#rooms, room, listeners, listener);
  }

  subscribers(room: string): number {
    return this.#rooms.get(room)?.size ?? 0;
  }

  async close(): Promise<void> {
    this.#rooms.clear();
  }
}

/** One listener on a room of the in-process bus; an object rather than a closure, since every open stream holds one. */
class LocalSubscription implements FeedSubscription {
  readonly ready = READY;

  constructor(
    private readonly rooms: Map<string, Set<FeedListener>>,
    private readonly room: string,
    private readonly listeners: Set<FeedListener>,
    private readonly listener: FeedListener,
  ) {}

  close(): void {
    this.listeners.delete(this.listener);
    if (this.listeners.size === 0 && this.rooms.get(this.room) === this.listeners) this.rooms.delete(this.room);
  }
}
