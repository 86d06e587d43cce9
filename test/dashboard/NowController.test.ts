import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { NowController } from "../../web/src/app/controllers/NowController.js";
import { FakeHost } from "./FakeHost.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("NowController", () => {
  test("ticks while connected and re-renders its host each time", () => {
    let clock = 1_000;
    const host = new FakeHost();
    const now = new NowController(host, 1_000, () => clock);
    host.connect();
    clock = 2_000;
    vi.advanceTimersByTime(1_000);
    expect(host.updates).toBe(1);
    expect(now.now).toBe(2_000);
    clock = 3_000;
    vi.advanceTimersByTime(1_000);
    expect(host.updates).toBe(2);
    host.disconnect();
    vi.advanceTimersByTime(5_000);
    expect(host.updates).toBe(2);
  });

  test("every render reads a fresh time, whatever caused it", () => {
    let clock = 1_000;
    const host = new FakeHost();
    const now = new NowController(host, 1_000, () => clock);
    host.connect();
    clock = 1_450;
    host.update();
    expect(now.now).toBe(1_450);
    host.disconnect();
  });
});
