/** A lab in words: its steps, its numbers, and the browser's connection budget. */
import { describe, expect, test } from "vitest";
import { parseLab, type Phase } from "../../web/src/isomorphic/lab/index.js";
import { comfortableClients, describePhase, formatMetric, heldConnections, plannedMs } from "../../web/src/viewmodels/labText.js";

const lab = (scenario: string) => parseLab("labs/01-x.md", `---\ntitle: T\nsummary: S\nscenario:\n${scenario}\n---\n`);

describe("describePhase", () => {
  test.each<[Phase, string]>([
    [{ kind: "idle", name: "", ms: 10_000 }, "nothing happens for 10 s"],
    [{ kind: "settle", name: "", ms: 500 }, "wait 500 ms for reconnects to finish"],
    [{ kind: "send", name: "", rate: 1, ms: 10_000 }, "1 message a second for 10 s"],
    [{ kind: "send", name: "", rate: 5, ms: 4_000, via: "websocket" }, "5 messages a second for 4 s, sent over websocket"],
    [{ kind: "burst", name: "", count: 1 }, "1 message at once"],
    [{ kind: "burst", name: "", count: 2000 }, "2,000 messages at once"],
    [{ kind: "drop", name: "", transport: "all" }, "the server cuts every open connection"],
    [{ kind: "drop", name: "", transport: "sse" }, "the server cuts every sse connection"],
    [{ kind: "restart", name: "", downtimeMs: 1000 }, "the server restarts (down 1 s)"],
    [{ kind: "network", name: "", conditions: "slow-3g" }, "network: slow-3g"],
    [{ kind: "network", name: "", conditions: "none" }, "network: back to normal"],
    [{ kind: "network", name: "", conditions: { down: { latencyMs: 300 } }, transport: "sse" }, "network: custom conditions (sse only)"],
    [{ kind: "blackhole", name: "", ms: 20_000 }, "the network silently carries nothing for 20 s"],
    [{ kind: "refuse", name: "", ms: 5_000 }, "the server refuses new connections for 5 s"],
    [{ kind: "stall", name: "", ms: 2_000 }, "the server's event loop is blocked for 2 s"],
    [{ kind: "jitter", name: "", on: false }, "reconnect jitter off: every client waits the full backoff"],
    [{ kind: "jitter", name: "", on: true }, "reconnect jitter back on"],
  ])("%o", (phase, text) => {
    expect(describePhase(phase)).toBe(text);
  });
});

test("plannedMs adds up the timed steps", () => {
  const l = lab(`  phases:\n    - idle: 10s\n    - burst: 5\n    - send: { rate: 2, for: 3s }\n    - restart: { downtime: 1s }\n    - drop: all`);
  expect(plannedMs(l)).toBe(14_000);
});

test("held connections: one per long poll and SSE client; WebSockets do not count", () => {
  const all = lab(`  phases:\n    - idle: 1s`);
  expect(heldConnections(all, 2)).toBe(4);
  expect(comfortableClients(all)).toBe(2);
  const sseOnly = lab(`  transports: [sse]\n  phases:\n    - idle: 1s`);
  expect(comfortableClients(sseOnly)).toBe(4);
  const ws = lab(`  transports: [websocket, short-poll]\n  phases:\n    - idle: 1s`);
  expect(heldConnections(ws, 10)).toBe(0);
  expect(comfortableClients(ws)).toBeNull();
});

test("formatMetric: bytes, ms, ratios and counts; a dash when not measured", () => {
  expect(formatMetric("bytesPerMessage", 512.4)).toBe("512 B");
  expect(formatMetric("wireBytesOut", 15_500)).toBe("15.5 kB");
  expect(formatMetric("requestsPerMessage", 2)).toBe("2.00");
  expect(formatMetric("latency.p50", 1023.4)).toBe("1,023");
  expect(formatMetric("latency.p50", 2.25)).toBe("2.3");
  expect(formatMetric("latency.p95", 3)).toBe("3");
  expect(formatMetric("requests", 12_345)).toBe("12,345");
  expect(formatMetric("detectMs", null)).toBe("—");
  expect(formatMetric("lost", undefined)).toBe("—");
});
