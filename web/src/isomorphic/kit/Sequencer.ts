/**
 * Client-side ordering: hands out messages in seq order, each once. A message that arrives
 * ahead of a missing one is held and the gap reported, so the client can fill it from history.
 */
import type { Message } from "../protocol/index.js";

export interface Gap {
  /** The last seq delivered; the gap starts right after it. */
  after: number;
  /** The first seq held; the gap ends right before it. */
  before: number;
}

export type Offer = { kind: "duplicate" } | { kind: "ready"; messages: Message[] } | { kind: "held" };

export class Sequencer {
  #last: number | undefined;
  readonly #held = new Map<number, Message>();

  constructor(last?: number) {
    this.#last = last;
  }

  /** The last seq delivered in order (the resume cursor), or undefined before the first. */
  get last(): number | undefined {
    return this.#last;
  }

  /** Start (or restart, after a server reset) from a cursor: held messages at or before it are dropped. */
  resetTo(cursor: number): void {
    this.#last = cursor;
    for (const seq of this.#held.keys()) if (seq <= cursor) this.#held.delete(seq);
  }

  get gap(): Gap | null {
    if (this.#held.size === 0 || this.#last === undefined) return null;
    return { after: this.#last, before: Math.min(...this.#held.keys()) };
  }

  offer(message: Message): Offer {
    const { seq } = message;
    if (this.#last === undefined) this.#last = seq - 1;
    if (seq <= this.#last || this.#held.has(seq)) return { kind: "duplicate" };
    if (seq !== this.#last + 1) {
      this.#held.set(seq, message);
      return { kind: "held" };
    }
    const messages = [message];
    this.#last = seq;
    for (let next = this.#held.get(seq + 1); next; next = this.#held.get(this.#last + 1)) {
      this.#held.delete(next.seq);
      messages.push(next);
      this.#last = next.seq;
    }
    return { kind: "ready", messages };
  }
}
