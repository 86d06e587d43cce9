/**
 * The seams of the feed: storage (FeedStore) and fan-out (FeedBus). The SQLite store and the
 * in-process bus fill them today; a Redis implementation can fill them without touching transports.
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

export type FeedListener = (event: FeedEvent) => void;

export interface FeedBus {
  /** Hand a stored message to every subscriber of its room (on every instance, for a shared bus). */
  publish(event: FeedEvent): void;
  /** Returns the function that unsubscribes. */
  subscribe(room: string, listener: FeedListener): () => void;
  close(): Promise<void>;
}
