import { EventSource } from "eventsource";
import { WebSocket } from "ws";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import type { Wirelab } from "../../server/app.js";
import { Workbench } from "../../web/src/measure/Workbench.js";
import { TRANSPORTS, startServer, until } from "../helpers.js";

let server: Wirelab;
const workbenches: Workbench[] = [];
beforeAll(async () => {
  server = await startServer();
});
afterEach(() => {
  for (const wb of workbenches.splice(0)) wb.stop();
});
afterAll(() => server.close());

async function join(room: string) {
  const wb = await Workbench.join(server.url, "ada", room, {
    tickMs: 100,
    clientOptions: { EventSource: EventSource as never, WebSocket: WebSocket as never, intervalMs: 50, waitMs: 5_000, backoff: { baseMs: 50, capMs: 200 } },
  });
  workbenches.push(wb);
  return wb;
}

test("joins with a session, opens all four transports and sees a message in each", async () => {
  const wb = await join("wb-lobby");
  expect(wb.user.name).toBe("ada");
  expect(wb.room).toBe("wb-lobby");
  await wb.start();
  await until(() => TRANSPORTS.every((t) => wb.monitors[t].state === "open"), "all open");
  for (const via of TRANSPORTS) await wb.send(via, `over ${via}`);
  await until(() => TRANSPORTS.every((t) => wb.monitors[t].feed.items.length === 4), "four messages everywhere");
  for (const t of TRANSPORTS) {
    expect(wb.monitors[t].feed.items.map((e) => e.text)).toEqual(TRANSPORTS.map((v) => `over ${v}`));
    expect(wb.monitors[t].latency.count).toBe(4);
  }
});

test("ticks sample every monitor and the server", async () => {
  const wb = await join("wb-ticks");
  let ticks = 0;
  wb.on("tick", () => ticks++);
  await wb.start();
  await until(() => ticks >= 3, "three ticks");
  for (const t of TRANSPORTS) {
    expect(wb.monitors[t].requestRateSeries.points.length).toBeGreaterThanOrEqual(3);
    expect(wb.server.since(t)).toBeDefined();
  }
  // Idle: the short poll keeps asking, the WebSocket made only its history request and its upgrade.
  await until(() => wb.monitors["short-poll"].counters.requests >= 5, "short poll to keep polling");
  expect(wb.monitors.websocket.counters.requests).toBe(2);
});

test("stop closes every client and stops ticking", async () => {
  const wb = await join("wb-stop");
  await wb.start();
  await until(() => TRANSPORTS.every((t) => wb.monitors[t].state === "open"), "all open");
  wb.stop();
  for (const t of TRANSPORTS) expect(wb.monitors[t].state).toBe("closed");
  let ticks = 0;
  wb.on("tick", () => ticks++);
  await new Promise((r) => setTimeout(r, 300));
  expect(ticks).toBe(0);
});

test("leaving before the start has finished connects nothing", async () => {
  const wb = await join("wb-early-stop");
  const starting = wb.start();
  wb.stop();
  await starting;
  for (const t of TRANSPORTS) {
    expect(["idle", "closed"]).toContain(wb.monitors[t].state);
    expect(wb.monitors[t].counters.requests).toBe(0);
  }
});
