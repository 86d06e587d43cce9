/**
 * Reading and exporting a lab result: the value of a metric, its label, the CSV. The result's
 * shape is the wire format in `protocol/labResult.ts` (re-exported here): one schema for the
 * dashboard, the labs and the benchmark, so that a figure means the same thing wherever it is shown.
 */
import type { TransportName } from "../protocol/index.js";
import type { TransportResult, LabResult } from "../protocol/labResult.js";
import type { Metric } from "./metrics.js";

export * from "../protocol/labResult.js";

/** The value of `metric` for one transport; null when it was not measured. */
export function metricValue(result: TransportResult, metric: Metric): number | null {
  switch (metric) {
    case "latency.p50":
      return result.latency.p50;
    case "latency.p95":
      return result.latency.p95;
    case "latency.p99":
      return result.latency.p99;
    case "latency.max":
      return result.latency.max;
    case "wireBytesIn":
      return result.wire?.bytesIn ?? null;
    case "wireBytesOut":
      return result.wire?.bytesOut ?? null;
    case "reconnectMs":
      return result.reconnectMs.meanMs;
    case "detectMs":
      return result.detectMs?.meanMs ?? null;
    case "reconnectSpreadMs":
      // Only meaningful within one phase (see PhaseRecord); the whole run mixes reconnect waves.
      return null;
    default:
      return result[metric];
  }
}

export const METRIC_LABELS: Record<Metric, string> = {
  delivered: "messages delivered",
  lost: "messages lost",
  duplicated: "messages duplicated",
  requests: "HTTP requests",
  requestsPerMessage: "requests per message",
  bytesPerMessage: "bytes per message",
  wireBytesIn: "bytes in (server)",
  wireBytesOut: "bytes out (server)",
  reconnects: "reconnects",
  reconnectMs: "time to reconnect (ms)",
  reconnectSpreadMs: "first to last reconnect (ms)",
  detectMs: "time to detect a dead link (ms)",
  "latency.p50": "latency p50 (ms)",
  "latency.p95": "latency p95 (ms)",
  "latency.p99": "latency p99 (ms)",
  "latency.max": "latency max (ms)",
};

/** One row per transport, one column per metric: for spreadsheets. */
export function resultToCsv(result: LabResult, metrics: readonly Metric[]): string {
  const header = ["transport", "clients", ...metrics];
  const rows = result.transports.map((t) => [t.transport, String(t.clients), ...metrics.map((m) => formatCell(metricValue(t, m)))]);
  return [header, ...rows].map((row) => row.map(csvCell).join(",")).join("\n") + "\n";
}

function formatCell(value: number | null): string {
  if (value === null) return "";
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

function csvCell(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
