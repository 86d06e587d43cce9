import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { Feed } from "../server/feed/Feed.js";
import type { FollowSink } from "../server/feed/FeedFollower.js";
import { LocalFeedBus } from "../server/feed/LocalFeedBus.js";
import { SqliteFeedStore } from "../server/feed/SqliteFeedStore.js";
import type { FeedBus, FeedEvent, FeedListener } from "../server/feed/types.js";
import { tempDir, until } from "./helpers.js";

const ada = { id: "u-ada", name: "ada" };
const bob = { id: "u-bob", name: "bob" };
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function memoryFeed(historyLimit = 10_000, bus: FeedBus = new LocalFeedBus()): Feed {
  const feed = new Feed(new SqliteFeedStore(":memory:", historyLimit), bus, 3);
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
    expect(empty).toEqual({ messages: [], next: 7, oldest: 1 });
    expect(await feed.read("new-room", undefined, 10)).toEqual({ messages: [], next: 0, oldest: 0 });
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

  test("seqs and history survive a restart of the SQLite file store", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = join(dir, "feed.db");
    const first = new Feed(new SqliteFeedStore(file, 100), new LocalFeedBus());
    await publishMany(first, "a", 3);
    await first.close();
    const second = new Feed(new SqliteFeedStore(file, 100), new LocalFeedBus());
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
