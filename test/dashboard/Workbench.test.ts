import { EventSource } from "eventsource";
import { WebSocket } from "ws";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../server/app.js";
import { FeedHttp, SessionKeeper } from "../../web/src/isomorphic/kit/index.js";
import { Workbench } from "../../web/src/viewmodels/Workbench.js";
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

const clientOptions = { EventSource: EventSource as never, WebSocket: WebSocket as never, intervalMs: 50, waitMs: 5_000, backoff: { baseMs: 50, capMs: 200 } };

async function join(room: string, on: { url: string } = server, options: { refreshAt?: number } = {}) {
  const wb = await Workbench.join(on.url, "ada", room, { tickMs: 100, clientOptions: { ...clientOptions, ...options } });
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

test("a tick still waiting for the server when the workbench stops emits nothing", async () => {
  const wb = await join("wb-stop-mid-tick");
  let ticks = 0;
  wb.on("tick", () => ticks++);
  const pending = wb.tick(); // its stats request is in flight
  wb.stop();
  await pending;
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

describe("after the session's first token expired (tokens live 15 minutes)", () => {
  let short: Wirelab;
  beforeAll(async () => {
    short = await startServer({ tokenTtlSeconds: 5 });
  });
  afterAll(() => short.close());

  test("a workbench built later (back from the labs, where no client ran) starts with the keeper's token: same user, stats and controls work", async () => {
    const first = await FeedHttp.createSession(short.url, "ada");
    const keeper = new SessionKeeper({ baseUrl: short.url, session: first, refreshAt: 0.5 });
    keeper.start();
    try {
      await until(() => Date.now() >= first.expiresAt, "the first token to expire");
      const wb = new Workbench({ baseUrl: short.url, session: keeper, room: "wb-later", tickMs: 100, clientOptions });
      workbenches.push(wb);
      expect(wb.keeper).toBe(keeper);
      await wb.start();
      expect(wb.server.error).toBeUndefined();
      expect(wb.server.latest).toBeDefined();
      expect(wb.controls!.status).not.toBeNull();
      expect(wb.controls!.message).toBeNull();
      await until(() => TRANSPORTS.every((t) => wb.monitors[t].state === "open"), "all open");
      await wb.send("websocket", "still me");
      await until(() => TRANSPORTS.every((t) => wb.monitors[t].feed.items.length === 1), "the message everywhere");
      expect(wb.monitors.sse.feed.items[0]!.from.id).toBe(first.user.id);
      // Nobody had to start a new session (a new user) to get going.
      for (const t of TRANSPORTS) expect(wb.monitors[t].client.stats.counters.tokenRenewals).toBe(0);
    } finally {
      keeper.stop();
    }
  }, 20_000);

  test("the tokens its clients refresh feed its keeper, which its stats and controls read", async () => {
    const wb = await join("wb-follow", short, { refreshAt: 0.5 });
    const first = wb.session;
    await wb.start();
    await until(() => Date.now() >= first.expiresAt, "the first token to expire");
    expect(wb.keeper.state).toBe("idle"); // not started here: it only followed the clients
    expect(wb.keeper.token).not.toBe(first.token);
    expect(wb.keeper.user).toEqual(first.user);
    expect(wb.session.token).toBe(wb.keeper.token);
    let ticks = 0;
    wb.on("tick", () => ticks++);
    await until(() => ticks >= 2, "two ticks after the first token expired");
    expect(wb.server.error).toBeUndefined();
    await wb.controls!.refresh();
    expect(wb.controls!.message).toBeNull();
  }, 20_000);
});

describe("on a class server (sessions are learners unless they bring the instructor key)", () => {
  const instructorKey = "the-class-instructor-key";
  let classServer: Wirelab;
  beforeAll(async () => {
    classServer = await startServer({ autoInstructor: false, instructorKey });
  });
  afterAll(() => classServer.close());

  const joinClass = async (options: { instructorKey?: string } = {}) => {
    const wb = await Workbench.join(classServer.url, "ms-lee", "wb-class", { tickMs: 100, clientOptions, ...options });
    workbenches.push(wb);
    return wb;
  };

  test("without the key: a learner, with no network & faults controls", async () => {
    const wb = await joinClass();
    expect(wb.user.role).toBe("learner");
    expect(wb.controls).toBeUndefined();
  });

  test("with the key: an instructor, with the controls", async () => {
    const wb = await joinClass({ instructorKey });
    expect(wb.user.role).toBe("instructor");
    expect(wb.controls).toBeDefined();
    await wb.controls!.refresh();
    expect(wb.controls!.message).toBeNull();
  });

  test("with a wrong key: the server's 403 reaches the caller", async () => {
    await expect(joinClass({ instructorKey: "not-the-class-key" })).rejects.toMatchObject({ status: 403, code: "forbidden", message: "the instructor key is not valid" });
  });
});
