/**
 * Rate limits over real sockets: sends per session (WebSocket and HTTP), stream and WebSocket
 * opens per address, session creation per address, wrong instructor keys per address, and the
 * same limits shared by two instances on one Redis. A refused send is never stored and its sender
 * knows (its id is in the refusal); a kit client that sends too fast slows down and loses nothing.
 */
import { Redis } from "ioredis";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../../server/app.js";
import type { WirelabOptions } from "../../../server/config.js";
import { FeedHttp } from "../../../web/src/isomorphic/kit/index.js";
import type { Message, PollResponse } from "../../../web/src/isomorphic/protocol/index.js";
import { client, connected, session, startServer, stopsAfterEach, until } from "../../helpers.js";
import { deleteKeys, redisForTests, testPrefix } from "../../redis.js";

const stops = stopsAfterEach();

async function serverForTest(options: WirelabOptions): Promise<Wirelab> {
  const server = await startServer(options);
  stops.push(() => server.close());
  return server;
}

async function history(server: Wirelab, token: string, room: string): Promise<Message[]> {
  const response = await fetch(`${server.url}/v1/rooms/${room}/messages?since=0&limit=1000`, { headers: { authorization: `Bearer ${token}` } });
  return ((await response.json()) as PollResponse).messages;
}

function post(server: Wirelab, token: string, room: string, id: string) {
  return fetch(`${server.url}/v1/rooms/${room}/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ id, text: `message ${id}` }),
  });
}

function createSession(server: Wirelab, body: Record<string, unknown> = { name: "ada" }) {
  return fetch(`${server.url}/v1/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

describe("sends per session", () => {
  test("a flooding WebSocket gets rate_limited error frames, then close 1008; a client at a normal pace in the same room gets every message", async () => {
    const server = await serverForTest({ sendsPerSecond: 2, sendBurst: 2, wsRefusalsBeforeClose: 5, historyLimit: 100 });
    const limited: string[] = [];
    server.limits.onLimited((name) => limited.push(name));
    const room = "flood";
    const [ada, mallory] = await Promise.all([session(server, "ada"), session(server, "mallory")]);
    const normal = client(server, "websocket", ada.token, { room, history: 0 });
    stops.push(() => normal.close());
    await connected(normal);

    const normalAcks: number[] = [];
    for (let i = 1; i <= 3; i++) normalAcks.push((await normal.send(`ada ${i}`, { id: `ada-${i}` })).seq);

    const flood = new WebSocket(`${server.url.replace("http", "ws")}/v1/rooms/${room}/ws?token=${mallory.token}`);
    stops.push(() => flood.terminate());
    const frames: Array<Record<string, unknown>> = [];
    flood.on("message", (data) => frames.push(JSON.parse(data.toString())));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => flood.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    await new Promise((resolve) => flood.once("open", resolve));
    for (let i = 0; i < 300; i++) flood.send(JSON.stringify({ type: "send", id: `flood-${i}`, text: "x".repeat(100) }));
    const { code, reason } = await closed;
    expect(code).toBe(1008);
    expect(reason).toMatch(/rate/);

    const refusals = frames.filter((f) => f.type === "error");
    expect(refusals.length).toBeGreaterThanOrEqual(5);
    for (const refusal of refusals) {
      expect(refusal.code).toBe("rate_limited");
      expect(refusal.id).toMatch(/^flood-/);
      expect(refusal.retryAfterMs).toBeGreaterThan(0);
    }
    const floodAcks = frames.filter((f) => f.type === "ack").map((f) => f.seq as number);
    expect(floodAcks.length).toBeLessThanOrEqual(8);

    // The normal client sends on, at its pace; the kit waits out a refusal rather than losing a message.
    for (let i = 4; i <= 6; i++) normalAcks.push((await normal.send(`ada ${i}`, { id: `ada-${i}` })).seq);

    const acknowledged = [...normalAcks, ...floodAcks].sort((a, b) => a - b);
    await until(() => normal.received.length >= acknowledged.length, "every acknowledged message at the normal client");
    expect(normal.received.map((m) => m.seq)).toEqual(acknowledged);
    expect(normal.stats.counters.duplicates).toBe(0);

    // What the store holds is exactly what was acknowledged: no refused send was stored, and the
    // flood did not evict the room's history.
    const stored = await history(server, ada.token, room);
    expect(stored.map((m) => m.seq)).toEqual(acknowledged);
    const refusedIds = new Set(refusals.map((r) => r.id));
    expect(stored.some((m) => refusedIds.has(m.id))).toBe(false);
    expect(stored.filter((m) => m.id.startsWith("ada-"))).toHaveLength(6);
    expect(limited).toContain("send");
    expect(limited).toContain("websocket-flood");
  });

  test("an HTTP send flood gets 429 with Retry-After and the JSON body; a refused send is not stored", async () => {
    const server = await serverForTest({ sendsPerSecond: 2, sendBurst: 2 });
    const { token } = await session(server, "mallory");
    const responses = await Promise.all(Array.from({ length: 60 }, (_, i) => post(server, token, "http-flood", `h-${i}`)));
    const refused = responses.filter((r) => r.status === 429);
    const accepted = responses.filter((r) => r.status === 201);
    expect(refused.length).toBeGreaterThan(40);
    expect(accepted.length + refused.length).toBe(60);
    expect(refused[0]!.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    const body = (await refused[0]!.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("rate_limited");
    expect(body.error.message).toMatch(/\w/);

    const stored = await history(server, token, "http-flood");
    expect(stored).toHaveLength(accepted.length);
  });

  test.each(["websocket", "short-poll"] as const)("a %s kit client that sends too fast slows down and loses nothing", async (transport) => {
    const server = await serverForTest({ sendsPerSecond: 4, sendBurst: 2, wsRefusalsBeforeClose: 60 });
    const { token } = await session(server, "eager");
    const eager = client(server, transport, token, { room: "eager", history: 0 });
    stops.push(() => eager.close());
    await connected(eager);
    const acks = await Promise.all(Array.from({ length: 14 }, (_, i) => eager.send(`eager ${i}`, { id: `eager-${i}` })));
    expect(new Set(acks.map((a) => a.seq)).size).toBe(14);
    await until(() => eager.received.length === 14, "all fourteen back");
    expect(eager.stats.counters.reconnects).toBe(0);
    expect((await history(server, token, "eager")).map((m) => m.id).sort()).toEqual(acks.map((a) => a.id).sort());
  });
});

describe("per address", () => {
  test("stream and WebSocket opens are limited per address per minute (429 rate_limited)", async () => {
    const server = await serverForTest({ connectsPerMinute: 3 });
    const { token } = await session(server, "ada");
    for (let i = 0; i < 3; i++) {
      const controller = new AbortController();
      const sse = await fetch(`${server.url}/v1/rooms/lobby/events`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
      expect(sse.status).toBe(200);
      controller.abort();
    }
    const refused = await new Promise<{ status: number; body: string; retryAfter: string | undefined }>((resolve, reject) => {
      const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/rooms/lobby/ws?token=${token}`);
      ws.once("open", () => reject(new Error("the upgrade was accepted")));
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, retryAfter: res.headers["retry-after"] }));
      });
    });
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toMatch(/^[1-9]\d*$/);
    expect(JSON.parse(refused.body).error.code).toBe("rate_limited");
    const sse = await fetch(`${server.url}/v1/rooms/lobby/events`, { headers: { authorization: `Bearer ${token}` } });
    expect(sse.status).toBe(429);
  });

  test("session creation is limited per address", async () => {
    const server = await serverForTest({ sessionsPerMinute: 3 });
    for (let i = 0; i < 3; i++) expect((await createSession(server)).status).toBe(201);
    const refused = await createSession(server);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
  });

  test("wrong instructor keys: 403 until the limit, then 429 even with the right key", async () => {
    const instructorKey = "the-right-instructor-key";
    const server = await serverForTest({ autoInstructor: false, instructorKey, instructorKeyFailuresPerMinute: 3, sessionsPerMinute: 100 });
    for (let i = 0; i < 3; i++) expect((await createSession(server, { name: "eve", instructorKey: `guess-${i}-xxxxxxxx` })).status).toBe(403);
    const refused = await createSession(server, { name: "eve", instructorKey });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    // A session without a key (a learner) is still issued.
    expect((await createSession(server, { name: "learner" })).status).toBe(201);
  });
});

describe("on Redis", () => {
  let redisUrl: string;
  const prefix = testPrefix();
  beforeAll(async () => {
    redisUrl = (await redisForTests()).url;
  });
  afterAll(async () => {
    await deleteKeys(redisUrl, prefix);
    await (await redisForTests()).stop();
  });

  test("two instances on one Redis share the limits, under the configured prefix", async () => {
    const options = { redisUrl, redisPrefix: prefix, sessionsPerMinute: 3, instructorKeyFailuresPerMinute: 2, autoInstructor: false, instructorKey: "the-right-instructor-key" };
    const [a, b] = await Promise.all([serverForTest(options), serverForTest(options)]);
    expect((await createSession(a)).status).toBe(201);
    expect((await createSession(b)).status).toBe(201);
    expect((await createSession(a)).status).toBe(201);
    expect((await createSession(b)).status).toBe(429);
    expect((await createSession(a)).status).toBe(429);

    const redis = new Redis(redisUrl);
    try {
      const keys = await redis.keys(`${prefix}limits:*`);
      expect(keys.length).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  test("sends per session are counted across instances", async () => {
    const options = { redisUrl, redisPrefix: prefix, sendsPerSecond: 1, sendBurst: 1 };
    const [a, b] = await Promise.all([serverForTest(options), serverForTest(options)]);
    const { token } = await FeedHttp.createSession(a.url, "both");
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => post(i % 2 ? a : b, token, "shared-sends", `s-${i}`)));
    // One shared budget: 1 a second plus 1 of burst (3 if the flood straddles a second); two
    // instances counting on their own would accept at least 4.
    expect(responses.filter((r) => r.status === 201).length).toBeLessThanOrEqual(3);
    expect(responses.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(17);
  });
});
