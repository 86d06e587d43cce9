/** The lab engine's figures for one transport, from known receiver tallies (no clients running). */
import { expect, test } from "vitest";
import { receiversResult, type ReceiverTally } from "../../web/src/isomorphic/lab/receiversResult.js";
import { LatencyDistribution } from "../../web/src/isomorphic/stats/LatencyDistribution.js";

function receiver(seen: Record<string, number>, extra: Partial<ReceiverTally> = {}, counters = { requests: 3, bytesIn: 900, bytesOut: 100, reconnects: 0 }): ReceiverTally {
  return { seen: new Map(Object.entries(seen)), duplicated: 0, reconnectTimes: [], detected: [], blackholed: 0, client: { stats: { counters } }, ...extra };
}

test("counts only the run's own messages, each once, and sums the clients", () => {
  const sent = new Set(["a", "b", "c"]);
  // The second client missed "c" and also saw a message from before the run.
  const receivers = [receiver({ a: 1, b: 1, c: 2 }, { duplicated: 1 }), receiver({ a: 1, b: 1, old: 1 })];
  const latency = new LatencyDistribution();
  for (const ms of [10, 20, 30]) latency.record(ms);
  const r = receiversResult("sse", receivers, latency, sent, { requests: 12, bytesIn: 400, bytesOut: 1_500 });
  expect(r).toMatchObject({ transport: "sse", clients: 2, expected: 6, delivered: 5, lost: 1, duplicated: 1, requests: 6, clientBytesIn: 1_800, clientBytesOut: 200 });
  expect(r.latency.count).toBe(3);
  expect(r.requestsPerMessage).toBeCloseTo(6 / 5, 12);
  expect(r.bytesPerMessage).toBe(300);
  expect(r.detectMs).toBeNull();
});

test("reconnect and detection times are summed up over the clients; a black hole counts its clients", () => {
  const receivers = [
    receiver({}, { reconnectTimes: [100, 300], detected: [5_000], blackholed: 1 }, { requests: 0, bytesIn: 0, bytesOut: 0, reconnects: 2 }),
    receiver({}, { reconnectTimes: [200], detected: [], blackholed: 1 }, { requests: 0, bytesIn: 0, bytesOut: 0, reconnects: 1 }),
  ];
  const r = receiversResult("websocket", receivers, undefined, new Set(), null);
  expect(r.reconnects).toBe(3);
  expect(r.reconnectMs).toEqual({ count: 3, meanMs: 200, maxMs: 300 });
  // Two clients were black-holed; one noticed within the run.
  expect(r.detectMs).toEqual({ count: 1, meanMs: 5_000, maxMs: 5_000, of: 2 });
  expect(r).toMatchObject({ expected: 0, delivered: 0, requestsPerMessage: null, bytesPerMessage: null, wire: null });
  expect(r.latency).toEqual({ count: 0, p50: null, p95: null, p99: null, max: null });
});
