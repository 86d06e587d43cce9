/**
 * The one chat feed every transport reads. It orders (via the store), fans out (via the bus)
 * and answers history queries; transports only translate it to their wire format.
 */
import { ERROR_CODES, type PollResponse, type SendRequest, type User } from "../../web/src/isomorphic/protocol/index.js";
import { WirelabError } from "../errors.js";
import { needsReset, resetCursor, toFeedEvent, type Cursor } from "./cursor.js";
import { FeedFollower, type FollowSink } from "./FeedFollower.js";
import { PageCache } from "./PageCache.js";
import type { AppendResult, FeedBackend, FeedEvent, FeedListener, FeedSubscription, HistoryPage, RoomBounds } from "./types.js";

export interface FeedOptions {
  /** Messages sent per page when replaying history to a stream. Defaults to 500. */
  replayPageSize?: number;
  /** Budget of the shared page cache in bytes (see PageCache). Defaults to 32 MiB. */
  pageCacheBytes?: number;
  /** A page (poll answer or replay page) stops adding messages once their JSON reaches this. Defaults to 1 MiB. */
  maxPageBytes?: number;
  clock?: () => number;
}

const NOTHING: HistoryPage = { events: [], truncated: false };

export class Feed {
  readonly #pages: PageCache;
  readonly #replayPageSize: number;
  readonly #maxPageBytes: number;
  readonly #clock: () => number;
  /** Sends being stored right now: close() lets them finish, so an acknowledged send is never cut off. */
  readonly #storing = new Set<Promise<unknown>>();

  constructor(
    private readonly backend: FeedBackend,
    options: FeedOptions = {},
  ) {
    this.#replayPageSize = options.replayPageSize ?? 500;
    this.#maxPageBytes = options.maxPageBytes ?? 1024 * 1024;
    this.#pages = new PageCache(options.pageCacheBytes ?? 32 * 1024 * 1024);
    this.#clock = options.clock ?? Date.now;
  }

  /** What the shared page cache holds now, in its own measure (at most its budget). */
  get pageCacheBytes(): number {
    return this.#pages.bytes;
  }

  /** Whether messages can be stored right now (false while the shared store is unreachable). */
  get ready(): boolean {
    return this.backend.ready;
  }

  /**
   * Store a message, then fan it out. Resolves once it is stored — that is the acknowledgement;
   * fan-out is repaired by readers from the history. While the store is unreachable the send is
   * refused with 503 rather than accepted and lost.
   */
  async publish(room: string, from: User, input: SendRequest): Promise<AppendResult> {
    if (!this.backend.ready) throw unavailable();
    const draft = { id: input.id, from, text: input.text, ...(input.sentAt !== undefined && { sentAt: input.sentAt }) };
    let result: AppendResult;
    const storing = this.backend.store.append(room, draft, this.#clock());
    this.#storing.add(storing);
    try {
      result = await storing;
    } catch (error) {
      if (!this.backend.ready) throw unavailable();
      throw error;
    } finally {
      this.#storing.delete(storing);
    }
    if (result.created) this.backend.bus.publish(result.json ? { message: result.message, json: result.json } : toFeedEvent(result.message));
    return result;
  }

  bounds(room: string): Promise<RoomBounds> {
    return this.backend.store.bounds(room);
  }

  /**
   * One page of history: after `since` (of `epoch`, when the client knows it), or the latest
   * `limit` when no cursor is given; either stops at the byte budget (`more` says a page after
   * `since` was cut there). Readers that ask for the same page of an unchanged room share one
   * answer: treat it as read-only.
   */
  async read(room: string, since: number | undefined, limit: number, epoch?: string): Promise<PollResponse> {
    const { store } = this.backend;
    const bounds = await store.bounds(room);
    const cursor: Cursor = { since, epoch };
    if (since === undefined) {
      const { events } = limit > 0 ? await store.latest(room, limit, this.#maxPageBytes) : NOTHING;
      return this.#page(events, { next: bounds.latest, oldest: bounds.oldest, ...epochOf(bounds) }).page;
    }
    const cached = this.#pages.get(room, cursor, limit, bounds);
    if (cached) return cached;
    const reset = needsReset({ since, epoch }, bounds);
    const from = reset ? resetCursor(bounds) : since;
    const { events, truncated } = limit > 0 ? await store.after(room, from, limit, this.#maxPageBytes) : NOTHING;
    const next = events.at(-1)?.message.seq ?? from;
    const { page, json } = this.#page(events, {
      next,
      oldest: bounds.oldest,
      ...epochOf(bounds),
      ...(reset && { reset: true as const }),
      ...(truncated && { more: true as const }),
    });
    this.#pages.set(room, cursor, limit, bounds, page, json);
    return page;
  }

  /** A page and its JSON, made of the messages' JSON from the store: nothing is serialised twice. */
  #page(events: FeedEvent[], rest: Omit<PollResponse, "messages">): { page: PollResponse; json: string } {
    const page: PollResponse = { messages: events.map((e) => e.message), ...rest };
    // The same text JSON.stringify(page) gives: "messages" first, then the rest in order.
    const json = `{"messages":[${events.map((e) => e.json).join(",")}],${JSON.stringify(rest).slice(1)}`;
    this.#pages.remember(page, json);
    return { page, json };
  }

  /** A page from read() as JSON, serialised once for every reader that sends it. */
  pageJson(page: PollResponse): string {
    return this.#pages.json(page);
  }

  subscribe(room: string, listener: FeedListener): FeedSubscription {
    return this.backend.bus.subscribe(room, listener);
  }

  /** Listeners on the room's bus in this instance (null when the bus does not say). */
  subscribers(room: string): number | null {
    return this.backend.bus.subscribers?.(room) ?? null;
  }

  /** Replay from `since` (or start live when undefined), then follow live, in order, each seq once. */
  follow(room: string, since: number | undefined, sink: FollowSink, epoch?: string): FeedFollower {
    return new FeedFollower(this.backend.store, this.backend.bus, room, { since, epoch }, sink, this.#replayPageSize, this.#maxPageBytes);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#storing]);
    await this.backend.bus.close();
    await this.backend.store.close();
  }
}

/** Every store names an epoch; the field is left out rather than sent empty if one ever does not. */
function epochOf(bounds: RoomBounds): { epoch?: string } {
  return bounds.epoch ? { epoch: bounds.epoch } : {};
}

function unavailable(): WirelabError {
  return new WirelabError(503, ERROR_CODES.unavailable, "the feed's store is unreachable: nothing was stored, send again later");
}
