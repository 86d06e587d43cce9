/** A stream that falls silent is noticed once; one that keeps talking never is. */
import { describe, expect, test } from "vitest";
import { watchSilence } from "../../web/src/isomorphic/kit/SilenceWatch.js";
import { until } from "../helpers.js";

describe("watchSilence", () => {
  test("silence longer than the bound is reported once, with how long it lasted", async () => {
    let now = 0;
    const dead: number[] = [];
    watchSilence(() => now, () => 1_000, (silentMs) => dead.push(silentMs));
    now = 900;
    await new Promise((r) => setTimeout(r, 120));
    expect(dead).toEqual([]);
    now = 1_500;
    await until(() => dead.length > 0, "the silence to be noticed");
    await new Promise((r) => setTimeout(r, 120));
    expect(dead).toEqual([1_500]);
  });

  test("seen() starts the silence again: it is measured from the last thing seen", async () => {
    let now = 0;
    const dead: number[] = [];
    const watch = watchSilence(() => now, () => 1_000, (silentMs) => dead.push(silentMs));
    now = 800;
    watch.seen();
    // 1,400 ms since the start but only 600 since seen(): several checks (every 250 ms) pass quietly.
    now = 1_400;
    await new Promise((r) => setTimeout(r, 600));
    expect(dead).toEqual([]);
    now = 2_000;
    await until(() => dead.length > 0, "the silence after seen() to be noticed");
    expect(dead).toEqual([1_200]);
  });

  test("stop() ends the watch", async () => {
    let now = 0;
    const dead: number[] = [];
    const watch = watchSilence(() => now, () => 1_000, (silentMs) => dead.push(silentMs));
    watch.stop();
    now = 10_000;
    await new Promise((r) => setTimeout(r, 350));
    expect(dead).toEqual([]);
  });

  test("no bound yet (no heartbeat announced): not watched until there is one", async () => {
    let now = 0;
    let bound: number | undefined;
    const dead: number[] = [];
    watchSilence(() => now, () => bound, (silentMs) => dead.push(silentMs));
    now = 60_000;
    await new Promise((r) => setTimeout(r, 150));
    expect(dead).toEqual([]);
    bound = 5_000;
    await until(() => dead.length === 1, "the bound to apply");
  });
});
