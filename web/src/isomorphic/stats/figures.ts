/**
 * The figures a lab result and a benchmark report share, computed once: both say their common
 * fields mean the same, so they must come from the same code (the lab engine and the benchmark's
 * coordinator both call these).
 */
import type { StatsResponse, TransportName } from "../protocol/index.js";
import type { DurationSummary, TransportResult } from "../protocol/labResult.js";

/** What the server counted at its sockets for one transport. */
export type WireCounts = NonNullable<TransportResult["wire"]>;

/** Durations in ms, summed up: count, mean, max, and the median and 99th percentile (nearest rank). */
export interface Distribution extends DurationSummary {
  p50: number | null;
  p99: number | null;
}

/** Rounded to the microsecond: figures in ms, without float noise in reports. */
export function roundMs(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export function distribution(values: readonly number[]): Distribution {
  if (values.length === 0) return { count: 0, meanMs: null, maxMs: null, p50: null, p99: null };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return {
    count: sorted.length,
    meanMs: roundMs(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    maxMs: roundMs(sorted.at(-1)!),
    p50: roundMs(rank(0.5)),
    p99: roundMs(rank(0.99)),
  };
}

/** The count, mean and max of a distribution: what a lab result keeps of reconnect and detection times. */
export function durationSummary(values: readonly number[]): DurationSummary {
  const { count, meanMs, maxMs } = distribution(values);
  return { count, meanMs, maxMs };
}

/** Requests per delivered message; null when nothing was delivered. */
export function perDelivered(total: number, delivered: number): number | null {
  return delivered > 0 ? total / delivered : null;
}

/**
 * Bytes on the wire from the server to the clients per delivered message, headers and framing
 * included, as the server counted them at its sockets; null without the server's figures (a
 * comparison peer has none): the clients' own byte counts miss the framing, so they are not
 * passed off as the same figure.
 */
export function bytesPerMessage(wire: { bytesOut: number } | null, delivered: number): number | null {
  return wire ? perDelivered(wire.bytesOut, delivered) : null;
}

/**
 * The server's socket counters for one transport over the window. A restart starts the counters
 * afresh, so the part before it (read just before the restart) is added to the part after.
 */
export function wireDelta(transport: TransportName, before: StatsResponse | null, atRestart: StatsResponse | null, after: StatsResponse | null): WireCounts | null {
  if (!before || !after) return null;
  const b = before.transports[transport];
  const a = after.transports[transport];
  if (atRestart) {
    const r = atRestart.transports[transport];
    return { requests: r.requests - b.requests + a.requests, bytesIn: r.bytesIn - b.bytesIn + a.bytesIn, bytesOut: r.bytesOut - b.bytesOut + a.bytesOut };
  }
  return { requests: a.requests - b.requests, bytesIn: a.bytesIn - b.bytesIn, bytesOut: a.bytesOut - b.bytesOut };
}
