/**
 * The result format of a run: one schema for the dashboard, the labs and the benchmark, so
 * that a figure means the same thing wherever it is shown.
 */
import type { TransportName } from "../protocol/index.js";
import type { Metric } from "./LabDefinition.js";

export interface LatencySummary {
  /** Samples: deliveries that carried the sender's clock. */
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface DurationSummary {
  count: number;
  meanMs: number | null;
  maxMs: number | null;
}

export interface TransportResult {
  transport: TransportName;
  clients: number;
  /** Messages the lab sent × receiving clients: what should have arrived. */
  expected: number;
  /** Distinct lab messages that arrived, summed over clients. */
  delivered: number;
  /** expected − delivered, after the settle time. */
  lost: number;
  /** Messages an application saw twice (the kit drops duplicates, so this must stay 0). */
  duplicated: number;
  latency: LatencySummary;
  /** HTTP requests the clients made (polls, sends, the SSE GET, WebSocket upgrades). */
  requests: number;
  requestsPerMessage: number | null;
  /** Payload bytes the clients could observe. */
  clientBytesIn: number;
  clientBytesOut: number;
  /** What the server counted at its sockets for this transport during the run, headers included. */
  wire: { requests: number; bytesIn: number; bytesOut: number } | null;
  /** Bytes on the wire (server → clients) per delivered message; from the clients' view without server figures. */
  bytesPerMessage: number | null;
  reconnects: number;
  /** From a connection leaving "open" to being open again. */
  reconnectMs: DurationSummary;
  /** From a black hole starting to the client noticing (leaving "open"); `of` clients were affected. */
  detectMs: (DurationSummary & { of: number }) | null;
}

/**
 * What can be read per phase: how much a counter grew between the phase's start and end, and
 * reconnectSpreadMs, the time between the first and the last client coming back within the phase.
 */
export const PHASE_METRICS = ["requests", "delivered", "reconnects", "reconnectSpreadMs"] as const;
export type PhaseMetric = (typeof PHASE_METRICS)[number];

export interface PhaseRecord {
  name: string;
  kind: string;
  /** Offsets from the start of the run, in ms. */
  startMs: number;
  endMs: number;
  /** Per transport, how much each counter grew during the phase. */
  transports: Partial<Record<TransportName, Record<PhaseMetric, number>>>;
}

export interface LabResult {
  /** Format version of this object. */
  format: 1;
  lab: { id: string; title: string };
  room: string;
  startedAt: number;
  durationMs: number;
  /** Messages the lab sent and the server acknowledged. */
  sent: number;
  parameters: { clients: number; transports: TransportName[]; messageBytes: number; timeScale: number };
  transports: TransportResult[];
  phases: PhaseRecord[];
  /** Samples over time for charts: one per transport per tick. */
  timeline: Array<{ t: number; transport: TransportName; delivered: number; requests: number; latencyP50: number | null }>;
}

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
