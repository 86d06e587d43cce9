/**
 * Does a series grow over a long run? A least-squares line through the samples after the warm-up,
 * and its rise from the first of them to the last: a leak shows as a rise that is large both
 * relative to where it started and in absolute terms (one alone is noise on a quiet or a busy
 * series). Pure, so the verdict is unit-tested on made series.
 */
import { slope } from "../bench/ProcessProbe.js";

export interface TrendLimit {
  /** The rise may be at most this fraction of the fitted start… */
  relative: number;
  /** …or at most this much in the series' own unit, whichever is larger. */
  absolute: number;
}

export interface Trend {
  /** Samples the line was fitted to (those after the warm-up with a value). */
  samples: number;
  /** The fitted value at the first and the last of them. */
  start: number | null;
  end: number | null;
  /** Growth per minute of the fitted line. */
  perMinute: number | null;
  /** True when the rise exceeds both limits: a growth trend. */
  growing: boolean;
}

/** Samples before `warmupFraction` of the run are left out: start-up allocations are not a leak. */
export function trendOf(points: ReadonlyArray<{ t: number; value: number | null }>, limit: TrendLimit, warmupFraction = 0.2): Trend {
  const known = points.filter((p): p is { t: number; value: number } => p.value !== null);
  if (known.length < 3) return { samples: known.length, start: null, end: null, perMinute: null, growing: false };
  const from = known[0]!.t + (known.at(-1)!.t - known[0]!.t) * warmupFraction;
  const kept = known.filter((p) => p.t >= from);
  const perMs = kept.length >= 3 ? slope(kept.map((p) => ({ x: p.t, y: p.value }))) : null;
  if (perMs === null) return { samples: kept.length, start: null, end: null, perMinute: null, growing: false };
  const meanT = kept.reduce((s, p) => s + p.t, 0) / kept.length;
  const meanV = kept.reduce((s, p) => s + p.value, 0) / kept.length;
  const at = (t: number) => meanV + perMs * (t - meanT);
  const start = at(kept[0]!.t);
  const end = at(kept.at(-1)!.t);
  const rise = end - start;
  const growing = rise > limit.absolute && rise > limit.relative * Math.max(Math.abs(start), Number.EPSILON);
  return { samples: kept.length, start, end, perMinute: perMs * 60_000, growing };
}
