/** TransportMonitor over real clients of a real server, one transport at a time. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../server/app.js";
import { ReconnectTracker, describeReconnect, formatDowntime, type ReconnectMark } from "../../web/src/viewmodels/ReconnectTracker.js";
import { TransportMonitor, feedRows, type FeedEntry, type FeedRow } from "../../web/src/viewmodels/TransportMonitor.js";
import { TRANSPORTS, client, session, startServer, startSupervisor, until } from "../helpers.js";

let server: Wirelab;
let token: string;
const monitors: TransportMonitor[] = [];
beforeAll(async () => {
  server = await startServer();
  ({ token } = await session(server));
});
afterEach(() => {
  for (const m of monitors.splice(0)) m.dispose();
});
afterAll(() => server.close());

function monitor(transport: (typeof TRANSPORTS)[number], room: string) {
  const m = new TransportMonitor(client(server, transport, token, { room }));
  monitors.push(m);
  return m;
}

/** A feed as text: message texts, and "|" where a reconnect mark sits. */
const shape = (rows: readonly FeedRow[]) => rows.map((r) => (r.kind === "message" ? r.entry.text : "|"));

describe.each(TRANSPORTS)("TransportMonitor over %s", (transport) => {
  const room = `tm-${transport}`;

  test("follows the state, counts, logs the wire and measures latency of live messages", async () => {
    // History from before the monitor connected: shown, but not counted as latency.
    const sender = client(server, "short-poll", token, { room });
    await sender.send("old news");

    const m = monitor(transport, room);
    let changes = 0;
    m.on("change", () => changes++);
    expect(m.state).toBe("idle");
    const beforeConnect = Date.now();
    m.connect();
    await until(() => m.state === "open", "open");
    // The time in state starts when it opened, not when the monitor was made.
    expect(m.stateSince).toBeGreaterThanOrEqual(beforeConnect);
    expect(m.stateSince).toBeLessThanOrEqual(Date.now());
    await until(() => m.feed.items.length === 1, "history");
    expect(m.feed.items[0]).toMatchObject({ text: "old news", counted: false });
    expect(m.latency.count).toBe(0);

    await sender.send("fresh");
    await until(() => m.feed.items.length === 2, "the live message");
    expect(m.feed.items[1]).toMatchObject({ text: "fresh", counted: true });
    expect(m.latency.count).toBe(1);
    expect(m.latency.last).toBe(m.feed.items[1]!.latencyMs);
    expect(m.latencySeries.points).toHaveLength(1);
    expect(m.counters.messages).toBe(2);
    expect(m.counters.requests).toBeGreaterThanOrEqual(1);
    expect(m.counters.bytesIn).toBeGreaterThan(0);
    expect(m.wire.items.length).toBeGreaterThan(0);
    expect(changes).toBeGreaterThan(0);
    sender.close();
  });

  test("pause holds feed and wire log still; the connection keeps counting", async () => {
    const m = monitor(transport, `${room}-pause`);
    m.connect();
    await until(() => m.state === "open", "open");
    m.pause();
    expect(m.paused).toBe(true);
    const feed = m.feed.items;
    await m.client.send("while paused");
    await until(() => m.counters.messages === 1, "the message to be received");
    expect(m.feed.items).toBe(feed);
    expect(m.feed.waiting).toBe(1);
    m.resume();
    expect(m.feed.items.map((e) => e.text)).toEqual(["while paused"]);
  });

  test("disconnect closes; reconnect resumes from the cursor, counts a reconnect and nothing is lost", async () => {
    const r = `${room}-reconnect`;
    const m = monitor(transport, r);
    m.connect();
    await until(() => m.state === "open", "open");
    m.disconnect();
    expect(m.state).toBe("closed");
    const sender = client(server, "short-poll", token, { room: r });
    await sender.send("while away");
    m.reconnect();
    await until(() => m.state === "open", "open again");
    await until(() => m.feed.items.some((e) => e.text === "while away"), "catch-up");
    expect(m.counters.reconnects).toBe(1);
    // Sent before the reconnect: catch-up, not latency.
    expect(m.feed.items.find((e) => e.text === "while away")!.counted).toBe(false);
    expect(m.feed.items.filter((e) => e.text === "while away")).toHaveLength(1);
    sender.close();
  });

  test("a reconnect is marked in the feed right after the message it resumed from; a pause holds the mark back", async () => {
    const r = `${room}-mark`;
    const sender = client(server, "short-poll", token, { room: r });
    const m = monitor(transport, r);
    m.connect();
    await until(() => m.state === "open", "open");
    const first = await sender.send("before");
    await until(() => m.feed.items.length === 1, "the first message");
    // The first connection is no reconnect.
    expect(m.marks.items).toHaveLength(0);
    expect(shape(m.feedRows)).toEqual(["before"]);

    m.pause();
    m.reconnect();
    await until(() => m.state === "open", "open again");
    expect(m.marks.items).toHaveLength(0);
    expect(m.marks.waiting).toBe(1);
    m.resume();
    expect(m.marks.items).toHaveLength(1);
    const mark = m.marks.items[0]!;
    expect(mark).toMatchObject({ resumedFrom: first.seq, byHand: true });
    expect(mark.downMs).toBeGreaterThanOrEqual(0);
    expect(describeReconnect(mark)).toMatch(new RegExp(`^reconnected by hand after [\\d.]+ m?s, resumed from #${first.seq}$`));

    await sender.send("after");
    await until(() => m.feed.items.length === 2, "the second message");
    expect(shape(m.feedRows)).toEqual(["before", "|", "after"]);
    // The view can compare by identity: nothing changed, the same rows.
    expect(m.feedRows).toBe(m.feedRows);
    sender.close();
  });
});

