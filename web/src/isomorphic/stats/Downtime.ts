/**
 * How long a connection is away from "open": from the moment it leaves "open" (once it has
 * been open at all) until it is open again. The lab engine, the benchmark's load workers and the
 * dashboard's reconnect marks all measure reconnects this way, so their figures mean the same.
 * Pure: the caller passes the time.
 */
export class Downtime {
  #everOpen = false;
  #leftAt: number | null = null;

  /** Has the connection been open at least once? */
  get everOpen(): boolean {
    return this.#everOpen;
  }

  /** When the current outage began, while the connection is away; null while open or before the first open. */
  get leftAt(): number | null {
    return this.#leftAt;
  }

  /**
   * The connection is not open at `at`. Returns true when this begins an outage; false before
   * the first open (connecting is not an outage) and while one is already running.
   */
  left(at: number): boolean {
    if (!this.#everOpen || this.#leftAt !== null) return false;
    this.#leftAt = at;
    return true;
  }

  /** The connection is open at `at`. Returns how long it was away when this ends an outage, else undefined. */
  opened(at: number): number | undefined {
    this.#everOpen = true;
    const leftAt = this.#leftAt;
    this.#leftAt = null;
    return leftAt === null ? undefined : Math.max(0, at - leftAt);
  }
}
