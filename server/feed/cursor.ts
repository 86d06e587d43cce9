/**
 * Cursor rules shared by every reader of the feed (polls, the follower of a stream): a client's
 * cursor is the last seq it has plus, when it knows one, the epoch of the room it read it from.
 */
import type { Message } from "../../web/src/isomorphic/protocol/index.js";
import type { FeedEvent, RoomBounds } from "./types.js";

export interface Cursor {
  /** The last seq the client has; undefined to start at the live edge (or with recent history). */
  since: number | undefined;
  /** The room epoch that seq belongs to; undefined for a client that sends none (older clients). */
  epoch?: string | undefined;
}

export function toFeedEvent(message: Message): FeedEvent {
  return { message, json: JSON.stringify(message) };
}

/**
 * A cursor needs a reset when the messages right after it are gone: pruned (older than the
 * retained history), never existed here (ahead of the feed), or from another run of the room's
 * seqs (its epoch differs: the room was wiped and maybe refilled past the cursor). An empty epoch
 * on either side is unknown and never compared.
 */
export function needsReset(cursor: { since: number; epoch?: string | undefined }, bounds: RoomBounds): boolean {
  const { since, epoch } = cursor;
  if (epoch && bounds.epoch && epoch !== bounds.epoch) return true;
  return since > bounds.latest || (bounds.latest > 0 && since < bounds.oldest - 1);
}

/** Where reading resumes after a reset: just before the oldest retained message. */
export function resetCursor(bounds: RoomBounds): number {
  return Math.max(bounds.oldest - 1, 0);
}
