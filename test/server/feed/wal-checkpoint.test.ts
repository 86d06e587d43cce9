/**
 * A file store's WAL is checkpointed by a worker thread (WalCheckpointer), never inside a commit
 * on the event loop. Behaviour only; no timing.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { SqliteFeedStore } from "../../../server/feed/SqliteFeedStore.js";
import { tempDir, until } from "../../helpers.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const ada = { id: "u-ada", name: "ada" };
/** SQLite's automatic checkpoint mark: 1,000 pages of 4 KiB. */
const AUTO_CHECKPOINT_BYTES = 1000 * 4096;

function fileStore(checkpointIntervalMs: number): { store: SqliteFeedStore; file: string } {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const file = join(dir, "feed.db");
  const store = new SqliteFeedStore(file, 100_000, {}, checkpointIntervalMs);
  cleanups.push(() => store.close());
  return { store, file };
}

async function appendMany(store: SqliteFeedStore, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) await store.append("r", { id: `m${i}`, from: ada, text: "x".repeat(100) }, i);
}

test("the event loop's connection never checkpoints: the WAL grows past SQLite's automatic mark until the worker does", async () => {
  // An hour between checkpoints: none happens during the test.
  const { store, file } = fileStore(3_600_000);
  await appendMany(store, 1, 3_000);
  expect(store.checkpoints).toBe(0);
  // Every commit appends a few pages; with the automatic checkpoint the WAL would restart at ~4 MB.
  expect(statSync(`${file}-wal`).size).toBeGreaterThan(2 * AUTO_CHECKPOINT_BYTES);
  // The last connection to close checkpoints the rest and removes the WAL.
  await store.close();
  expect(existsSync(`${file}-wal`)).toBe(false);
  const reopened = new SqliteFeedStore(file, 100_000, {}, 0);
  cleanups.push(() => reopened.close());
  expect(await reopened.bounds("r")).toMatchObject({ oldest: 1, latest: 3_000 });
});

test("checkpoints from the worker keep what memory holds valid and lose nothing", async () => {
  const { store, file } = fileStore(5);
  await appendMany(store, 1, 500);
  const bounds = await store.bounds("r");
  const seen = store.checkpoints;
  await until(() => store.checkpoints > seen + 1, "two checkpoints by the worker");
  // A checkpoint is not a commit: the store's caches stay (same bounds, same recent page).
  expect(await store.bounds("r")).toEqual(bounds);
  await appendMany(store, 501, 500);
  const page = await store.after("r", 990, 100, 1 << 20);
  expect(page.events.map((e) => e.message.seq)).toEqual([991, 992, 993, 994, 995, 996, 997, 998, 999, 1000]);
  // Another connection reads all of it, from the file and the WAL.
  const other = new SqliteFeedStore(file, 100_000, {}, 0);
  cleanups.push(() => other.close());
  expect(await other.bounds("r")).toMatchObject({ oldest: 1, latest: 1_000 });
  expect((await other.after("r", 0, 2_000, 1 << 30)).events).toHaveLength(1_000);
});

test("a memory store has no WAL and no worker", async () => {
  const store = new SqliteFeedStore(":memory:", 10);
  cleanups.push(() => store.close());
  await appendMany(store, 1, 3);
  expect(store.checkpoints).toBe(0);
});

test("the worker of a store nobody closed does not keep the process alive", async () => {
  const keepingAlive = () => process.getActiveResourcesInfo().filter((r) => /Worker|MessagePort/.test(r)).length;
  const before = keepingAlive();
  const { store } = fileStore(5);
  await appendMany(store, 1, 10);
  await until(() => store.checkpoints > 0, "a checkpoint by the worker (its message listener is in place)");
  expect(keepingAlive()).toBe(before);
});

test("closing a store keeps the process alive until its worker is gone", async () => {
  // A server restarting in place closes its store last: nothing else may be left to keep it alive.
  const keepingAlive = () => process.getActiveResourcesInfo().filter((r) => /Worker|MessagePort/.test(r)).length;
  const before = keepingAlive();
  const { store } = fileStore(5);
  await appendMany(store, 1, 10);
  await until(() => store.checkpoints > 0, "a checkpoint by the worker");
  const closed = store.close();
  expect(keepingAlive()).toBeGreaterThan(before);
  await closed;
  expect(keepingAlive()).toBe(before);
});
