/**
 * The instructor's control API: only instructors may use it, bad parameters get a 400 with a
 * reason, and each fault does what it says to the transports it names — and nothing else.
 */
import { join } from "node:path";
import { WebSocket } from "ws";
import { describe, expect, test } from "vitest";
import { TRANSPORTS } from "../../../web/src/isomorphic/protocol/index.js";
import type { WirelabSupervisor } from "../../../server/WirelabSupervisor.js";
import { client, connected, startServer, startSupervisor, stopsAfterEach, tempDir, until } from "../../helpers.js";

const stops = stopsAfterEach();

const INSTRUCTOR_KEY = "class-key-for-tests";

async function classServer(): Promise<WirelabSupervisor> {
  // A class server: sessions are learners unless they bring the instructor key.
  const supervisor = await startSupervisor({ autoInstructor: false, instructorKey: INSTRUCTOR_KEY });
  stops.push(() => supervisor.close());
  return supervisor;
}

async function newSession(url: string, body: Record<string, unknown>) {
  const response = await fetch(`${url}/v1/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

function call(url: string, token: string, method: string, path: string, body?: unknown) {
  return fetch(`${url}/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));
}

describe("roles", () => {
  test("a workbench bound to loopback makes every session an instructor", async () => {
    const server = await startServer();
    stops.push(() => server.close());
    expect((await newSession(server.url, { name: "solo" })).body.user.role).toBe("instructor");
  });

  test("a class server makes learners, and instructors only with the key", async () => {
    const { url } = await classServer();
    expect((await newSession(url, { name: "learner" })).body.user.role).toBe("learner");
    expect((await newSession(url, { name: "teacher", instructorKey: INSTRUCTOR_KEY })).body.user.role).toBe("instructor");
    const wrong = await newSession(url, { name: "guess", instructorKey: "not-the-key" });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe("forbidden");
  });

  test("admin calls without the instructor role get 403 and change nothing", async () => {
    const supervisor = await classServer();
    const { url } = supervisor;
    const learner = (await newSession(url, { name: "learner" })).body.token;
    const watcher = client(supervisor, "websocket", learner);
    stops.push(() => watcher.close());
    await connected(watcher);
    const before = JSON.stringify(supervisor.network!.conditions());

    const attempts: Array<[string, string, unknown?]> = [
      ["GET", "/admin"],
      ["POST", "/admin/drop", { transport: "all" }],
      ["POST", "/admin/refuse", { seconds: 5 }],
      ["POST", "/admin/stall", { ms: 1000 }],
      ["POST", "/admin/restart", {}],
      ["GET", "/admin/network"],
      ["PUT", "/admin/network", { conditions: "offline" }],
      ["POST", "/admin/network/blackhole", { on: true }],
      ["POST", "/admin/network/drop", {}],
      ["DELETE", "/admin/network", {}],
      ["GET", "/admin/instances"],
      ["POST", "/admin/instances/x/kill", {}],
    ];
    for (const [method, path, body] of attempts) {
      const response = await call(url, learner, method, path, body);
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(response.body.error.code).toBe("forbidden");
    }
    expect(JSON.stringify(supervisor.network!.conditions())).toBe(before);
    expect(supervisor.restarts).toBe(0);
    expect(watcher.state).toBe("open");
    expect(watcher.stats.counters.reconnects).toBe(0);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});

describe("parameters", () => {
  test.each([
    ["POST", "/admin/drop", { transport: "carrier-pigeon" }, /transport: must be "all" or one of/],
    ["POST", "/admin/drop", {}, /transport/],
    ["POST", "/admin/refuse", { seconds: -1 }, /seconds: must be > 0/],
    ["POST", "/admin/refuse", { seconds: 9999 }, /seconds: must be at most 300/],
    ["POST", "/admin/stall", { ms: 1.5 }, /ms: must be an integer/],
    ["POST", "/admin/stall", { ms: 60_000 }, /ms: must be at most 30000/],
    ["POST", "/admin/restart", { downtimeMs: "soon" }, /downtimeMs/],
    ["PUT", "/admin/network", { conditions: { up: { latencyMs: -5 } } }, /up\.latencyMs must be >= 0/],
    ["PUT", "/admin/network", { conditions: "dial-up" }, /preset must be one of/],
    ["PUT", "/admin/network", { conditions: "slow-3g", transport: "morse" }, /transport: must be one of/],
    ["POST", "/admin/network/blackhole", { on: "yes" }, /on: must be true or false/],
    ["POST", "/admin/network/drop", { mode: "explode" }, /mode: must be one of reset, close/],
    ["POST", "/admin/drop", { transport: "all", extra: 1 }, /extra/],
  ])("%s %s %j → 400 with the reason", async (method, path, body, reason) => {
    const supervisor = await classServer();
    const teacher = (await newSession(supervisor.url, { name: "t", instructorKey: INSTRUCTOR_KEY })).body.token;
    const before = JSON.stringify(supervisor.network!.conditions());
    const response = await call(supervisor.url, teacher, method, path, body);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("invalid_body");
    expect(response.body.error.message).toMatch(reason);
    expect(JSON.stringify(supervisor.network!.conditions())).toBe(before);
  });
});

describe("faults", () => {
  test("dropping one transport's connections leaves the others untouched", async () => {
    const supervisor = await classServer();
    const teacher = (await newSession(supervisor.url, { name: "t", instructorKey: INSTRUCTOR_KEY })).body.token;
    const clients = TRANSPORTS.map((t) => client(supervisor, t, teacher, { backoff: { baseMs: 300, capMs: 300 } }));
    stops.push(() => clients.forEach((c) => c.close()));
    await Promise.all(clients.map(connected));
    const states: string[] = [];
    clients[2]!.on("state", (s) => states.push(s));

    const response = await call(supervisor.url, teacher, "POST", "/admin/drop", { transport: "sse" });
    expect(response.body.dropped).toEqual({ sse: 1 });
    await until(() => clients[2]!.stats.counters.reconnects === 1 && clients[2]!.state === "open", "the SSE client to come back");
    expect(states).toContain("reconnecting");
    for (const c of [clients[0]!, clients[1]!, clients[3]!]) expect(c.stats.counters.reconnects, c.transport).toBe(0);
  });

  test("refuse closes the door for new connections only, then opens it again", async () => {
    const supervisor = await classServer();
    const teacher = (await newSession(supervisor.url, { name: "t", instructorKey: INSTRUCTOR_KEY })).body.token;
    const open = client(supervisor, "websocket", teacher);
    stops.push(() => open.close());
    await connected(open);

    const response = await call(supervisor.url, teacher, "POST", "/admin/refuse", { seconds: 1 });
    expect(response.body.refusingUntil).toBeGreaterThan(Date.now());
    const refused = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`${supervisor.url.replace("http", "ws")}/v1/rooms/lobby/ws?token=${teacher}`);
      ws.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      ws.on("open", () => resolve("opened"));
    });
    expect(refused).toBe("ECONNREFUSED");
    // The open connection carries on.
    const ack = await open.send("still connected");
    expect(ack.seq).toBe(1);
    await until(() => supervisor.current.faults.status().refusingUntil === null, "the door to open", 5_000);
    const late = client(supervisor, "sse", teacher);
    stops.push(() => late.close());
    await connected(late);
  });

  test("stall blocks the event loop for at least the time asked", async () => {
    const supervisor = await classServer();
    const teacher = (await newSession(supervisor.url, { name: "t", instructorKey: INSTRUCTOR_KEY })).body.token;
    const response = await call(supervisor.url, teacher, "POST", "/admin/stall", { ms: 600 });
    expect(response.status).toBe(202);
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 100)); // the stall has begun
    expect((await fetch(`${supervisor.url}/healthz`)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
  });

  test("restart brings the server back with its history; every kind of client resumes without loss or duplicates", async () => {
    const { dir, cleanup } = tempDir();
    stops.push(cleanup);
    const supervisor = await startSupervisor({ dataFile: join(dir, "class.db") });
    stops.push(() => supervisor.close());
    const token = (await newSession(supervisor.url, { name: "t" })).body.token;
    const clients = TRANSPORTS.map((t) => client(supervisor, t, token));
    stops.push(() => clients.forEach((c) => c.close()));
    await Promise.all(clients.map(connected));
    for (let i = 1; i <= 5; i++) await clients[i % 4]!.send(`before ${i}`);
    await until(() => clients.every((c) => c.received.length === 5), "five before the restart");

    const response = await call(supervisor.url, token, "POST", "/admin/restart", { downtimeMs: 300 });
    expect(response.status).toBe(202);
    await until(() => supervisor.restarts === 1, "the restart", 15_000);
    await until(() => clients.every((c) => c.state === "open" && c.stats.counters.reconnects >= 1), "every client back", 15_000);

    for (let i = 6; i <= 10; i++) await clients[i % 4]!.send(`after ${i}`);
    await until(() => clients.every((c) => c.received.length === 10), "ten in all", 15_000);
    await new Promise((r) => setTimeout(r, 200));
    for (const c of clients) {
      expect(c.received.map((m) => m.seq), c.transport).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
    expect((await supervisor.current.feed.read("lobby", 0, 50)).messages).toHaveLength(10);
  });
});

