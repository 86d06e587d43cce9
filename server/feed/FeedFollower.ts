/**
 * Replay-then-live for streaming transports (SSE, WebSocket). It subscribes before reading
 * history, so nothing published during the replay is missed, and it delivers every seq once,
 * in order, filling any gap in the live stream from the store (a shared bus may reorder).
 */
import type { Feed } from "./Feed.js";
import { needsReset, resetCursor, toFeedEvent } from "./Feed.js";
import type { FeedEvent } from "./types.js";

export interface FollowSink {
  /** Called once, first: the cursor the stream starts from. */
  start(next: number): void;
  /** The cursor was behind the retained history (or ahead of the feed): replay starts at `oldest`. */
  reset(oldest: number): void;
  deliver(event: FeedEvent): void;
  /** Reading the store failed; the stream cannot continue in order. */
  fail(error: unknown): void;
}

export class FeedFollower {
  #cursor = 0;
  #catchingUp = true;
  #closed = false;
  #pending: FeedEvent[] = [];
  readonly #unsubscribe: () => void;

  constructor(
    private readonly feed: Feed,
    private readonly room: string,
    since: number | undefined,
    private readonly sink: FollowSink,
    private readonly pageSize: number,
  ) {
    this.#unsubscribe = feed.subscribe(room, (event) => this.#onLive(event));
    this.#begin(since).catch((error) => this.#fail(error));
  }

  get cursor(): number {
    return this.#cursor;
  }

  close(): void {
    this.#closed = true;
    this.#pending = [];
    this.#unsubscribe();
  }

  async #begin(since: number | undefined): Promise<void> {
    const bounds = await this.feed.store.bounds(this.room);
    if (this.#closed) return;
    if (since === undefined) {
      this.#cursor = bounds.latest;
      this.sink.start(this.#cursor);
    } else if (needsReset(since, bounds)) {
      this.sink.start(since);
      this.#cursor = resetCursor(bounds);
      this.sink.reset(bounds.oldest);
    } else {
      this.#cursor = since;
      this.sink.start(since);
    }
    await this.#catchUp();
  }

  #onLive(event: FeedEvent): void {
    if (this.#closed) return;
    if (this.#catchingUp) {
      this.#pending.push(event);
      return;
    }
    const seq = event.message.seq;
    if (seq <= this.#cursor) return;
    if (seq === this.#cursor + 1) {
      this.#cursor = seq;
      this.sink.deliver(event);
      return;
    }
    // A gap: something between cursor and seq was not seen live. Read it from the store.
    this.#pending.push(event);
    this.#catchingUp = true;
    this.#catchUp().catch((error) => this.#fail(error));
  }

  /** Page through the store from the cursor, then release what arrived live meanwhile. */
  async #catchUp(): Promise<void> {
    this.#catchingUp = true;
    for (;;) {
      const page = await this.feed.store.after(this.room, this.#cursor, this.pageSize);
      if (this.#closed) return;
      for (const message of page) {
        if (message.seq <= this.#cursor) continue;
        this.#cursor = message.seq;
        this.sink.deliver(toFeedEvent(message));
        if (this.#closed) return;
      }
      if (page.length < this.pageSize) break;
    }
    this.#catchingUp = false;
    const pending = this.#pending;
    this.#pending = [];
    pending.sort((a, b) => a.message.seq - b.message.seq);
    for (const event of pending) this.#onLive(event);
  }

  #fail(error: unknown): void {
    if (this.#closed) return;
    this.close();
    this.sink.fail(error);
  }
}
