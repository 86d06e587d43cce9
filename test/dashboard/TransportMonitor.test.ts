/** TransportMonitor over real clients of a real server, one transport at a time. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../server/app.js";
import { TransportMonitor } from "../../web/src/measure/TransportMonitor.js";
import { TRANSPORTS, client, session, startServer, until } from "../helpers.js";

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
    m.connect();
    await until(() => m.state === "open", "open");
    expect(Date.now() - m.stateSince).toBeGreaterThanOrEqual(0);
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
