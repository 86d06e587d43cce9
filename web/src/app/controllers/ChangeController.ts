/**
 * Re-renders its host when a model object announces a change. The source is read through a
 * getter, so a component can receive its model as a property later or swap it; the controller
 * follows. Bursts of changes (a flood of messages) cost one render per frame, not one each.
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";

/** Anything with an Emitter-style `on(event, listener)` that returns an unsubscribe function. */
export interface ChangeSource {
  on(name: never, listener: () => void): () => void;
}

export type Scheduler = (callback: () => void) => void;

const nextFrame: Scheduler = (callback) => {
  if (typeof requestAnimationFrame === "function") requestAnimationFrame(() => callback());
  else setTimeout(callback, 16);
};

export class ChangeController implements ReactiveController {
  #subscribed: { source: ChangeSource; off: () => void } | undefined;
  #scheduled = false;
  #connected = false;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly source: () => ChangeSource | undefined,
    private readonly event = "change",
    private readonly schedule: Scheduler = nextFrame,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.#connected = true;
    this.#follow();
  }

  /** Runs before every render: picks up a model that was set or replaced since the last one. */
  hostUpdate(): void {
    this.#follow();
  }

  hostDisconnected(): void {
    this.#connected = false;
    this.#subscribed?.off();
    this.#subscribed = undefined;
  }

  #follow(): void {
    const source = this.#connected ? this.source() : undefined;
    if (source === this.#subscribed?.source) return;
    this.#subscribed?.off();
    this.#subscribed = source
      ? { source, off: (source.on as (name: string, listener: () => void) => () => void)(this.event, () => this.#changed()) }
      : undefined;
  }

  #changed(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.schedule(() => {
      this.#scheduled = false;
      if (this.#connected) this.host.requestUpdate();
    });
  }
}
