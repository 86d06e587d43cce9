/** The smallest ReactiveControllerHost: enough to drive a controller's lifecycle in Node. */
import type { ReactiveController, ReactiveControllerHost } from "lit";

export class FakeHost implements ReactiveControllerHost {
  readonly controllers: ReactiveController[] = [];
  updates = 0;
  readonly updateComplete = Promise.resolve(true);

  addController(controller: ReactiveController): void {
    this.controllers.push(controller);
  }

  removeController(controller: ReactiveController): void {
    this.controllers.splice(this.controllers.indexOf(controller), 1);
  }

  requestUpdate(): void {
    this.updates += 1;
  }

  connect(): void {
    for (const c of this.controllers) c.hostConnected?.();
  }

  /** What LitElement does before each render. */
  update(): void {
    for (const c of this.controllers) c.hostUpdate?.();
  }

  disconnect(): void {
    for (const c of this.controllers) c.hostDisconnected?.();
  }
}
