/**
 * One direction of an emulated connection: bytes read from `source` reach `destination` after the
 * link's bandwidth and latency allow, in the order they were read.
 *
 * Two stages, like a real link. The transmitter sends at most `bandwidthBytesPerSec` (pacing in small
 * slices, reading the rate when each slice leaves, so a new rate applies at once); each slice then
 * travels `latencyMs ± jitterMs` and is due at max(its own arrival, the previous slice's arrival) —
 * jitter stretches gaps but never reorders, as TCP's in-order delivery would. A FIN or RST from the
 * source travels behind the data the same way.
 *
 * Backpressure: the source is paused while the destination's write buffer is full (until 'drain')
 * and while the bytes held here exceed their limits — so a slow or silent path pushes back on the
 * real sender instead of growing this process's memory. A black-holed link keeps reading up to that
 * limit, as a real network accepts bytes until the window fills: the connection's next request must
 * be seen to be classified, or a keep-alive connection last used by a black-holed transport would
 * never let another transport's request through.
 */
import { performance } from "node:perf_hooks";
import type { Socket } from "node:net";
import type { DirectionConditions } from "./conditions.js";

export type LinkItem = { kind: "data"; chunk: Buffer } | { kind: "end" } | { kind: "reset" };

export interface LinkHooks {
  /** The conditions this direction has now (they may change at any time). */
  conditions(): DirectionConditions;
  /** True while the connection is black-holed: nothing moves and nothing is lost. */
  held(): boolean;
  /** A number in [0, 1), for jitter. */
  random(): number;
  /** Called after bytes were handed to the destination. */
  delivered(bytes: number): void;
}

export interface LinkOptions {
  /** Bytes that may be in emulated flight (sent, not yet due) before the source is paused. */
  maxInFlightBytes: number;
}

interface InFlight {
  item: LinkItem;
  due: number;
}

/** The transmitter may catch up this much time after a late timer: a token bucket of this depth. */
const BURST_MS = 50;
/** Slices are small enough to pace smoothly (~20 ms of data), large enough not to flood timers. */
const SLICE_MS = 20;
const MIN_SLICE = 512;
const MAX_SLICE = 16 * 1024;
/** Waiting for the transmitter: at most this much time's worth, so a rate change is felt soon. */
const BACKLOG_MS = 250;
const MIN_BACKLOG = 16 * 1024;

export class Link {
  readonly #backlog: LinkItem[] = [];
  #backlogBytes = 0;
  readonly #flight: InFlight[] = [];
  #flightBytes = 0;
  /** When the transmitter has finished sending what it took so far (performance.now() ms). */
  #freeAt = 0;
  /** When the last item in flight is due: later items are never due before it. */
  #lastDue = 0;
  #timer: NodeJS.Timeout | undefined;
  #awaitingDrain = false;
  #sourcePaused = false;
  /** Set once a FIN or RST was delivered, or the link was discarded: nothing more passes. */
  #finished = false;

  constructor(
    private readonly source: Socket,
    private readonly destination: Socket,
    private readonly hooks: LinkHooks,
    private readonly options: LinkOptions,
  ) {}

  /** Bytes read from the source and not yet handed to the destination. */
  get heldBytes(): number {
    return this.#backlogBytes + this.#flightBytes;
  }

  get finished(): boolean {
    return this.#finished;
  }

  push(item: LinkItem): void {
    if (this.#finished) return;
    this.#backlog.push(item);
    if (item.kind === "data") this.#backlogBytes += item.chunk.length;
    this.pump();
  }

  /** Move what may move now, and plan the next step. Call again whenever the conditions change. */
  pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#finished) return;
    if (!this.hooks.held()) {
      const now = performance.now();
      const nextSend = this.#transmit(now);
      this.#deliver();
      const nextDue = this.#awaitingDrain ? undefined : this.#flight[0]?.due;
      const next = Math.min(nextSend ?? Infinity, nextDue ?? Infinity);
      // Timers may fire a little early; #transmit and #deliver check the clock and wait again if so.
      if (next !== Infinity) this.#timer = setTimeout(() => this.pump(), Math.max(1, Math.ceil(next - performance.now())));
    }
    this.#updateSource();
  }

