/**
 * Memory is bounded by bytes: the shared page cache, each page (poll answers and stream replay),
 * the number of rooms, each room's history, and the number of parked long polls. Every test runs a
 * real server (SQLite, and Redis where the store matters) and speaks real HTTP / WebSocket to it.
 */
import Database from "better-sqlite3";
import { join } from "node:path";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../../server/app.js";
import type { WirelabOptions } from "../../../server/config.js";
import { ERROR_CODES, ErrorBodySchema, PollResponseSchema, TRANSPORTS, type Message, type PollResponse, type ServerFrame } from "../../../web/src/isomorphic/protocol/index.js";
import { client, connected, session, startServer, stopsAfterEach, tempDir, until } from "../../helpers.js";
import { deleteKeys, redisForTests, testPrefix } from "../../redis.js";

/** The largest text a send may carry: 1,000 emoji are 2,000 UTF-16 units, 4,000 bytes of UTF-8. */
const BIG_TEXT = "😀".repeat(1000);
const utf8 = (text: string) => Buffer.byteLength(text);

const stops = stopsAfterEach();
const prefixes: string[] = [];
let redisUrl: string;

beforeAll(async () => {
  redisUrl = (await redisForTests()).url;
});
afterAll(async () => {
  for (const prefix of prefixes) await deleteKeys(redisUrl, prefix);
  await (await redisForTests()).stop();
});

type Backend = "sqlite" | "redis";

async function serve(backend: Backend, options: WirelabOptions = {}): Promise<Wirelab> {
  const store: WirelabOptions = backend === "redis" ? { redisUrl, redisPrefix: testPrefix() } : {};
  if (store.redisPrefix) prefixes.push(store.redisPrefix);
  const server = await startServer({ ...store, ...options });
  stops.push(() => server.close());
  return server;
}

/** A tiny HTTP client of the API that keeps status, headers and the raw body of every answer. */
async function api(server: Wirelab) {
  const { token } = await session(server);
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, json: JSON.parse(text) as unknown };
  };
  let sent = 0;
  return {
    token,
    send: (room: string, text: string) => call("POST", `/v1/rooms/${room}/messages`, { id: `m${sent++}`, text }),
    poll: (room: string, query: string) => call("GET", `/v1/rooms/${room}/messages?${query}`),
    async fill(room: string, count: number, text = BIG_TEXT) {
      for (let i = 0; i < count; i++) {
        const answer = await this.send(room, text);
        expect(answer.status, answer.text).toBe(201);
      }
    },
  };
}

function validPage(answer: { status: number; text: string; json: unknown }): PollResponse {
  expect(answer.status, answer.text.slice(0, 200)).toBe(200);
  return PollResponseSchema.parse(answer.json) as PollResponse;
}

