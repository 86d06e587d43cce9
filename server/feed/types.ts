/**
 * The seams of the feed: storage (FeedStore) and fan-out (FeedBus). SQLite with an in-process bus
 * fills them for one instance; Redis fills both for a cluster. Transports see only the Feed.
 *
 * Delivery semantics (the same for every backend):
 * - A message is acknowledged once it is **stored**. Fan-out is best effort: a listener that misses
 *   one (a lost pub/sub message, a bus reconnect) repairs it from the shared history — the follower
 *   fills gaps, and a bus that may have lost messages tells its listeners to `resync`.
 * - A subscription takes effect when its `ready` promise resolves; only then may a reader read
 *   history and count on the bus for everything stored after that read.
 */
import type { Message, User } from "../../web/src/isomorphic/protocol/index.js";

export interface MessageDraft {
  id: string;
  from: User;
  text: string;
  sentAt?: number;
}

export interface AppendResult {
  message: Message;
  /** false when the (room, sender, id) was already stored: the original is returned. */
  created: boolean;
  /** The message's JSON, when the store has it at hand (saves serialising it again for fan-out). */
  json?: string;
}

/** Messages read from history, each with its JSON, and whether the byte budget cut the read short. */
export interface HistoryPage {
  events: FeedEvent[];
  /** Stopped at the byte budget, before `limit`, with more messages after the last one. */
  truncated: boolean;
}

export interface RoomBounds {
  /** Seq of the oldest retained message; 0 when the room holds none. */
  oldest: number;
  /** Seq of the newest message ever accepted; 0 for a new room. */
  latest: number;
  /**
   * Names this run of the room's seqs. A room whose history was wiped starts a new epoch, so a
   * cursor from the old one is detected instead of being read against the new seqs.
   */
  epoch: string;
}

export interface FeedStore {
  /** Store a message under the room's next seq, atomically; idempotent on (room, from.id, id). */
  append(room: string, draft: MessageDraft, ts: number): Promise<AppendResult>;
  /**
   * Up to `limit` messages with seq > afterSeq, ascending, stopping once their JSON reaches
   * `maxBytes` (UTF-8; at least one message), so a read never holds more than about that much.
   */
  after(room: string, afterSeq: number, limit: number, maxBytes: number): Promise<HistoryPage>;
  /** The newest `limit` messages, ascending; of those, only the newest whose JSON fits `maxBytes` (at least one). */
  latest(room: string, limit: number, maxBytes: number): Promise<HistoryPage>;
  /**
   * The room's bounds. A room is created when first used (it gets its epoch then); over the room
   * cap an unknown room is not created: it answers as empty, with no epoch ("").
   */
  bounds(room: string): Promise<RoomBounds>;
  close(): Promise<void>;
}

/** What bounds a store's size: rooms, and each room's history in messages and in bytes. */
export interface StoreLimits {
  /** Messages kept per room. */
  historyLimit: number;
  /** Bytes of message JSON kept per room (the newest message is always kept). */
  maxRoomHistoryBytes: number;
  /** Rooms the store holds; an append that would create one more is refused (507 too_many_rooms). */
  maxRooms: number;
}

/** A stored message and its JSON, serialised once and shared by every delivery. */
export interface FeedEvent {
  readonly message: Message;
  readonly json: string;
}

/** What a bus calls on a subscriber of a room. */
export interface FeedListener {
  /**
   * A stored message. Every local subscriber of the room gets the same FeedEvent object (decoded
   * once per instance), so per-event caches may key on its identity.
   */
  message(event: FeedEvent): void;
  /** The bus may have missed messages (it reconnected): read the history after your cursor again. */
  resync(): void;
}

export interface FeedSubscription {
  /** Resolves once the subscription is in effect: everything published from then on arrives. */
  readonly ready: Promise<void>;
  /** Stop listening; idempotent. */
  close(): void;
}

export interface FeedBus {
  /**
   * Hand a newly stored message to every subscriber of its room. A bus whose store announces
   * appends itself, in the same atomic step that stores them (Redis), has nothing to do here.
   */
  publish(event: FeedEvent): void;
  subscribe(room: string, listener: FeedListener): FeedSubscription;
  /** Listeners this instance has on a room right now (what each open stream or waiting room costs the bus). */
  subscribers?(room: string): number;
  close(): Promise<void>;
}

/** A store and the bus that carries its appends: what the configuration chooses. */
export interface FeedBackend {
  readonly store: FeedStore;
  readonly bus: FeedBus;
  /** Whether the backend can store right now (false during a Redis outage). */
  readonly ready: boolean;
}