test("sample() turns counters into request-rate and byte series", async () => {
  const m = monitor("short-poll", "tm-sample");
  const start = Date.now();
  m.sample(start);
  m.connect();
  await until(() => m.counters.requests >= 3, "a few polls");
  const later = Date.now() + 1;
  m.sample(later);
  expect(m.requestRateSeries.points).toHaveLength(2);
  expect(m.requestsPerSecond).toBeGreaterThan(0);
  expect(m.bytesSeries.last!.y).toBe(m.counters.bytesIn + m.counters.bytesOut);
  expect(m.bytesSeries.last!.x).toBeCloseTo((later - m.origin) / 1000, 6);
});

test("a stream's opening request is logged once per connection, without the token", async () => {
  for (const transport of ["sse", "websocket"] as const) {
    const m = monitor(transport, "tm-open");
    m.connect();
    await until(() => m.state === "open", "open");
    await until(() => m.wire.items.some((e) => e.kind === "http" && /\/(events|ws)/.test(e.label)), "the opening request");
    const opening = m.wire.items.filter((e) => e.kind === "http" && /\/(events|ws)/.test(e.label));
    expect(opening).toHaveLength(1);
    expect(opening[0]!.status).toBe(transport === "sse" ? 200 : 101);
    expect(opening[0]!.label).not.toContain("token");
  }
});

