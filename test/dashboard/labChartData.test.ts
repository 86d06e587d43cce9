/** What a lab's live charts are given, read from a result's timeline. */
import { expect, test } from "vitest";
import { LAB_CHARTS, labSeries, stepMarkers } from "../../web/src/app/charts/labChartData.js";
import { TRANSPORT_LOOK } from "../../web/src/app/transports.js";
import type { LabResult } from "../../web/src/isomorphic/lab/index.js";

const result = {
  timeline: [
    { t: 500, transport: "sse", delivered: 0, requests: 1, latencyP50: null },
    { t: 500, transport: "short-poll", delivered: 0, requests: 2, latencyP50: null },
    { t: 1000, transport: "sse", delivered: 5, requests: 1, latencyP50: 3 },
    { t: 1000, transport: "short-poll", delivered: 2, requests: 4, latencyP50: 800 },
  ],
} as unknown as LabResult;

test("one line per transport of the lab, in seconds, in the transport's colour", () => {
  const data = labSeries(result, ["short-poll", "sse"], "delivered");
  expect(data.datasets.map((d) => d.label)).toEqual(["Short poll", "SSE"]);
  expect(data.datasets[0]!.borderColor).toBe(TRANSPORT_LOOK["short-poll"].color);
  expect(data.datasets[0]!.data).toEqual([
    { x: 0.5, y: 0 },
    { x: 1, y: 2 },
  ]);
  expect(data.datasets[1]!.data).toEqual([
    { x: 0.5, y: 0 },
    { x: 1, y: 5 },
  ]);
});

test("latency starts once there is one; no result draws empty lines", () => {
  expect(labSeries(result, ["sse"], "latencyP50").datasets[0]!.data).toEqual([{ x: 1, y: 3 }]);
  expect(labSeries(null, ["sse", "websocket"], "requests").datasets.map((d) => d.data)).toEqual([[], []]);
});

test("three charts, and a marker where each step began", () => {
  expect(LAB_CHARTS.map((c) => c.field)).toEqual(["delivered", "requests", "latencyP50"]);
  expect(stepMarkers([{ name: "quiet", atMs: 40 }, { name: "burst", atMs: 1040 }])).toEqual([
    { x: 0.04, label: "quiet" },
    { x: 1.04, label: "burst" },
  ]);
});
