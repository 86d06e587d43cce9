/** A bounded series of (x, y) points for a chart: the oldest points fall off past `capacity`. */
export interface Point {
  x: number;
  y: number;
}

export class TimeSeries {
  readonly #points: Point[] = [];

  /** `capacity`: points kept. Defaults to 600 (ten minutes at one point a second). */
  constructor(readonly capacity = 600) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError(`capacity must be a positive integer, got ${capacity}`);
  }

  push(x: number, y: number): void {
    this.#points.push({ x, y });
    if (this.#points.length > this.capacity) this.#points.splice(0, this.#points.length - this.capacity);
  }

  get points(): readonly Point[] {
    return this.#points;
  }

  get last(): Point | undefined {
    return this.#points.at(-1);
  }

  clear(): void {
    this.#points.length = 0;
  }
}
