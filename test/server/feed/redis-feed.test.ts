/**
 * Two wirelab instances on one Redis: one feed. Clients of every transport spread over both see
 * one identical, gap-free sequence; concurrent sends through both get one order; a retry against
 * the other instance is deduplicated; a long poll that alternates instances on every request
 * misses nothing; and a Redis outage refuses sends (503) instead of losing them.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../../server/app.js";
import type { WirelabOptions } from "../../../server/config.js";
import { RedisFeedBus } from "../../../server/feed/RedisFeedBus.js";
import { RedisFeedStore } from "../../../server/feed/RedisFeedStore.js";
import type { FeedEvent } from "../../../server/feed/types.js";
import { FeedHttp, type FetchLike } from "../../../web/src/isomorphic/kit/index.js";
import { TRANSPORTS, type Message, type PresenceResponse } from "../../../web/src/isomorphic/protocol/index.js";
import { client, connected, session, startServer, stopsAfterEach, until } from "../../helpers.js";
import { RedisProcess, deleteKeys, redisForTests, testPrefix } from "../../redis.js";

let redisUrl: string;
const prefix = testPrefix();
const stops = stopsAfterEach();

beforeAll(async () => {
  redisUrl = (await redisForTests()).url;
});
afterAll(async () => {
  await deleteKeys(redisUrl, prefix);
  await (await redisForTests()).stop();
});

async function instance(url = redisUrl, options: WirelabOptions = {}): Promise<Wirelab> {
  const server = await startServer({ redisUrl: url, redisPrefix: prefix, ...options });
  stops.push(() => server.close());
  return server;
}

const seqs = (messages: Message[]) => messages.map((m) => m.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
let roomCounter = 0;
const freshRoom = () => `r${Date.now().toString(36)}-${roomCounter++}`;

describe("two instances on one Redis", () => {
  test("clients of all four transports spread over both instances see one identical, gap-free sequence", async () => {
    const [a, b] = await Promise.all([instance(), instance()]);
    expect(a.feedInfo.kind).toBe("redis");
    const room = freshRoom();
    const { token } = await session(a);
    const clients = TRANSPORTS.flatMap((t) => [client(a, t, token, { room }), client(b, t, token, { room })]);
    stops.push(() => clients.forEach((c) => c.close()));
    await Promise.all(clients.map(connected));
    for (const [i, c] of clients.entries()) expect(c.instance).toBe(i % 2 === 0 ? a.instance : b.instance);

    // Each client sends two: sixteen sends through both instances, over every transport.
    for (const c of clients) for (let i = 0; i < 2; i++) await c.send(`${c.transport}@${c.instance} ${i}`);
    await until(() => clients.every((c) => c.received.length === 16), "sixteen messages everywhere");
    const reference = clients[0]!.received.map((m) => `${m.seq}:${m.id}`);
    expect(seqs(clients[0]!.received)).toEqual(range(1, 16));
    for (const c of clients) {
      expect(c.received.map((m) => `${m.seq}:${m.id}`), `${c.transport} on ${c.instance}`).toEqual(reference);
      expect(c.stats.counters.duplicates).toBe(0);
    }
    // Either instance knows who is where: every transport, on both instances.
    const presence = (await (await fetch(`${b.url}/v1/rooms/${room}/presence`, { headers: { authorization: `Bearer ${token}` } })).json()) as PresenceResponse;
    expect(new Set(presence.members.map((m) => `${m.transport}@${m.instance}`))).toEqual(
      new Set(TRANSPORTS.flatMap((t) => [`${t}@${a.instance}`, `${t}@${b.instance}`])),
    );
  });

  test("1,000 messages sent concurrently through both instances arrive everywhere in one order, no gap", async () => {
    // One session sending 1,000 at once is a load test: past the send rate limit, which is off here.
    const [a, b] = await Promise.all([instance(redisUrl, { rateLimits: false }), instance(redisUrl, { rateLimits: false })]);
    const room = freshRoom();
    const { token } = await session(a);
    const receivers = [client(a, "websocket", token, { room }), client(b, "sse", token, { room }), client(b, "long-poll", token, { room })];
    stops.push(() => receivers.forEach((c) => c.close()));
    await Promise.all(receivers.map(connected));

    const senders = [new FeedHttp({ ...httpOptions(a.url, token) }), new FeedHttp({ ...httpOptions(b.url, token) })];
    const acks = await Promise.all(range(1, 1000).map((i) => senders[i % 2]!.send(room, { id: `c${i}`, text: `m${i}` })));
    expect(new Set(acks.map((ack) => ack.seq)).size).toBe(1000);
    expect(Math.max(...acks.map((ack) => ack.seq))).toBe(1000);

    await until(() => receivers.every((c) => c.received.length === 1000), "a thousand everywhere", 20_000);
    const order = receivers[0]!.received.map((m) => m.id);
    for (const c of receivers) {
      expect(seqs(c.received)).toEqual(range(1, 1000));
      expect(c.received.map((m) => m.id)).toEqual(order);
    }
    // What a client was acknowledged is what everyone got under that seq.
    const byId = new Map(receivers[1]!.received.map((m) => [m.id, m.seq]));
    for (const [i, ack] of acks.entries()) expect(byId.get(`c${i + 1}`)).toBe(ack.seq);
  });

  test("a send retried with the same id against the other instance is stored once", async () => {
    const [a, b] = await Promise.all([instance(), instance()]);
    const room = freshRoom();
    const { token } = await session(a);
    const post = (server: Wirelab) =>
      fetch(`${server.url}/v1/rooms/${room}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ id: "retry-me", text: "once" }),
      });
    const first = await post(a);
    const again = await post(b);
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ seq: (await first.json()).seq, id: "retry-me" });
    expect((await b.feed.read(room, 0, 10)).messages).toHaveLength(1);
    // The token one instance issued is good on the other (same secret): no sign-in again.
    expect(again.headers.get("wirelab-instance")).toBe(b.instance);
  });

  test("a long-poll client whose every request goes to the other instance sees a gap-free feed", async () => {
    const [a, b] = await Promise.all([instance(), instance()]);
    const room = freshRoom();
    const { token } = await session(a);
    let turn = 0;
    const origins = [new URL(a.url).origin, new URL(b.url).origin];
    const served: string[] = [];
    // No sticky session: each request, polls and sends alike, goes to the next instance in turn.
    const alternating: FetchLike = (input, init) => {
      const url = new URL(String(input));
      const target = new URL(url.pathname + url.search, origins[turn++ % 2]);
      return fetch(target, init).then((response) => {
        served.push(response.headers.get("wirelab-instance") ?? "?");
        return response;
      });
    };
    const poller = client(a, "long-poll", token, { room, fetch: alternating, waitMs: 300 });
    stops.push(() => poller.close());
    await connected(poller);
    const writer = client(b, "websocket", token, { room });
    stops.push(() => writer.close());
    await connected(writer);
    for (let i = 1; i <= 30; i++) {
      await writer.send(`w${i}`);
      if (i % 3 === 0) await poller.send(`p${i}`);
    }
    await until(() => poller.received.length === 40, "all forty at the alternating poller", 15_000);
    expect(seqs(poller.received)).toEqual(range(1, 40));
    expect(poller.stats.counters.duplicates).toBe(0);
    expect(new Set(served)).toEqual(new Set([a.instance, b.instance]));
  });

  test("every local subscriber gets the same decoded event: one decode per instance, not per subscriber", async () => {
    const redis = new Redis(redisUrl);
    await redis.ping();
    const bus = new RedisFeedBus(new Redis(redisUrl), prefix);
    const store = new RedisFeedStore(redis, prefix, 100);
    stops.push(async () => {
      await bus.close();
      await store.close();
    });
    const room = freshRoom();
    const seen: FeedEvent[][] = [[], []];
    const subscriptions = seen.map((list) => bus.subscribe(room, { message: (e) => list.push(e), resync: () => {} }));
    await Promise.all(subscriptions.map((s) => s.ready));
    await store.append(room, { id: "x", from: { id: "u", name: "u" }, text: "hi" }, 1);
    await until(() => seen.every((list) => list.length === 1), "both subscribers");
    expect(seen[0]![0]).toBe(seen[1]![0]);
    expect(seen[0]![0]!.message).toMatchObject({ seq: 1, id: "x", room, text: "hi" });
    expect(JSON.parse(seen[0]![0]!.json)).toEqual(seen[0]![0]!.message);
  });
});

function httpOptions(baseUrl: string, token: string) {
  return {
    baseUrl,
    token,
    transport: "long-poll" as const,
    fetch: globalThis.fetch,
    timeoutMs: 10_000,
    stats: { counters: { requests: 0, bytesIn: 0, bytesOut: 0 } } as never,
    wire: () => {},
    clock: Date.now,
  };
}

describe("lost pub/sub messages", () => {
  test("a bus whose subscriber connection was cut tells its listeners to resync, and a follower reads what it missed", async () => {
    const own = await RedisProcess.start();
    stops.push(() => own.destroy());
    const server = await instance(own.url);
    const writerConnection = new Redis(own.url);
    await writerConnection.ping();
    const writer = new RedisFeedStore(writerConnection, prefix, 100);
    stops.push(() => writer.close());
    const room = freshRoom();
    const seen: number[] = [];
    let resyncs = 0;
    const follower = server.feed.follow(room, 0, { start: () => {}, reset: () => {}, deliver: (e) => void seen.push(e.message.seq), fail: () => {} });
    stops.push(() => follower.close());
    const watch = server.feed.subscribe(room, { message: () => {}, resync: () => resyncs++ });
    stops.push(() => watch.close());
    await watch.ready;
    await writer.append(room, { id: "a", from: { id: "u", name: "u" }, text: "before" }, 1);
    await until(() => seen.length === 1, "the first message live");

    // Redis drops the instance's subscriber (as it does to a subscriber that falls behind), and a
    // message is stored at once: its PUBLISH may reach nobody. Pub/sub is not trusted with it.
    const admin = new Redis(own.url);
    stops.push(() => admin.disconnect());
    await admin.client("KILL", "TYPE", "pubsub");
    await writer.append(room, { id: "b", from: { id: "u", name: "u" }, text: "while cut" }, 2);
    await until(() => resyncs >= 1, "the bus to ask for a resync after it reconnected");
    await until(() => seen.length === 2, "the message stored while the subscriber was cut");
    expect(seen).toEqual([1, 2]);
  });
});

describe("a Redis outage", () => {
  test("refuses sends with 503 while Redis is down, loses nothing acknowledged, and catches clients up when it is back", async () => {
    const own = await RedisProcess.start();
    stops.push(() => own.destroy());
    const [a, b] = await Promise.all([instance(own.url), instance(own.url)]);
    const room = freshRoom();
    const { token } = await session(a);
    const clients = TRANSPORTS.map((t, i) => client(i % 2 ? b : a, t, token, { room }));
    stops.push(() => clients.forEach((c) => c.close()));
    await Promise.all(clients.map(connected));
    const acknowledged: number[] = [];
    for (let i = 1; i <= 5; i++) acknowledged.push((await clients[i % 4]!.send(`before ${i}`)).seq);
    await until(() => clients.every((c) => c.received.length === 5), "five before the outage");
    expect((await fetch(`${a.url}/readyz`)).status).toBe(200);

    await own.stop();
    await until(() => !a.feed.ready && !b.feed.ready, "both instances to notice");
    const ready = await fetch(`${a.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: "not_ready", feed: "redis", reason: expect.stringContaining("unreachable") });
    // Liveness is not readiness: the process is fine.
    expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
    const refused = await fetch(`${b.url}/v1/rooms/${room}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ id: "during", text: "into the outage" }),
    });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toEqual({ error: { code: "unavailable", message: expect.stringContaining("unreachable") } });
    // The instances keep their connections through the outage.
    const streaming = clients.filter((c) => c.transport === "sse" || c.transport === "websocket");
    expect(streaming.every((c) => c.state === "open")).toBe(true);

    await own.resume();
    await until(() => a.feed.ready && b.feed.ready, "both instances to reconnect", 15_000);
    expect((await fetch(`${a.url}/readyz`)).status).toBe(200);
    for (let i = 6; i <= 8; i++) acknowledged.push((await clients[i % 4]!.send(`after ${i}`)).seq);
    await until(() => clients.every((c) => c.received.length === 8), "everything after the outage", 15_000);
    for (const c of clients) {
      expect(seqs(c.received), c.transport).toEqual(range(1, 8));
      expect(c.received.map((m) => m.text)).not.toContain("into the outage");
    }
    expect(acknowledged).toEqual(range(1, 8));
  });
});
