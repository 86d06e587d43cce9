import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../server/app.js";
import type { StatsResponse, TrafficSnapshot } from "../../web/src/isomorphic/protocol/index.js";
import { ServerStats } from "../../web/src/viewmodels/ServerStats.js";
import { client, session, startServer, until } from "../helpers.js";

let server: Wirelab;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const zero: TrafficSnapshot = { connections: 0, requests: 0, bytesIn: 0, bytesOut: 0, delivered: 0 };
function snapshot(shortPoll: Partial<TrafficSnapshot>, uptimeMs = 1): StatsResponse {
  return {
    uptimeMs,
    api: zero,
    transports: { "short-poll": { ...zero, ...shortPoll }, "long-poll": zero, sse: zero, websocket: zero },
  };
}

describe("ServerStats", () => {
  test("counts from the first snapshot on, and derives rates and byte series", () => {
    const stats = new ServerStats({ baseUrl: "http://unused.invalid", token: "t", origin: 0 });
    expect(stats.since("short-poll")).toBeUndefined();
    stats.apply(snapshot({ requests: 10, bytesIn: 1_000, bytesOut: 5_000, delivered: 3 }), 1_000);
    expect(stats.since("short-poll")).toEqual(zero);
    stats.apply(snapshot({ requests: 14, bytesIn: 1_400, bytesOut: 7_000, delivered: 5, connections: 1 }), 3_000);
    expect(stats.since("short-poll")).toEqual({ connections: 1, requests: 4, bytesIn: 400, bytesOut: 2_000, delivered: 2 });
    expect(stats.requestsPerSecond("short-poll")).toBe(2);
    expect(stats.bytesSeries["short-poll"].points).toEqual([
      { x: 1, y: 0 },
      { x: 3, y: 2_400 },
    ]);
    expect(stats.since("websocket")).toEqual(zero);
  });

  test("a restarted server (uptime went back) keeps the counts growing, never negative", () => {
    const stats = new ServerStats({ baseUrl: "http://unused.invalid", token: "t", origin: 0 });
    stats.apply(snapshot({ requests: 10, bytesOut: 1_000 }, 5_000), 1_000);
    stats.apply(snapshot({ requests: 16, bytesOut: 1_600, connections: 1 }, 8_000), 4_000);
    // The new instance counts from zero.
    stats.apply(snapshot({ requests: 2, bytesOut: 300, connections: 1 }, 500), 6_000);
    expect(stats.since("short-poll")).toEqual({ connections: 1, requests: 8, bytesIn: 0, bytesOut: 900, delivered: 0 });
    // 8 requests since joining (6 on the first instance, 2 on the new one) over the 5 s since the first snapshot.
    expect(stats.requestsPerSecond("short-poll")).toBeCloseTo(8 / 5, 9);
  });

  test("reads GET /v1/stats with the token and sees a transport's traffic grow", async () => {
    const { token } = await session(server);
    const stats = new ServerStats({ baseUrl: server.url, token });
    await stats.refresh();
    expect(stats.error).toBeUndefined();
    // The server started before this test: it has been up a while, and not longer than this process.
    expect(stats.latest!.uptimeMs).toBeGreaterThan(0);
    expect(stats.latest!.uptimeMs).toBeLessThanOrEqual(process.uptime() * 1000);
    const poller = client(server, "short-poll", token);
    poller.connect();
    await until(() => poller.stats.counters.requests >= 3, "some polls");
    await stats.refresh();
    const seen = stats.since("short-poll")!;
    expect(seen.requests).toBeGreaterThanOrEqual(2);
    // The server counts headers too: far more bytes than the bodies the client saw.
    expect(seen.bytesOut).toBeGreaterThan(poller.stats.counters.bytesIn);
    poller.close();
  });

  test("a bad token is reported, not thrown; overlapping refreshes share one request", async () => {
    const stats = new ServerStats({ baseUrl: server.url, token: "not-a-token" });
    const a = stats.refresh();
    const b = stats.refresh();
    expect(a).toBe(b);
    await a;
    expect(stats.error).toMatch(/401/);
    expect(stats.latest).toBeUndefined();
  });
});
