/** What the four charts are given, built from a workbench that has seen real traffic. */
import { EventSource } from "eventsource";
import { WebSocket } from "ws";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Wirelab } from "../../server/app.js";
import { cumulativeBytes, latencyDistribution, latencyOverTime, requestRate, SPECTRUM_LABELS } from "../../web/src/app/charts/chartData.js";
import { TRANSPORT_LOOK } from "../../web/src/app/transports.js";
import { Workbench } from "../../web/src/viewmodels/Workbench.js";
import { TRANSPORTS, startServer, until } from "../helpers.js";

let server: Wirelab;
let wb: Workbench;
beforeAll(async () => {
  server = await startServer();
  wb = await Workbench.join(server.url, "ada", "charts", {
    tickMs: 100,
    clientOptions: { EventSource: EventSource as never, WebSocket: WebSocket as never, intervalMs: 50, waitMs: 5_000 },
  });
  await wb.start();
  await until(() => TRANSPORTS.every((t) => wb.monitors[t].state === "open"), "all open");
  await wb.send("websocket", "one");
  await wb.send("sse", "two");
  await until(() => TRANSPORTS.every((t) => wb.monitors[t].latency.count === 2), "two messages everywhere");
  let ticks = 0;
  wb.on("tick", () => ticks++);
  await until(() => ticks >= 2, "two samples");
});
afterAll(async () => {
  wb.stop();
  await server.close();
});

test("latency over time: one series per transport, one point per counted message", () => {
  const data = latencyOverTime(wb);
  expect(data.datasets.map((d) => d.label)).toEqual(TRANSPORTS.map((t) => TRANSPORT_LOOK[t].label));
  for (const [i, t] of TRANSPORTS.entries()) {
    expect(data.datasets[i]!.data).toHaveLength(2);
    expect(data.datasets[i]!.borderColor).toBe(TRANSPORT_LOOK[t].color);
  }
});

test("latency distribution: the percentile spectrum of each transport's histogram", () => {
  const data = latencyDistribution(wb);
  expect(data.labels).toEqual(SPECTRUM_LABELS);
  expect(SPECTRUM_LABELS[0]).toBe("min");
  expect(SPECTRUM_LABELS.at(-1)).toBe("max");
  for (const [i, t] of TRANSPORTS.entries()) {
    const values = data.datasets[i]!.data as number[];
    expect(values).toHaveLength(SPECTRUM_LABELS.length);
    expect(values.at(-1)).toBe(wb.monitors[t].latency.max);
  }
});

test("request rate and cumulative bytes: sampled series, wire and payload side by side", () => {
  const rate = requestRate(wb);
  expect(rate.datasets).toHaveLength(4);
  expect(rate.datasets[0]!.data.length).toBeGreaterThanOrEqual(2);
  const bytes = cumulativeBytes(wb);
  expect(bytes.datasets.map((d) => d.label)).toEqual(TRANSPORTS.flatMap((t) => [`${TRANSPORT_LOOK[t].label} wire`, `${TRANSPORT_LOOK[t].label} payload`]));
  // Payload lines are dashed; wire lines solid.
  expect(bytes.datasets[1]!.borderDash).toEqual([6, 4]);
  expect(bytes.datasets[0]!.borderDash).toBeUndefined();
  // The chart gets copies: Chart.js may not touch the series' own arrays.
  expect(bytes.datasets[1]!.data).not.toBe(wb.monitors["short-poll"].bytesSeries.points);
});
