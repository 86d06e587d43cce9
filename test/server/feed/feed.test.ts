import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, test } from "vitest";
import { Feed } from "../../../server/feed/Feed.js";
import type { FollowSink } from "../../../server/feed/FeedFollower.js";
import { LocalFeedBus } from "../../../server/feed/LocalFeedBus.js";
import { embeddedBackend } from "../../../server/feed/backends.js";
import { SqliteFeedStore } from "../../../server/feed/SqliteFeedStore.js";
import type { FeedBus, FeedEvent, FeedListener } from "../../../server/feed/types.js";
import { tempDir, until } from "../../helpers.js";

const ada = { id: "u-ada", name: "ada" };
const bob = { id: "u-bob", name: "bob" };
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const aTurnLater = () => new Promise((resolve) => setImmediate(resolve));

function memoryFeed(historyLimit = 10_000, bus: FeedBus = new LocalFeedBus()): Feed {
  const feed = new Feed(embeddedBackend(":memory:", historyLimit, bus), { replayPageSize: 3 });
  cleanups.push(() => feed.close());
  return feed;
}

async function publishMany(feed: Feed, room: string, count: number, prefix = "m") {
  for (let i = 1; i <= count; i++) await feed.publish(room, ada, { id: `${prefix}${i}`, text: `text ${i}` });
}

