import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, test } from "vitest";
import { Feed } from "../server/feed/Feed.js";
import type { FollowSink } from "../server/feed/FeedFollower.js";
import { LocalFeedBus } from "../server/feed/LocalFeedBus.js";
import { embeddedBackend } from "../server/feed/backends.js";
import type { FeedBus, FeedEvent, FeedListener } from "../server/feed/types.js";
import { tempDir, until } from "./helpers.js";

const ada = { id: "u-ada", name: "ada" };
const bob = { id: "u-bob", name: "bob" };
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

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
    deliver: (e) => seen.push(e.message.seq),
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
