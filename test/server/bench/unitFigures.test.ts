/** A benchmark unit's figures from known measurements: the part of the bench with no processes in it. */
import * as hdr from "hdr-histogram-js";
import { describe, expect, test } from "vitest";
import type { StatsResponse, TrafficSnapshot } from "../../../web/src/isomorphic/protocol/index.js";
import type { GroupResult } from "../../../server/bench/protocol.js";
import { latencyOf, serverUsage, transportResult, type UnitFacts } from "../../../server/bench/unitFigures.js";
import { wireDelta } from "../../../web/src/isomorphic/stats/figures.js";

const traffic = (requests: number, bytesIn: number, bytesOut: number): TrafficSnapshot => ({ connections: 0, requests, bytesIn, bytesOut, delivered: 0 });
const stats = (ws: TrafficSnapshot): StatsResponse => {
  const zero = traffic(0, 0, 0);
  return { uptimeMs: 1, api: zero, transports: { "short-poll": zero, "long-poll": zero, sse: zero, websocket: ws } } as StatsResponse;
};

function histogramOf(valuesUs: number[]): string {
  const h = hdr.build({ numberOfSignificantValueDigits: 3, autoResize: true, useWebAssembly: false });
  for (const v of valuesUs) h.recordValue(v);
  return hdr.encodeIntoCompressedBase64(h);
}

function group(overrides: Partial<GroupResult>): GroupResult {
  return {
    group: "g", clients: 10, expected: 100, delivered: 100, duplicated: 0, measured: 80, lastMeasuredAt: 3_000, histogram: null,
    requests: 20, bytesIn: 5_000, bytesOut: 700, reconnects: 0, reconnectedClients: 0, movedClients: 0, reconnectMs: [], connectMs: [], notOpen: 0, errors: [],
    ...overrides,
  };
}

const facts = (overrides: Partial<UnitFacts> = {}): UnitFacts => ({
  firstMeasuredSendAt: 1_000,
  wire: { requests: 40, bytesIn: 2_000, bytesOut: 61_800 },
  server: null,
  samples: [{ connections: 0, rssBytes: 100_000_000 }, { connections: 1_000, rssBytes: 110_000_000 }, { connections: 2_000, rssBytes: 120_000_000 }],
  connect: { ms: [5, 10, 15], allMs: 20, failed: 0 },
  timeline: [{ t: 0, perSecond: 12.3456 }],
  instances: [],
  sendFailures: 0,
  ...overrides,
});

describe("wireDelta (shared with the lab engine)", () => {
  test("the server's counters over the window", () => {
    expect(wireDelta("websocket", stats(traffic(10, 100, 1_000)), null, stats(traffic(25, 400, 9_000)))).toEqual({ requests: 15, bytesIn: 300, bytesOut: 8_000 });
  });

  test("across a restart: the part before it plus the restarted server's count from zero", () => {
    const before = stats(traffic(10, 100, 1_000));
    const atRestart = stats(traffic(30, 500, 5_000));
    const after = stats(traffic(4, 60, 700));
    expect(wireDelta("websocket", before, atRestart, after)).toEqual({ requests: 24, bytesIn: 460, bytesOut: 4_700 });
  });

  test("null when a snapshot is missing (a peer has none)", () => {
    expect(wireDelta("websocket", null, null, stats(traffic(1, 1, 1)))).toBeNull();
  });
});

test("serverUsage: CPU seconds and cores over the window, the RSS at its end", () => {
  const before = { cpuSeconds: 2, rssBytes: 1, peakRssBytes: 1 };
  const after = { cpuSeconds: 5, rssBytes: 200, peakRssBytes: 300 };
  expect(serverUsage(before, after, 4)).toEqual({ cpuSeconds: 3, cpuCores: 0.75, rssBytes: 200, peakRssBytes: 300 });
  expect(serverUsage(null, after, 4)).toBeNull();
});

test("latencyOf: percentiles in ms from a histogram in µs, none from an empty one", () => {
  const h = hdr.build({ numberOfSignificantValueDigits: 3, autoResize: true, useWebAssembly: false });
  expect(latencyOf(h)).toMatchObject({ count: 0, p50: null, max: null, cdf: [] });
  for (let ms = 1; ms <= 100; ms++) h.recordValue(ms * 1000);
  const latency = latencyOf(h);
  // HdrHistogram keeps 3 significant digits: a value reads back within 0.1 %.
  expect(latency.count).toBe(100);
  expect(latency.p50).toBeCloseTo(50, 0);
  expect(latency.p99).toBeCloseTo(99, 0);
  expect(latency.max).toBeCloseTo(100, 0);
  expect(latency.cdf.at(-1)).toEqual({ percentile: 100, ms: latency.max });
});

describe("transportResult", () => {
  test("adds the groups up and derives the rates and per-message figures", () => {
    const groups = [
      group({ histogram: histogramOf([1_000, 2_000]), reconnectMs: [100, 300] }),
      group({ delivered: 98, histogram: histogramOf([3_000]), reconnects: 2, reconnectedClients: 2, reconnectMs: [200] }),
    ];
    const r = transportResult("websocket", "wirelab", groups, facts());
    expect(r).toMatchObject({ transport: "websocket", servedBy: "wirelab", clients: 20, expected: 200, delivered: 198, lost: 2, duplicated: 0 });
    expect(r.latency.count).toBe(3);
    expect(r.latency.p50).toBeCloseTo(2, 1);
    expect(r.latency.max).toBeCloseTo(3, 1);
    // 160 measured deliveries between the first measured send (1 s) and the last delivery (3 s).
    expect(r.deliveriesPerSecond).toBe(80);
    expect(r.requestsPerMessage).toBeCloseTo(40 / 198, 12);
    expect(r.bytesPerMessage).toBeCloseTo(61_800 / 198, 12);
    expect(r.reconnectMs).toEqual({ count: 3, meanMs: 200, maxMs: 300 });
    expect(r.reconnectDistribution).toMatchObject({ p50: 200, p99: 300 });
    expect(r.connectMs).toMatchObject({ count: 3, p50: 10 });
    // 10 MB more RSS per 1,000 connections.
    expect(r.memoryPerConnectionBytes).toBe(10_000);
    expect(r.timeline).toEqual([{ t: 0, perSecond: 12.346 }]);
  });

  test("a client that cannot tell its instance leaves movedClients unknown; no server figures, no bytes per message", () => {
    const r = transportResult("websocket", "socket.io", [group({}), group({ movedClients: null })], facts({ wire: null }));
    expect(r.movedClients).toBeNull();
    expect(r.bytesPerMessage).toBeNull();
  });
});
