/**
 * The figures a lab result and a benchmark report share, computed once: both say their common
 * fields mean the same, so they must come from the same code (the lab engine and the benchmark's
 * coordinator both call these).
 */
import type { DurationSummary } from "../protocol/labResult.js";

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
