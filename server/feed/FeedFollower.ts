/**
 * Replay-then-live for streaming transports (SSE, WebSocket). It reads history only once its
 * subscription is in effect, so nothing stored after that read is missed, and it delivers every
 * seq once, in order, filling any gap in the live stream from the store (a shared bus may lose or
 * reorder; a bus that reconnected asks for a resync, which reads the store again).
 *
 * Backpressure: a sink whose output is full says so by returning false from deliver(). The
 * follower then stops (live messages are in the store; nothing is queued for a slow reader) until
 * the sink calls resume(), and reads on from its cursor — with a reset first if the history was
 * pruned past it meanwhile.
 */
import { needsReset, resetCursor, type Cursor } from "./cursor.js";
import type { FeedBus, FeedEvent, FeedListener, FeedStore, FeedSubscription } from "./types.js";

export interface FollowSink {
  /** Called once, first: the cursor the stream starts from and the room's epoch. */
  start(next: number, epoch: string): void;
  /** The cursor was behind the retained history (or ahead of the feed, or of another epoch): replay starts at `oldest`. */
  reset(oldest: number): void;
  /** false: the sink's output is full; deliver nothing more until it calls the follower's resume(). */
  deliver(event: FeedEvent): boolean | void;
  /** Reading the store failed; the stream cannot continue in order. */
  fail(error: unknown): void;
}

/** The follower is its own bus listener: a stream holds no listener object and closures besides it. */
export class FeedFollower implements FeedListener {
  #cursor = 0;
  #catchingUp = true;
  /** A resync arrived while catching up: read once more before going live. */
  #again = false;
  #closed = false;
  /** The sink is full: nothing is delivered (nor kept) until resume(). Never true while catching up. */
  #paused = false;
  #pending: FeedEvent[] = [];
  readonly #subscription: FeedSubscription;

  constructor(
    private readonly store: FeedStore,
    bus: FeedBus,
    private readonly room: string,
    start: Cursor,
    private readonly sink: FollowSink,
    private readonly pageSize: number,
    /** A replay page stops adding messages once their JSON reaches this (at least one). */
    private readonly maxPageBytes: number = Number.MAX_SAFE_INTEGER,
  ) {
    this.#subscription = bus.subscribe(room, this);
    this.#begin(start).catch((error) => this.#fail(error));
  }

  get cursor(): number {
    return this.#cursor;
  }

  /** The bus hands over a live message (FeedListener). */
  message(event: FeedEvent): void {
    this.#onLive(event);
  }

  /** The bus may have missed messages (FeedListener). */
  resync(): void {
    this.#resync();
  }

  /** The sink's output drained after a deliver() that returned false: read on from the cursor. */
  resume(): void {
    if (this.#closed || !this.#paused) return;
    this.#paused = false;
    this.#catchingUp = true;
    this.#catchUpFromPause().catch((error) => this.#fail(error));
  }

  close(): void {
    this.#closed = true;
    this.#pending = [];
    this.#subscription.close();
  }

  async #begin(start: Cursor): Promise<void> {
    // Until the bus carries this room to us, a read could miss what is stored right after it.
    await this.#subscription.ready;
    if (this.#closed) return;
    const bounds = await this.store.bounds(this.room);
    if (this.#closed) return;
    if (start.since === undefined) {
      this.#cursor = bounds.latest;
      this.sink.start(this.#cursor, bounds.epoch);
    } else if (needsReset({ since: start.since, epoch: start.epoch }, bounds)) {
      this.sink.start(start.since, bounds.epoch);
      this.#cursor = resetCursor(bounds);
      this.sink.reset(bounds.oldest);
    } else {
      this.#cursor = start.since;
      this.sink.start(start.since, bounds.epoch);
    }
    await this.#catchUp();
  }

  #onLive(event: FeedEvent): void {
    // Paused: the message is in the store, and resume() reads it from there.
    if (this.#closed || this.#paused) return;
    if (this.#catchingUp) {
      this.#pending.push(event);
      return;
    }
    const seq = event.message.seq;
    if (seq <= this.#cursor) return;
    if (seq === this.#cursor + 1) {
      this.#deliver(event);
      return;
    }
    // A gap: something between cursor and seq was not seen live. Read it from the store.
    this.#pending.push(event);
    this.#startCatchUp();
  }

  #resync(): void {
    // Paused: resume() reads the store anyway.
    if (this.#closed || this.#paused) return;
    if (this.#catchingUp) this.#again = true;
    else this.#startCatchUp();
  }

  #startCatchUp(): void {
    this.#catchingUp = true;
    this.#catchUp().catch((error) => this.#fail(error));
  }

  /** Page through the store from the cursor, then release what arrived live meanwhile. */
  async #catchUp(): Promise<void> {
    this.#catchingUp = true;
    do {
      this.#again = false;
      for (;;) {
        const page = await this.store.after(this.room, this.#cursor, this.pageSize, this.maxPageBytes);
        if (this.#closed) return;
        for (const event of page.events) {
          if (event.message.seq <= this.#cursor) continue;
          const more = this.#deliver(event);
          if (this.#closed) return;
          if (!more) {
            // What arrived live meanwhile is in the store too; resume() starts over from the cursor.
            this.#catchingUp = false;
            return;
          }
        }
        // A page short of pageSize is the end, unless the byte budget cut it.
        if (!page.truncated && page.events.length < this.pageSize) break;
      }
    } while (this.#again);
    this.#catchingUp = false;
    const pending = this.#pending;
    this.#pending = [];
    pending.sort((a, b) => a.message.seq - b.message.seq);
    for (const event of pending) this.#onLive(event);
  }

  /** Deliver the next message; false (and paused) when the sink is full. */
  #deliver(event: FeedEvent): boolean {
    this.#cursor = event.message.seq;
    if (this.sink.deliver(event) !== false) return true;
    this.#paused = true;
    this.#pending = [];
    return false;
  }

  /** After a pause the history may have been pruned past the cursor: say so, as a reconnect would. */
  async #catchUpFromPause(): Promise<void> {
    const bounds = await this.store.bounds(this.room);
    if (this.#closed) return;
    if (needsReset({ since: this.#cursor }, bounds)) {
      this.#cursor = resetCursor(bounds);
      this.sink.reset(bounds.oldest);
    }
    await this.#catchUp();
  }

  #fail(error: unknown): void {
    if (this.#closed) return;
    this.close();
    this.sink.fail(error);
  }
}