  /** Forget everything held; the connection is being dropped. */
  discard(): void {
    clearTimeout(this.#timer);
    this.#finished = true;
    this.#backlog.length = 0;
    this.#flight.length = 0;
    this.#backlogBytes = this.#flightBytes = 0;
  }

  /** Hand items to the transmitter's output as the rate allows; returns when it can send again, if it must wait. */
  #transmit(now: number): number | undefined {
    const { bandwidthBytesPerSec: rate } = this.hooks.conditions();
    while (this.#backlog.length > 0) {
      const item = this.#backlog[0]!;
      if (item.kind !== "data" || rate === null) {
        this.#backlog.shift();
        if (item.kind === "data") this.#backlogBytes -= item.chunk.length;
        this.#send(item, Math.max(now, this.#freeAt));
        continue;
      }
      const start = Math.max(this.#freeAt, now - BURST_MS);
      if (start > now) return start;
      const slice = Math.min(item.chunk.length, Math.max(MIN_SLICE, Math.min(MAX_SLICE, Math.round((rate * SLICE_MS) / 1000))));
      const piece = item.chunk.subarray(0, slice);
      if (slice === item.chunk.length) this.#backlog.shift();
      else item.chunk = item.chunk.subarray(slice);
      this.#backlogBytes -= slice;
      this.#freeAt = start + (slice * 1000) / rate;
      this.#send({ kind: "data", chunk: piece }, Math.max(now, this.#freeAt));
    }
    return undefined;
  }

  /** The item has left the transmitter at `sentAt`; it arrives one (jittered) latency later, never before its predecessor. */
  #send(item: LinkItem, sentAt: number): void {
    const { latencyMs, jitterMs } = this.hooks.conditions();
    const delay = Math.max(0, latencyMs + (this.hooks.random() * 2 - 1) * jitterMs);
    const due = Math.max(sentAt + delay, this.#lastDue);
    this.#lastDue = due;
    this.#flight.push({ item, due });
    if (item.kind === "data") this.#flightBytes += item.chunk.length;
  }

  #deliver(): void {
    const now = performance.now();
    while (!this.#awaitingDrain && !this.#finished && this.#flight.length > 0 && this.#flight[0]!.due <= now) {
      const { item } = this.#flight.shift()!;
      if (item.kind === "data") {
        this.#flightBytes -= item.chunk.length;
        this.#write(item.chunk);
      } else {
        this.#finished = true;
        if (this.destination.destroyed) break;
        if (item.kind === "end") this.destination.end();
        else this.destination.resetAndDestroy();
      }
    }
  }

  #write(chunk: Buffer): void {
    // A destination that is gone (reset, or ended by its own side) swallows the bytes, as the kernel would.
    if (this.destination.destroyed || this.destination.writableEnded) return;
    this.hooks.delivered(chunk.length);
    if (!this.destination.write(chunk)) {
      this.#awaitingDrain = true;
      this.destination.once("drain", () => {
        this.#awaitingDrain = false;
        this.pump();
      });
    }
  }

  #updateSource(): void {
    const rate = this.hooks.conditions().bandwidthBytesPerSec;
    const backlogLimit = rate === null ? MIN_BACKLOG : Math.max(MIN_BACKLOG, (rate * BACKLOG_MS) / 1000);
    const pause =
      !this.#finished &&
      (this.#awaitingDrain ||
        this.#backlogBytes >= backlogLimit ||
        this.#flightBytes >= this.options.maxInFlightBytes);
    if (pause === this.#sourcePaused || this.source.destroyed) return;
    this.#sourcePaused = pause;
    if (pause) this.source.pause();
    else this.source.resume();
  }
}
