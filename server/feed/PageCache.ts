/**
 * Recent history pages, shared by the readers that ask for the same one. When a message wakes a
 * thousand parked long polls of one room, they all ask for (room, since, limit) with the same
 * cursor: the store is read once and the answer, and its JSON, are reused. A page is only reused
 * while the room's bounds are unchanged (the store is asked for them every time, so another
 * writer or a prune can never make a stale page be served).
 *
 * The cache is bounded by bytes, not by page count: a page of 1,000 large messages weighs a
 * thousand times an empty one. Least recently used pages go first, whatever their room.
 */
import type { PollResponse } from "../../web/src/isomorphic/protocol/index.js";
import type { Cursor } from "./cursor.js";
import type { RoomBounds } from "./types.js";

interface Entry {
  bounds: RoomBounds;
  page: PollResponse;
  bytes: number;
}

/** Bookkeeping of one entry beside its page: the key, the entry and bounds objects, the map slot. */
const ENTRY_OVERHEAD_BYTES = 512;

/**
 * What a cached page holds on the heap, roughly: its JSON (UTF-8 length as a proxy for the
 * string) and the page's objects, about as large again, plus the entry itself.
 */
export function pageCost(json: string): number {
  return 2 * Buffer.byteLength(json) + ENTRY_OVERHEAD_BYTES;
}

export class PageCache {
  /** Insertion order is recency: a hit moves its entry to the end, eviction takes from the front. */
  readonly #entries = new Map<string, Entry>();
  readonly #json = new WeakMap<PollResponse, string>();
  #bytes = 0;

  constructor(private readonly budgetBytes: number) {}

  /** What the cached pages cost now (see pageCost); never more than the budget. */
  get bytes(): number {
    return this.#bytes;
  }

  get(room: string, cursor: Cursor, limit: number, bounds: RoomBounds): PollResponse | undefined {
    const key = keyOf(room, cursor, limit);
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const same = entry.bounds.latest === bounds.latest && entry.bounds.oldest === bounds.oldest && entry.bounds.epoch === bounds.epoch;
    if (!same) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.page;
  }

  /** Keep a page with its JSON (computed by the caller, which has it at hand). A page larger than the whole budget is not kept. */
  set(room: string, cursor: Cursor, limit: number, bounds: RoomBounds, page: PollResponse, json: string): void {
    this.remember(page, json);
    const key = keyOf(room, cursor, limit);
    this.#remove(key);
    const bytes = pageCost(json);
    if (bytes > this.budgetBytes) return;
    while (this.#bytes + bytes > this.budgetBytes) this.#remove(this.#entries.keys().next().value!);
    this.#entries.set(key, { bounds: { ...bounds }, page, bytes });
    this.#bytes += bytes;
  }

  /** The JSON of a page, cached or not, for json() to answer (held only as long as the page is). */
  remember(page: PollResponse, json: string): void {
    this.#json.set(page, json);
  }

  /** The page as JSON, serialised once however many readers send it. */
  json(page: PollResponse): string {
    let json = this.#json.get(page);
    if (json === undefined) this.#json.set(page, (json = JSON.stringify(page)));
    return json;
  }

  #remove(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }
}

/** The client's epoch is part of the question: the same seq of another epoch gets a reset. Room names hold no ":". */
function keyOf(room: string, cursor: Cursor, limit: number): string {
  return `${room}:${cursor.since}:${limit}:${cursor.epoch ?? ""}`;
}