describe("Feed", () => {
  test("gives each room its own gap-free seqs and a server timestamp", async () => {
    const feed = memoryFeed();
    const a1 = await feed.publish("a", ada, { id: "1", text: "hi", sentAt: 5 });
    const b1 = await feed.publish("b", ada, { id: "1", text: "hi" });
    const a2 = await feed.publish("a", bob, { id: "1", text: "same id, other sender" });
    expect([a1.message.seq, b1.message.seq, a2.message.seq]).toEqual([1, 1, 2]);
    expect(a1.message).toMatchObject({ room: "a", from: ada, text: "hi", sentAt: 5 });
    expect(a1.message.ts).toBeGreaterThan(1_600_000_000_000);
    expect(b1.message).not.toHaveProperty("sentAt");
  });

  test("a resend with the same id returns the original and stores nothing new", async () => {
    const feed = memoryFeed();
    const first = await feed.publish("a", ada, { id: "x", text: "hello" });
    const again = await feed.publish("a", ada, { id: "x", text: "hello" });
    expect(first.created).toBe(true);
    expect(again).toEqual({ message: first.message, created: false });
    expect((await feed.read("a", 0, 50)).messages).toHaveLength(1);
  });

  test("read: latest page without a cursor, pages after a cursor", async () => {
    const feed = memoryFeed();
    await publishMany(feed, "a", 7);
    const latest = await feed.read("a", undefined, 3);
    expect(latest.messages.map((m) => m.seq)).toEqual([5, 6, 7]);
    expect(latest).toMatchObject({ next: 7, oldest: 1 });
    const page = await feed.read("a", 2, 2);
    expect(page.messages.map((m) => m.seq)).toEqual([3, 4]);
    expect(page.next).toBe(4);
    const empty = await feed.read("a", 7, 10);
    expect(empty).toEqual({ messages: [], next: 7, oldest: 1, epoch: expect.stringMatching(/^[0-9a-f]{8}$/) });
    // A room gets its epoch when first used: a client that joined it empty can tell a refill later.
    const fresh = await feed.read("new-room", undefined, 10);
    expect(fresh).toEqual({ messages: [], next: 0, oldest: 0, epoch: expect.stringMatching(/^[0-9a-f]{8}$/) });
    await feed.publish("new-room", ada, { id: "first", text: "x" });
    expect((await feed.read("new-room", 0, 10)).epoch).toBe(fresh.epoch);
  });

  test("history is pruned to the limit and an old cursor gets a reset", async () => {
    const feed = memoryFeed(5);
    await publishMany(feed, "a", 12);
    const page = await feed.read("a", 2, 50);
    expect(page.reset).toBe(true);
    expect(page.oldest).toBe(8);
    expect(page.messages.map((m) => m.seq)).toEqual([8, 9, 10, 11, 12]);
    // The cursor just before the oldest retained message is still complete: no reset.
    expect((await feed.read("a", 7, 50)).reset).toBeUndefined();
    // A cursor ahead of the feed (the feed was wiped) also resets.
    const ahead = await feed.read("a", 99, 50);
    expect(ahead.reset).toBe(true);
    expect(ahead.messages[0]?.seq).toBe(8);
  });

  test("a room wiped and refilled past a cursor is a new epoch: the old cursor is reset, not read against new seqs", async () => {
    const before = memoryFeed();
    await publishMany(before, "a", 3);
    const { epoch } = await before.read("a", 0, 10);
    expect(epoch).toMatch(/^[0-9a-f]{8}$/);
    // Same room, same seqs: the epoch holds.
    expect((await before.read("a", 3, 10, epoch)).reset).toBeUndefined();

    // The history is gone (a --memory restart, a wiped file) and the room fills up again, past the cursor.
    const after = memoryFeed();
    await publishMany(after, "a", 5, "new");
    const stale = await after.read("a", 3, 10, epoch);
    expect(stale.epoch).not.toBe(epoch);
    expect(stale).toMatchObject({ reset: true, oldest: 1 });
    expect(stale.messages.map((m) => m.text)).toEqual(["text 1", "text 2", "text 3", "text 4", "text 5"]);
    // A client that sends no epoch (an older one) is read by seq alone, as before.
    expect((await after.read("a", 3, 10)).messages.map((m) => m.seq)).toEqual([4, 5]);

    // A stream follower detects it the same way.
    const { seen, events, sink } = collector();
    const follower = after.follow("a", 3, sink, epoch);
    cleanups.push(() => follower.close());
    await until(() => seen.length === 5, "the replay of the new epoch");
    expect(events).toEqual(["start:3", "reset:1"]);
  });

  test("a room's bounds follow writes, prunes and wipes made through another connection to the file", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = join(dir, "feed.db");
    const reader = new SqliteFeedStore(file, 3);
    const writer = new SqliteFeedStore(file, 3);
    cleanups.push(() => reader.close(), () => writer.close());
    const send = (id: string) => writer.append("a", { id, from: ada, text: id }, 1);
    await send("1");
    const first = await reader.bounds("a");
    expect(first).toMatchObject({ oldest: 1, latest: 1 });
    // Asked again with nothing written: the same answer (from memory).
    expect(await reader.bounds("a")).toEqual(first);
    for (const id of ["2", "3", "4", "5"]) await send(id);
    // Another process's commit reaches this one in a later event-loop turn; the store checks once per turn.
    await aTurnLater();
    // Written by the other connection, pruned to 3 there: both bounds moved.
    expect(await reader.bounds("a")).toEqual({ ...first, oldest: 3, latest: 5 });
    // Its own appends move its own bounds too.
    await reader.append("a", { id: "6", from: ada, text: "6" }, 1);
    expect(await reader.bounds("a")).toEqual({ ...first, oldest: 4, latest: 6 });
    // Wiped by hand (a fresh room, a fresh epoch): the reader sees the new epoch.
    const raw = new Database(file);
    raw.exec("DELETE FROM messages; DELETE FROM rooms;");
    raw.close();
    await aTurnLater();
    const wiped = await reader.bounds("a");
    expect(wiped).toMatchObject({ oldest: 0, latest: 0 });
    expect(wiped.epoch).not.toBe(first.epoch);
  });

  test("an epoch is kept in the file and survives a restart", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = join(dir, "feed.db");
    const first = new Feed(embeddedBackend(file, 100));
    await publishMany(first, "a", 2);
    const { epoch } = await first.read("a", 0, 1);
    await first.close();
    const second = new Feed(embeddedBackend(file, 100));
    cleanups.push(() => second.close());
    expect((await second.read("a", 2, 10, epoch)).reset).toBeUndefined();
    expect((await second.bounds("a")).epoch).toBe(epoch);
  });

  test("a file written before epochs existed gets one per room and keeps its history", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = join(dir, "old.db");
    const old = new Database(file);
    old.exec(`
      CREATE TABLE rooms (room TEXT PRIMARY KEY, last_seq INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE messages (room TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, from_id TEXT NOT NULL,
        from_name TEXT NOT NULL, text TEXT NOT NULL, sent_at INTEGER, ts INTEGER NOT NULL, PRIMARY KEY (room, seq)) WITHOUT ROWID;
      INSERT INTO rooms VALUES ('a', 1), ('b', 1);
      INSERT INTO messages VALUES ('a', 1, 'm1', 'u-ada', 'ada', 'kept', NULL, 1), ('b', 1, 'm1', 'u-ada', 'ada', 'kept', NULL, 1);
    `);
    old.close();
    const feed = new Feed(embeddedBackend(file, 100));
    cleanups.push(() => feed.close());
    const [a, b] = [await feed.bounds("a"), await feed.bounds("b")];
    expect(a).toMatchObject({ latest: 1, oldest: 1, epoch: expect.stringMatching(/^[0-9a-f]{8}$/) });
    expect(b.epoch).not.toBe(a.epoch);
    expect((await feed.read("a", 0, 10)).messages.map((m) => m.text)).toEqual(["kept"]);
    expect((await feed.publish("a", ada, { id: "m2", text: "next" })).message.seq).toBe(2);
  });

  test("seqs and history survive a restart of the SQLite file store", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = join(dir, "feed.db");
    const first = new Feed(embeddedBackend(file, 100));
    await publishMany(first, "a", 3);
    await first.close();
    const second = new Feed(embeddedBackend(file, 100));
    cleanups.push(() => second.close());
    expect((await second.read("a", 0, 10)).messages.map((m) => m.text)).toEqual(["text 1", "text 2", "text 3"]);
    expect((await second.publish("a", ada, { id: "m1", text: "retry after restart" })).created).toBe(false);
    expect((await second.publish("a", ada, { id: "new", text: "four" })).message.seq).toBe(4);
  });
});

