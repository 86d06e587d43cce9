import { describe, expect, test } from "vitest";
import { Emitter } from "../../web/src/isomorphic/kit/Emitter.js";
import { ChangeController } from "../../web/src/app/controllers/ChangeController.js";
import { FakeHost } from "./FakeHost.js";

class Model extends Emitter<{ [name: string]: (...args: never[]) => void; change: () => void; tick: () => void }> {
  fire(name: "change" | "tick" = "change") {
    this.emit(name);
  }
}

/** A scheduler the test runs by hand, standing in for requestAnimationFrame. */
function manualFrames() {
  const queue: Array<() => void> = [];
  return { schedule: (fn: () => void) => void queue.push(fn), flush: () => queue.splice(0).forEach((fn) => fn()), get pending() { return queue.length; } };
}

describe("ChangeController", () => {
  test("re-renders the host once per frame however many changes came", () => {
    const host = new FakeHost();
    const model = new Model();
    const frames = manualFrames();
    new ChangeController(host, () => model, "change", frames.schedule);
    host.connect();
    model.fire();
    model.fire();
    model.fire();
    expect(host.updates).toBe(0);
    expect(frames.pending).toBe(1);
    frames.flush();
    expect(host.updates).toBe(1);
    model.fire();
    frames.flush();
    expect(host.updates).toBe(2);
  });

  test("listens only while connected, and only to its event", () => {
    const host = new FakeHost();
    const model = new Model();
    const frames = manualFrames();
    new ChangeController(host, () => model, "tick", frames.schedule);
    model.fire("tick");
    expect(frames.pending).toBe(0);
    host.connect();
    model.fire("change");
    expect(frames.pending).toBe(0);
    model.fire("tick");
    expect(frames.pending).toBe(1);
    host.disconnect();
    frames.flush();
    expect(host.updates).toBe(0);
    model.fire("tick");
    expect(frames.pending).toBe(0);
  });

  test("follows the model when the host is given a new one", () => {
    const host = new FakeHost();
    const first = new Model();
    const second = new Model();
    let current: Model | undefined;
    const frames = manualFrames();
    new ChangeController(host, () => current, "change", frames.schedule);
    host.connect();
    current = first;
    host.update();
    first.fire();
    frames.flush();
    expect(host.updates).toBe(1);
    current = second;
    host.update();
    first.fire();
    expect(frames.pending).toBe(0);
    second.fire();
    frames.flush();
    expect(host.updates).toBe(2);
  });
});
