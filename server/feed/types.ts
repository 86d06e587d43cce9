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
import type { Message, User } from "../../web/src/protocol/index.js";

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
  /** Up to `limit` messages with seq > afterSeq, ascending. */
  after(room: string, afterSeq: number, limit: number): Promise<Message[]>;
  /** The newest `limit` messages, ascending. */
  latest(room: string, limit: number): Promise<Message[]>;
  bounds(room: string): Promise<RoomBounds>;
  close(): Promise<void>;
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
  close(): Promise<void>;
}

/** A store and the bus that carries its appends: what the configuration chooses. */
export interface FeedBackend {
  readonly store: FeedStore;
  readonly bus: FeedBus;
  /** Whether the backend can store right now (false during a Redis outage). */
  readonly ready: boolean;
}
