/**
 * A bounded, append-only list that a view can hold still: while held, new items wait aside
 * (and are counted) instead of moving what the reader is looking at; release shows them.
 * `items` is a new array whenever what it shows changes, so views can compare by identity.
 */
export class HoldableLog<T> {
  #items: T[] = [];
  #waiting: T[] = [];
  #held = false;
  /** Items that fell off the front because the log was full. */
  dropped = 0;

  /** `capacity`: items kept (waiting ones too). Defaults to 200. */
  constructor(readonly capacity = 200) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError(`capacity must be a positive integer, got ${capacity}`);
  }

  /** What a view shows, oldest first. */
  get items(): readonly T[] {
    return this.#items;
  }

  get held(): boolean {
    return this.#held;
  }

  /** Items that arrived while held. */
  get waiting(): number {
    return this.#waiting.length;
  }

  add(item: T): void {
    if (this.#held) {
      this.#waiting.push(item);
      this.#waiting = this.#trim(this.#waiting);
    } else {
      this.#items = this.#trim([...this.#items, item]);
    }
  }

  hold(): void {
    this.#held = true;
  }

  release(): void {
    this.#held = false;
    if (this.#waiting.length > 0) this.#items = this.#trim([...this.#items, ...this.#waiting]);
    this.#waiting = [];
  }

  clear(): void {
    this.#items = [];
    this.#waiting = [];
    this.dropped = 0;
  }

  #trim(list: T[]): T[] {
    const over = list.length - this.capacity;
    if (over <= 0) return list;
    this.dropped += over;
    return list.slice(over);
  }
}