/** Collects what a follower hands its sink. */
function collector() {
  const seen: number[] = [];
  const events: string[] = [];
  const sink: FollowSink = {
    start: (next) => events.push(`start:${next}`),
    reset: (oldest) => events.push(`reset:${oldest}`),
    deliver: (e) => void seen.push(e.message.seq),
    fail: (error) => events.push(`fail:${String(error)}`),
  };
  return { seen, events, sink };
}

/** A bus that holds events back and releases them in reverse, as a shared bus may reorder. */
class ReorderingBus implements FeedBus {
  readonly inner = new LocalFeedBus();
  held: FeedEvent[] = [];
  publish(event: FeedEvent): void {
    this.held.push(event);
  }
  release(): void {
    for (const event of this.held.reverse()) this.inner.publish(event);
    this.held = [];
  }
  subscribe(room: string, listener: FeedListener) {
    return this.inner.subscribe(room, listener);
  }
  async close() {}
}

describe("FeedFollower", () => {
  test("replays from the cursor in pages, then follows live", async () => {
    const feed = memoryFeed();
    await publishMany(feed, "a", 8);
    const { seen, events, sink } = collector();
    const follower = feed.follow("a", 2, sink);
    cleanups.push(() => follower.close());
    await until(() => seen.length === 6, "the replay");
    await publishMany(feed, "a", 2, "live");
    await until(() => seen.length === 8, "live messages");
    expect(events).toEqual(["start:2"]);
    expect(seen).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
  });

  test("without a cursor it starts at the live edge", async () => {
    const feed = memoryFeed();
    await publishMany(feed, "a", 3);
    const { seen, events, sink } = collector();
    const follower = feed.follow("a", undefined, sink);
    cleanups.push(() => follower.close());
    await until(() => events.length === 1, "start");
    await feed.publish("a", ada, { id: "live", text: "x" });
    await until(() => seen.length === 1, "the live message");
    expect(events).toEqual(["start:3"]);
    expect(seen).toEqual([4]);
  });

  test("announces a reset when the cursor fell out of the history", async () => {
    const feed = memoryFeed(4);
    await publishMany(feed, "a", 10);
    const { seen, events, sink } = collector();
    const follower = feed.follow("a", 1, sink);
    cleanups.push(() => follower.close());
    await until(() => seen.length === 4, "the replay");
    expect(events).toEqual(["start:1", "reset:7"]);
    expect(seen).toEqual([7, 8, 9, 10]);
  });

  test("fills a gap in the live stream from the store and delivers each seq once", async () => {
    const bus = new ReorderingBus();
    const feed = memoryFeed(10_000, bus);
    const { seen, events, sink } = collector();
    const follower = feed.follow("a", 0, sink);
    cleanups.push(() => follower.close());
    await until(() => events.length === 1, "start");
    await publishMany(feed, "a", 5);
    bus.release(); // arrives as 5, 4, 3, 2, 1
    await until(() => seen.length === 5, "all five");
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });
});

describe("SqliteFeedStore's recent messages", () => {
  test("answer every page exactly as the file does: bounds, limits, byte budgets, prunes", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = join(dir, "feed.db");
    // History of 40 per room, and messages of varied sizes so byte budgets cut at varied places.
    const warm = new SqliteFeedStore(file, 40);
    cleanups.push(() => warm.close());
    for (let i = 1; i <= 300; i++) {
      await warm.append(i % 3 === 0 ? "b" : "a", { id: `m${i}`, from: ada, text: "x".repeat((i * 37) % 500) }, i);
    }
    // A second connection holds nothing in memory: every answer comes from the file.
    const cold = new SqliteFeedStore(file, 40);
    cleanups.push(() => cold.close());
    let compared = 0;
    for (const room of ["a", "b", "c"]) {
      const { latest } = await cold.bounds(room);
      for (let after = 0; after <= latest + 1; after += 7) {
        for (const [limit, maxBytes] of [[1, 1 << 20], [10, 1 << 20], [500, 1 << 20], [500, 1], [500, 2_000], [3, 700]] as const) {
          const expected = await cold.after(room, after, limit, maxBytes);
          expect(await warm.after(room, after, limit, maxBytes), `${room} after ${after}, limit ${limit}, ${maxBytes} B`).toEqual(expected);
          compared += 1;
        }
      }
    }
    expect(compared).toBeGreaterThan(100);
  });

  test("are forgotten when another connection writes to the file", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = join(dir, "feed.db");
    const one = new SqliteFeedStore(file, 100);
    const other = new SqliteFeedStore(file, 100);
    cleanups.push(() => one.close(), () => other.close());
    await one.append("a", { id: "1", from: ada, text: "one" }, 1);
    await other.append("a", { id: "2", from: bob, text: "two" }, 2);
    await aTurnLater();
    expect((await one.after("a", 0, 10, 1 << 20)).events.map((e) => e.message.text)).toEqual(["one", "two"]);
    // Its next append continues the room from the file, and its memory with it.
    await one.append("a", { id: "3", from: ada, text: "three" }, 3);
    expect((await one.after("a", 1, 10, 1 << 20)).events.map((e) => e.message.seq)).toEqual([2, 3]);
  });
});