const parkedPolls = (server: Wirelab) => (server.transports["long-poll"] as unknown as { parked: number }).parked;
const seqs = (messages: Message[]) => messages.map((m) => m.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("the shared page cache is bounded by bytes", () => {
  test("many distinct pages of large messages over many rooms: the cache stays within its budget, every answer is right, the server keeps answering", async () => {
    // The attack, scaled down: rooms of 2,000-unit messages, then every since=0..15 at limit=1000
    // in each room, every one a distinct cached page.
    const budget = 1_000_000;
    const server = await serve("sqlite", { pageCacheBytes: budget });
    const http = await api(server);
    const rooms = ["big-0", "big-1", "big-2", "big-3"];
    const perRoom = 40;
    await Promise.all(rooms.map((room) => http.fill(room, perRoom)));

    let served = 0;
    for (const room of rooms) {
      for (let since = 0; since < 16; since++) {
        const page = validPage(await http.poll(room, `since=${since}&limit=1000`));
        expect(seqs(page.messages)).toEqual(range(since + 1, perRoom));
        expect(page.next).toBe(perRoom);
        served += utf8(JSON.stringify(page));
        expect(server.feed.pageCacheBytes).toBeLessThanOrEqual(budget);
      }
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
    }
    // The pages served add up to far more than the budget: the cache did evict, and it is in use.
    expect(served).toBeGreaterThan(4 * budget);
    expect(server.feed.pageCacheBytes).toBeGreaterThan(0);
    // And /metrics reports it.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain(`wirelab_page_cache_bytes ${server.feed.pageCacheBytes}\n`);
    // A page read twice of an unchanged room is the same answer (served from the cache or not).
    const again = await http.poll("big-3", "since=15&limit=1000");
    expect(again.text).toBe((await http.poll("big-3", "since=15&limit=1000")).text);
  });
});

describe.each<Backend>(["sqlite", "redis"])("pages are bounded by bytes (%s)", (backend) => {
  test("a poll page of big messages is cut at the byte budget; following next gets every message once, in order, over every transport", async () => {
    const maxPageBytes = 32 * 1024;
    const server = await serve(backend, { maxPageBytes });
    const http = await api(server);
    const room = "cut";
    const count = 30;
    await http.fill(room, count);
    const messageBytes = utf8(JSON.stringify((validPage(await http.poll(room, "since=0&limit=1")).messages[0])));

    // By hand, as the protocol says: ask again from next.
    const got: Message[] = [];
    let pages = 0;
    for (let since = 0; since < count; pages++) {
      const answer = await http.poll(room, `since=${since}&limit=1000`);
      const page = validPage(answer);
      expect(page.messages.length).toBeGreaterThan(0);
      // At most one message over the budget: the one that reached it.
      expect(utf8(answer.text)).toBeLessThanOrEqual(maxPageBytes + messageBytes);
      expect(page.next).toBe(page.messages.at(-1)!.seq);
      // A cut page says so: the client should ask again at once rather than wait.
      expect(page.more).toBe(page.next < count ? true : undefined);
      got.push(...page.messages);
      since = page.next;
    }
    expect(pages).toBeGreaterThan(2);
    expect(seqs(got)).toEqual(range(1, count));

    // Without a cursor: the newest messages that fit.
    const latest = validPage(await http.poll(room, "limit=1000"));
    expect(latest.messages.length).toBeLessThan(count);
    expect(latest.messages.at(-1)!.seq).toBe(count);
    expect(latest.next).toBe(count);

    // The client kit, resuming from 0: polls ask again at once after a cut page (a short-poll
    // interval of a minute would show if they did not), streams replay page after page.
    const clients = TRANSPORTS.map((t) => client(server, t, http.token, { room, since: 0, intervalMs: 60_000 }));
    stops.push(() => clients.forEach((c) => c.close()));
    await Promise.all(clients.map(connected));
    await until(() => clients.every((c) => c.received.length >= count), "every client to catch up", 15_000);
    for (const c of clients) {
      expect(seqs(c.received), c.transport).toEqual(range(1, count));
      expect(c.stats.counters.duplicates).toBe(0);
    }
  });

  test("a WebSocket replay of big history from since=0 arrives whole, in order, across byte-cut store pages", async () => {
    const server = await serve(backend, { maxPageBytes: 16 * 1024, replayPageSize: 500 });
    const http = await api(server);
    await http.fill("replay", 25);
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/rooms/replay/ws?token=${http.token}&since=0`);
    stops.push(() => ws.terminate());
    const frames: ServerFrame[] = [];
    ws.on("message", (data) => frames.push(JSON.parse(data.toString()) as ServerFrame));
    await until(() => frames.filter((f) => f.type === "message").length >= 25, "the replay");
    const replayed = frames.flatMap((f) => (f.type === "message" ? [f.message.seq] : []));
    expect(replayed).toEqual(range(1, 25));
  });
});

describe.each<Backend>(["sqlite", "redis"])("the number of rooms is bounded (%s)", (backend) => {
  test("a send that would create a room over maxRooms is refused (507 too_many_rooms, or an error frame); existing rooms keep working", async () => {
    const server = await serve(backend, { maxRooms: 3 });
    const http = await api(server);
    expect((await http.send("one", "hi")).status).toBe(201);
    expect((await http.send("two", "hi")).status).toBe(201);
    // A read uses a room too (it gets its epoch then): the third.
    validPage(await http.poll("three", "since=0"));

    const refused = await http.send("four", "hi");
    expect(refused.status).toBe(507);
    expect(ErrorBodySchema.parse(refused.json).error.code).toBe(ERROR_CODES.tooManyRooms);

    // Reading a room that would be over the cap answers an empty page and creates nothing.
    const unknown = validPage(await http.poll("five", "since=0"));
    expect(unknown).toMatchObject({ messages: [], next: 0, oldest: 0 });
    expect((await http.send("five", "hi")).status).toBe(507);

    // Over WebSocket: an error frame with the code, for that send only.
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/rooms/six/ws?token=${http.token}`);
    stops.push(() => ws.terminate());
    const frames: ServerFrame[] = [];
    ws.on("message", (data) => frames.push(JSON.parse(data.toString()) as ServerFrame));
    await until(() => frames.some((f) => f.type === "hello"), "the hello");
    ws.send(JSON.stringify({ type: "send", id: "w1", text: "hi" }));
    await until(() => frames.some((f) => f.type === "error"), "the error frame");
    expect(frames.find((f) => f.type === "error")).toMatchObject({ code: ERROR_CODES.tooManyRooms, id: "w1" });

    // The client kit takes it as final: one request, no retries.
    const kit = client(server, "short-poll", http.token, { room: "seven" });
    const requestsBefore = kit.stats.counters.requests;
    await expect(kit.send("hi")).rejects.toMatchObject({ status: 507, code: ERROR_CODES.tooManyRooms });
    expect(kit.stats.counters.requests - requestsBefore).toBe(1);

    // The rooms that exist keep working.
    expect((await http.send("one", "again")).status).toBe(201);
    expect((await http.send("three", "first")).status).toBe(201);
    expect(seqs(validPage(await http.poll("one", "since=0")).messages)).toEqual([1, 2]);
  });
});