describe("instances", () => {
  test("a workbench on its own lists itself and refuses to be killed: it has no other instance to fail over to", async () => {
    const server = await startServer();
    stops.push(() => server.close());
    const { token } = (await newSession(server.url, { name: "ms-lee" })).body;
    const listed = await call(server.url, token, "GET", "/admin/instances");
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ clustered: false, instances: [{ id: server.instance, url: server.url, pid: process.pid, self: true }] });
    const kill = await call(server.url, token, "POST", `/admin/instances/${server.instance}/kill`, {});
    expect(kill.status).toBe(409);
    expect(kill.body.error.message).toMatch(/only an instance of a cluster/);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe("network", () => {
  test("conditions set through the API apply to the emulator and read back", async () => {
    const supervisor = await classServer();
    const teacher = (await newSession(supervisor.url, { name: "t", instructorKey: INSTRUCTOR_KEY })).body.token;
    const set = await call(supervisor.url, teacher, "PUT", "/admin/network", { conditions: { preset: "slow-3g" }, transport: "long-poll" });
    expect(set.status).toBe(200);
    expect(set.body.conditions.preset).toBe("slow-3g");
    const read = await call(supervisor.url, teacher, "GET", "/admin/network");
    expect(read.body.url).toBe(supervisor.network!.url);
    expect(read.body.transports["long-poll"].preset).toBe("slow-3g");
    expect(read.body.default.preset).toBe("none");
    expect(Object.keys(read.body.presets)).toContain("flaky-wifi");
  });
});
