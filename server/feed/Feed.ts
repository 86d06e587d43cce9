/**
 * The one chat feed every transport reads. It orders (via the store), fans out (via the bus)
 * and answers history queries; transports only translate it to their wire format.
 */
import type { Message, PollResponse, SendRequest, User } from "../../web/src/protocol/index.js";
import { FeedFollower, type FollowSink } from "./FeedFollower.js";
import { PageCache } from "./PageCache.js";
import type { AppendResult, FeedBus, FeedEvent, FeedListener, FeedStore, RoomBounds } from "./types.js";

export function toFeedEvent(message: Message): FeedEvent {
  return { message, json: JSON.stringify(message) };
}

/**
 * A cursor needs a reset when the messages right after it are gone: pruned (older than the
 * retained history) or never existed here (a cursor from a feed that has since been wiped).
 */
export function needsReset(since: number, bounds: RoomBounds): boolean {
  return since > bounds.latest || (bounds.latest > 0 && since < bounds.oldest - 1);
}

/** Where reading resumes after a reset: just before the oldest retained message. */
export function resetCursor(bounds: RoomBounds): number {
  return Math.max(bounds.oldest - 1, 0);
}

export class Feed {
  readonly #pages = new PageCache();

  constructor(
    readonly store: FeedStore,
    readonly bus: FeedBus,
    private readonly replayPageSize = 500,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Store a message, then fan it out. Resolves only once it is stored. */
  async publish(room: string, from: User, input: SendRequest): Promise<AppendResult> {
    const draft = { id: input.id, from, text: input.text, ...(input.sentAt !== undefined && { sentAt: input.sentAt }) };
    const result = await this.store.append(room, draft, this.clock());
    if (result.created) this.bus.publish(toFeedEvent(result.message));
    return result;
  }

  /**
   * One page of history: after `since`, or the latest `limit` when no cursor is given. Readers
   * that ask for the same page of an unchanged room share one answer: treat it as read-only.
   */
  async read(room: string, since: number | undefined, limit: number): Promise<PollResponse> {
    const bounds = await this.store.bounds(room);
    if (since === undefined) {
      const messages = limit > 0 ? await this.store.latest(room, limit) : [];
      return { messages, next: bounds.latest, oldest: bounds.oldest };
    }
    const cached = this.#pages.get(room, since, limit, bounds);
    if (cached) return cached;
    const reset = needsReset(since, bounds);
    const from = reset ? resetCursor(bounds) : since;
    const messages = limit > 0 ? await this.store.after(room, from, limit) : [];
    const next = messages.at(-1)?.seq ?? from;
    const page: PollResponse = reset ? { messages, next, oldest: bounds.oldest, reset: true } : { messages, next, oldest: bounds.oldest };
    this.#pages.set(room, since, limit, bounds, page);
    return page;
  }

  /** A page from read() as JSON, serialised once for every reader that sends it. */
  pageJson(page: PollResponse): string {
    return this.#pages.json(page);
  }

  subscribe(room: string, listener: FeedListener): () => void {
    return this.bus.subscribe(room, listener);
  }

  /** Replay from `since` (or start live when undefined), then follow live, in order, each seq once. */
  follow(room: string, since: number | undefined, sink: FollowSink): FeedFollower {
    return new FeedFollower(this, room, since, sink, this.replayPageSize);
  }

  async close(): Promise<void> {
    await this.bus.close();
    await this.store.close();
  }
}