describe.each<Backend>(["sqlite", "redis"])("each room's history is bounded by bytes (%s)", (backend) => {
  test("the oldest messages are pruned once a room's history passes maxRoomHistoryBytes; a reader behind gets a reset", async () => {
    const maxRoomHistoryBytes = 40_000;
    const server = await serve(backend, { maxRoomHistoryBytes });
    const http = await api(server);
    await http.fill("heavy", 30);

    const page = validPage(await http.poll("heavy", "since=0&limit=1000"));
    expect(page.reset).toBe(true);
    expect(page.oldest).toBeGreaterThan(1);
    expect(page.messages[0]!.seq).toBe(page.oldest);
    expect(seqs(page.messages)).toEqual(range(page.oldest, 30));
    const kept = page.messages.reduce((sum, m) => sum + utf8(JSON.stringify(m)), 0);
    expect(kept).toBeLessThanOrEqual(maxRoomHistoryBytes);
    // Pruned no more than needed: one more message would not have fit.
    expect(kept + utf8(JSON.stringify(page.messages[0]))).toBeGreaterThan(maxRoomHistoryBytes);

    // Small messages take little: many more of them fit than of the big ones.
    for (let i = 0; i < 60; i++) await http.send("light", `small ${i}`);
    expect(validPage(await http.poll("light", "since=0&limit=1000")).oldest).toBe(1);
  });
});

describe("history bytes in a SQLite file written before the budget existed", () => {
  test("an old file's rooms are measured when it is opened, and pruned to the budget on the next send", async () => {
    const { dir, cleanup } = tempDir();
    stops.push(cleanup);
    const file = join(dir, "old.db");
    // The schema as it was before history bytes were counted, holding 20 big messages.
    const db = new Database(file);
    db.exec(`
      CREATE TABLE rooms (room TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, epoch TEXT) WITHOUT ROWID;
      CREATE TABLE messages (
        room TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,
        from_id TEXT NOT NULL, from_name TEXT NOT NULL, text TEXT NOT NULL,
        sent_at INTEGER, ts INTEGER NOT NULL,
        PRIMARY KEY (room, seq)
      ) WITHOUT ROWID;
      CREATE UNIQUE INDEX messages_by_client_id ON messages (room, from_id, id);
    `);
    db.prepare("INSERT INTO rooms VALUES ('old', 20, 'abcd1234')").run();
    const insert = db.prepare("INSERT INTO messages VALUES ('old', ?, ?, 'u-1', 'ada', ?, NULL, 1)");
    for (let seq = 1; seq <= 20; seq++) insert.run(seq, `o${seq}`, BIG_TEXT);
    db.close();

    const server = await serve("sqlite", { dataFile: file, maxRoomHistoryBytes: 20_000 });
    const http = await api(server);
    expect((await http.send("old", "new")).status).toBe(201);
    const page = validPage(await http.poll("old", "since=0&limit=1000"));
    expect(page.reset).toBe(true);
    expect(page.messages.at(-1)).toMatchObject({ seq: 21, text: "new" });
    expect(page.messages.reduce((sum, m) => sum + utf8(JSON.stringify(m)), 0)).toBeLessThanOrEqual(20_000);
  });
});

describe("parked long polls are bounded", () => {
  test("a long poll over maxParkedPolls gets 503 with Retry-After; the parked ones are still answered", async () => {
    const server = await serve("sqlite", { maxParkedPolls: 2 });
    const http = await api(server);
    const parked = [http.poll("lobby", "since=0&wait=20000"), http.poll("lobby", "since=0&wait=20000")];
    await until(() => parkedPolls(server) === 2, "two parked polls");

    const over = await http.poll("lobby", "since=0&wait=20000");
    expect(over.status).toBe(503);
    expect(ErrorBodySchema.parse(over.json).error.code).toBe(ERROR_CODES.unavailable);
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);

    await http.send("lobby", "wake up");
    for (const answer of await Promise.all(parked)) expect(seqs(validPage(answer).messages)).toEqual([1]);
    // Below the cap again: a poll parks as usual.
    const next = http.poll("lobby", "since=1&wait=20000");
    await until(() => parkedPolls(server) === 1, "a parked poll");
    await http.send("lobby", "again");
    expect(seqs(validPage(await next).messages)).toEqual([2]);
  });
});
