/**
 * The newest messages of each room, kept in memory beside the store that wrote them, with their
 * JSON. Nearly every read of a busy room asks for messages after a recent cursor (a woken poll, a
 * poller one batch behind, a stream's gap fill): those are answered from here, without a query and
 * without serialising each row again. A room's entries are contiguous up to its newest seq, so an
 * answer from here is the answer the store would give; anything older goes to the store.
 *
 * Bounded twice: a number of messages per room, and a byte budget over all rooms (the rooms
 * appended to least recently are forgotten first).
 */
import type { FeedEvent, HistoryPage } from "./types.js";

interface Entry {
  event: FeedEvent;
  bytes: number;
}

interface RoomTail {
  entries: Entry[];
  bytes: number;
}

export class RecentMessages {
  /** Insertion order is recency of appends: eviction takes from the front. */
  readonly #rooms = new Map<string, RoomTail>();
  #bytes = 0;

  constructor(
    private readonly perRoom: number,
    private readonly budgetBytes: number,
  ) {}

  /** What the kept messages' JSON weighs, in UTF-8 bytes. */
  get bytes(): number {
    return this.#bytes;
  }

  /** A message just stored (the room's next seq), and the seq its room was pruned through (0 if not). */
  add(room: string, event: FeedEvent, prunedThrough: number): void {
    let tail = this.#rooms.get(room);
    if (tail) this.#rooms.delete(room);
    const last = tail?.entries.at(-1)?.event.message.seq;
    // Only a contiguous run up to the newest seq can stand in for the store.
    if (!tail || last !== event.message.seq - 1) {
      if (tail) this.#bytes -= tail.bytes;
      tail = { entries: [], bytes: 0 };
    }
    this.#rooms.set(room, tail);
    const bytes = Buffer.byteLength(event.json);
    tail.entries.push({ event, bytes });
    tail.bytes += bytes;
    this.#bytes += bytes;
    // Past the per-room count, and whatever the store pruned (never the message just added).
    let drop = Math.max(0, tail.entries.length - this.perRoom);
    while (drop < tail.entries.length - 1 && tail.entries[drop]!.event.message.seq <= prunedThrough) drop += 1;
    if (drop > 0) this.#cut(tail, drop);
    while (this.#bytes > this.budgetBytes && this.#rooms.size > 0) this.#forget(this.#rooms.keys().next().value!);
  }

  /**
   * Messages after `afterSeq`, as the store would page them (at most `limit`; stopping once their
   * JSON reaches maxBytes, with `truncated` when more were left), or undefined when this does not
   * hold all of them.
   */
  after(room: string, afterSeq: number, limit: number, maxBytes: number): HistoryPage | undefined {
    const entries = this.#rooms.get(room)?.entries;
    if (!entries || entries.length === 0) return undefined;
    const first = entries[0]!.event.message.seq;
    if (afterSeq + 1 < first) return undefined;
    const events: FeedEvent[] = [];
    let bytes = 0;
    for (let i = Math.max(0, afterSeq + 1 - first); i < entries.length && events.length < limit; i++) {
      if (events.length > 0 && bytes >= maxBytes) return { events, truncated: true };
      events.push(entries[i]!.event);
      bytes += entries[i]!.bytes;
    }
    return { events, truncated: false };
  }

  clear(): void {
    this.#rooms.clear();
    this.#bytes = 0;
  }

  #cut(tail: RoomTail, count: number): void {
    for (const entry of tail.entries.splice(0, count)) {
      tail.bytes -= entry.bytes;
      this.#bytes -= entry.bytes;
    }
  }

  #forget(room: string): void {
    const tail = this.#rooms.get(room);
    if (!tail) return;
    this.#rooms.delete(room);
    this.#bytes -= tail.bytes;
  }
}
