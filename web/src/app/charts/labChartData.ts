/**
 * The data of a lab's live charts, read from a LabResult's timeline (one sample per transport
 * per tick). Pure (no DOM, no Chart.js instance), so what a chart shows can be tested in Node.
 */
import type { ChartData } from "chart.js";
import type { LabResult } from "../../isomorphic/lab/index.js";
import type { Point } from "../../viewmodels/TimeSeries.js";
import type { TransportName } from "../../isomorphic/protocol/index.js";
import { TRANSPORT_LOOK } from "../transports.js";

export type LabSeriesField = "delivered" | "requests" | "latencyP50";

export interface LabChartSpec {
  id: string;
  field: LabSeriesField;
  title: string;
  caption: string;
  axis: string;
}

export const LAB_CHARTS: readonly LabChartSpec[] = [
  { id: "delivered", field: "delivered", title: "Messages delivered", caption: "Lab messages that arrived, all clients of a transport together.", axis: "messages" },
  { id: "requests", field: "requests", title: "HTTP requests", caption: "Requests the clients made: polls, sends, the SSE GET, the WebSocket upgrade.", axis: "requests" },
  { id: "latency", field: "latencyP50", title: "Latency, median so far", caption: "p50 of every message counted up to that moment, send to arrival.", axis: "latency p50 (ms)" },
];

/** One line per transport: the field over seconds since the run started. */
export function labSeries(result: LabResult | null, transports: readonly TransportName[], field: LabSeriesField): ChartData<"scatter", Point[]> {
  const timeline = result?.timeline ?? [];
  return {
    datasets: transports.map((t) => {
      const points: Point[] = [];
      for (const sample of timeline) {
        const y = sample.transport === t ? sample[field] : null;
        if (y !== null && y !== undefined) points.push({ x: sample.t / 1000, y });
      }
      return {
        label: TRANSPORT_LOOK[t].label,
        data: points,
        borderColor: TRANSPORT_LOOK[t].color,
        backgroundColor: TRANSPORT_LOOK[t].color,
        showLine: true,
        borderWidth: 2.5,
        // Points too: a short run has few samples, and a single one must still show.
        pointRadius: 2.5,
        pointHitRadius: 6,
      };
    }),
  };
}

/** Vertical markers where each step began, in seconds. */
export function stepMarkers(starts: ReadonlyArray<{ name: string; atMs: number }>): Array<{ x: number; label: string }> {
  return starts.map((s) => ({ x: s.atMs / 1000, label: s.name }));
}
