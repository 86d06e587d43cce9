/** Gives its host a clock that ticks (and re-renders it) every `intervalMs` while it is connected. */
import type { ReactiveController, ReactiveControllerHost } from "lit";

export class NowController implements ReactiveController {
  #now: number;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly intervalMs = 1_000,
    private readonly clock: () => number = Date.now,
  ) {
    this.#now = clock();
    host.addController(this);
  }

  /** The time of the current render or the last tick (ms since the epoch). */
  get now(): number {
    return this.#now;
  }

  hostConnected(): void {
    this.#now = this.clock();
    this.#timer ??= setInterval(() => {
      this.#now = this.clock();
      this.host.requestUpdate();
    }, this.intervalMs);
  }

  /** Every render (whatever caused it) reads a fresh time. */
  hostUpdate(): void {
    this.#now = this.clock();
  }

  hostDisconnected(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
