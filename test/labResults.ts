/**
 * Lab results for tests, in the shape a run produces (LabResultSchema): built, not run, so a
 * test can say exactly which answer the numbers give.
 */
import type { LabResult, TransportResult } from "../web/src/isomorphic/lab/index.js";
import { TRANSPORTS, type TransportName } from "../web/src/isomorphic/protocol/index.js";

/** One transport's figures: ten messages to one client, nothing lost; `over` says what differs. */
export function transportResult(transport: TransportName, over: Partial<TransportResult> = {}): TransportResult {
  return {
    transport,
    clients: 1,
    expected: 10,
    delivered: 10,
    lost: 0,
    duplicated: 0,
    latency: { count: 10, p50: 5, p95: 9, p99: 10, max: 10 },
    requests: 1,
    requestsPerMessage: 0.1,
    clientBytesIn: 0,
    clientBytesOut: 0,
    wire: null,
    bytesPerMessage: 100,
    reconnects: 0,
    reconnectMs: { count: 0, meanMs: null, maxMs: null },
    detectMs: null,
    ...over,
  };
}

/**
 * A result of lab 01 where short polling made the most requests while the room was quiet and
 * short polling had the highest median latency (1,000 ms); WebSockets the lowest (12 ms).
 */
export function pollingTaxResult(): LabResult {
  const p50: Record<TransportName, number> = { "short-poll": 1_000, "long-poll": 20, sse: 15, websocket: 12 };
  const quiet: Record<TransportName, number> = { "short-poll": 5, "long-poll": 1, sse: 1, websocket: 1 };
  return {
    format: 1,
    lab: { id: "01-polling-tax", title: "The polling tax" },
    room: "lab-test",
    startedAt: Date.now() - 30_000,
    durationMs: 25_000,
    sent: 10,
    parameters: { clients: 1, transports: [...TRANSPORTS], messageBytes: 100, timeScale: 1 },
    transports: TRANSPORTS.map((t) => {
      const requests = quiet[t] + 10;
      return transportResult(t, {
        latency: { count: 10, p50: p50[t], p95: p50[t] * 2, p99: p50[t] * 2, max: p50[t] * 3 },
        requests,
        requestsPerMessage: requests / 10,
        wire: { requests, bytesIn: 2_000, bytesOut: 4_000 },
      });
    }),
    phases: [
      {
        name: "quiet room",
        kind: "idle",
        startMs: 0,
        endMs: 10_000,
        transports: Object.fromEntries(TRANSPORTS.map((t) => [t, { requests: quiet[t], delivered: 0, reconnects: 0, reconnectSpreadMs: 0 }])),
      },
    ],
    timeline: TRANSPORTS.map((t) => ({ t: 1_000, transport: t, delivered: 1, requests: 1, latencyP50: p50[t] })),
  };
}
