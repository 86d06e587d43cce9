/**
 * Recent history pages, shared by the readers that ask for the same one. When a message wakes a
 * thousand parked long polls of one room, they all ask for (room, since, limit) with the same
 * cursor: the store is read once and the answer, and its JSON, are reused. A page is only reused
 * while the room's bounds are unchanged (the store is asked for them every time, so another
 * writer or a prune can never make a stale page be served).
 */
import type { PollResponse } from "../../web/src/protocol/index.js";
import type { Cursor } from "./cursor.js";
import type { RoomBounds } from "./types.js";

interface Entry {
  bounds: RoomBounds;
  page: PollResponse;
}

/** Pages kept per room, and rooms kept; the oldest go first. */
const PAGES_PER_ROOM = 16;
const ROOMS = 1_024;

export class PageCache {
  readonly #rooms = new Map<string, Map<string, Entry>>();
  readonly #json = new WeakMap<PollResponse, string>();

  get(room: string, cursor: Cursor, limit: number, bounds: RoomBounds): PollResponse | undefined {
    const entry = this.#rooms.get(room)?.get(keyOf(cursor, limit));
    if (!entry) return undefined;
    const same = entry.bounds.latest === bounds.latest && entry.bounds.oldest === bounds.oldest && entry.bounds.epoch === bounds.epoch;
    return same ? entry.page : undefined;
  }

  set(room: string, cursor: Cursor, limit: number, bounds: RoomBounds, page: PollResponse): void {
    let pages = this.#rooms.get(room);
    if (!pages) {
      if (this.#rooms.size >= ROOMS) this.#rooms.delete(this.#rooms.keys().next().value!);
      this.#rooms.set(room, (pages = new Map()));
    }
    const key = keyOf(cursor, limit);
    pages.delete(key);
    pages.set(key, { bounds: { ...bounds }, page });
    if (pages.size > PAGES_PER_ROOM) pages.delete(pages.keys().next().value!);
  }

  /** The page as JSON, serialised once however many readers send it. */
  json(page: PollResponse): string {
    let json = this.#json.get(page);
    if (json === undefined) this.#json.set(page, (json = JSON.stringify(page)));
    return json;
  }
}

/** The client's epoch is part of the question: the same seq of another epoch gets a reset. */
function keyOf(cursor: Cursor, limit: number): string {
  return `${cursor.since}:${limit}:${cursor.epoch ?? ""}`;
}
