/**
 * FeedBus over Redis pub/sub, one channel per room. An instance subscribes only to the rooms it
 * has local listeners for, decodes each message once and hands the same FeedEvent to every local
 * listener. Pub/sub is not trusted to be reliable: after the subscriber connection comes back,
 * every listener is told to resync from the shared history.
 */
import type { Redis } from "ioredis";
import type { Message } from "../../web/src/isomorphic/protocol/index.js";
import { closeConnection, roomKeys } from "./RedisFeedStore.js";
import type { FeedBus, FeedEvent, FeedListener, FeedSubscription } from "./types.js";

interface Room {
  readonly listeners: Set<FeedListener>;
  /** Resolves once Redis acknowledged the SUBSCRIBE for this room. */
  ready: Promise<void>;
}

export class RedisFeedBus implements FeedBus {
  readonly #rooms = new Map<string, Room>();
  /** channel → room, for incoming messages. */
  readonly #channels = new Map<string, string>();
  #lostConnection = false;

  /** `subscriber` is a connection of its own: a subscribed Redis connection takes no other commands. */
  constructor(
    private readonly subscriber: Redis,
    private readonly prefix: string,
    private readonly onError: (error: unknown, room: string) => void = () => {},
  ) {
    subscriber.on("message", (channel: string, json: string) => this.#deliver(channel, json));
    subscriber.on("close", () => {
      this.#lostConnection = true;
    });
    // ioredis subscribes again by itself on reconnect; what was published meanwhile is gone.
    subscriber.on("ready", () => {
      if (!this.#lostConnection) return;
      this.#lostConnection = false;
      for (const room of this.#rooms.values()) for (const listener of room.listeners) listener.resync();
    });
  }

  /** The store's append script publishes in the same atomic step that stores: nothing to do here. */
  publish(_event: FeedEvent): void {}

  subscribe(room: string, listener: FeedListener): FeedSubscription {
    let entry = this.#rooms.get(room);
    if (!entry) {
      const channel = roomKeys(this.prefix, room).channel;
      this.#channels.set(channel, room);
      const ready = this.subscriber.subscribe(channel).then(
        () => {},
        (error: unknown) => this.onError(error, room),
      );
      entry = { listeners: new Set(), ready };
      this.#rooms.set(room, entry);
    }
    const current = entry;
    current.listeners.add(listener);
    let open = true;
    return {
      ready: current.ready,
      close: () => {
        if (!open) return;
        open = false;
        current.listeners.delete(listener);
        if (current.listeners.size > 0 || this.#rooms.get(room) !== current) return;
        this.#rooms.delete(room);
        const channel = roomKeys(this.prefix, room).channel;
        this.#channels.delete(channel);
        // Commands on one connection run in order: a later SUBSCRIBE to this room still wins.
        this.subscriber.unsubscribe(channel).catch(() => {});
      },
    };
  }

  subscribers(room: string): number {
    return this.#rooms.get(room)?.listeners.size ?? 0;
  }

  #deliver(channel: string, json: string): void {
    const room = this.#channels.get(channel);
    const entry = room === undefined ? undefined : this.#rooms.get(room);
    if (!entry) return;
    // Decoded once per instance: every local listener gets this very object.
    const event: FeedEvent = { message: JSON.parse(json) as Message, json };
    for (const listener of entry.listeners) listener.message(event);
  }

  async close(): Promise<void> {
    this.#rooms.clear();
    this.#channels.clear();
    await closeConnection(this.subscriber);
  }

  /** Rooms this instance listens to, for stats. */
  get rooms(): number {
    return this.#rooms.size;
  }
}