test("a black hole: streams stay 'open' while their silence grows; every feed marks where it reconnected and resumed, and the error clears", async () => {
  const HEARTBEAT_MS = 200;
  const supervisor = await startSupervisor({ wsPingIntervalMs: HEARTBEAT_MS, sseHeartbeatMs: HEARTBEAT_MS });
  const hole = await session(supervisor);
  const via = { url: supervisor.network!.url };
  // A silent stream is given up after 2 heartbeats + 1.5 s; a poll after 1 s without an answer.
  const watched = TRANSPORTS.map((t) => new TransportMonitor(client(via, t, hole.token, { room: "hole", history: 0, livenessMarginMs: 1_500, requestTimeoutMs: 1_000, waitMs: 500 })));
  const sender = client(supervisor, "short-poll", hole.token, { room: "hole" });
  try {
    for (const m of watched) m.connect();
    await until(() => watched.every((m) => m.state === "open"), "all open");
    const before = await sender.send("before");
    await until(() => watched.every((m) => m.feed.items.length === 1), "everyone to get the first message");
    for (const m of watched) expect(m.silentMs(), m.transport).toBeDefined();

    supervisor.network!.blackhole({ on: true });
    // A zombie stream: nobody told it, it still says "open", and the silence shows it.
    for (const m of watched.filter((m) => m.transport === "sse" || m.transport === "websocket")) {
      await until(() => (m.silentMs() ?? 0) > 3 * HEARTBEAT_MS, `${m.transport} to be silent for three heartbeats`);
      expect(m.state, m.transport).toBe("open");
    }
    await until(() => watched.every((m) => m.state === "reconnecting" && m.lastError !== undefined), "every transport to notice and retry", 30_000);
    await sender.send("during");
    const lifted = Date.now();
    supervisor.network!.blackhole({ on: false });

    await until(() => watched.every((m) => m.state === "open" && m.feed.items.length === 2), "everyone back with the message sent meanwhile", 30_000);
    for (const m of watched) {
      const marks = m.marks.items;
      expect(marks.length, m.transport).toBeGreaterThanOrEqual(1);
      const mark = marks[marks.length - 1]!;
      expect(mark, m.transport).toMatchObject({ resumedFrom: before.seq, byHand: false });
      expect(mark.downMs, m.transport).toBeGreaterThan(0);
      expect(describeReconnect(mark)).toMatch(new RegExp(`^reconnected after [\\d.]+ m?s, resumed from #${before.seq}$`));
      // In the feed, between what came before the cut and what came after.
      expect(shape(m.feedRows).filter((x, i, all) => x !== "|" || all[i - 1] !== "|"), m.transport).toEqual(["before", "|", "during"]);
      // The fault is over: no error left to show, and bytes are arriving again.
      expect(m.lastError, m.transport).toBeUndefined();
      expect(m.lastByteAt!, m.transport).toBeGreaterThanOrEqual(lifted);
    }
  } finally {
    sender.close();
    for (const m of watched) m.dispose();
    await supervisor.close();
  }
}, 60_000);

test("the tracker marks an open after an earlier open only, with the time away and the cursor then", () => {
  const t = new ReconnectTracker();
  expect(t.changed("connecting", 0, undefined, undefined)).toBeUndefined();
  expect(t.changed("open", 100, 3, 90)).toBeUndefined();
  expect(t.changed("reconnecting", 5_000, 4, 1_000)).toBeUndefined();
  expect(t.changed("reconnecting", 6_000, 4, 1_000)).toBeUndefined();
  expect(t.changed("open", 8_200, 4, 8_100)).toEqual({ n: 1, at: 8_200, downMs: 3_200, silentMs: 4_000, resumedFrom: 4, byHand: false });
  t.requested();
  t.changed("closed", 9_000, 4, 8_900);
  t.changed("connecting", 9_000, 4, 8_900);
  const mark = t.changed("open", 9_012, 4, 9_010)!;
  expect(mark).toMatchObject({ n: 2, downMs: 12, byHand: true });
  expect(describeReconnect(mark)).toBe("reconnected by hand after 12 ms, resumed from #4");
  expect(describeReconnect({ ...mark, byHand: false, downMs: 3_240, resumedFrom: undefined })).toBe("reconnected after 3.2 s, resumed from the start");
  expect(formatDowntime(65_000)).toBe("1 m 05 s");
});

test("feedRows puts each mark after the message it resumed from, and leaves out marks older than the messages kept", () => {
  const entry = (seq: number): FeedEntry => ({ seq, id: `m${seq}`, from: { id: "u", name: "ada" }, text: `#${seq}`, ts: 0, latencyMs: undefined, counted: false });
  const mark = (n: number, resumedFrom: number | undefined): ReconnectMark => ({ n, at: 0, downMs: 0, silentMs: undefined, resumedFrom, byHand: false });
  const text = (rows: FeedRow[]) => rows.map((r) => (r.kind === "message" ? r.entry.text : `|${r.mark.n}`));
  expect(text(feedRows([entry(1), entry(2), entry(3)], [mark(1, 1), mark(2, 3)]))).toEqual(["#1", "|1", "#2", "#3", "|2"]);
  expect(text(feedRows([], [mark(1, undefined)]))).toEqual(["|1"]);
  expect(text(feedRows([entry(5), entry(6)], [mark(1, 2), mark(2, 4), mark(3, 5)], true))).toEqual(["|2", "#5", "|3", "#6"]);
});
