/** Durations in lab files: "500ms", "10s", "2m", or a number of milliseconds. */
const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000 };

/**
 * The longest duration: what a timer can wait (2^31 - 1 ms, 24.8 days). setTimeout runs a longer
 * one at once, so "idle: 40000m" would idle for a millisecond; and 400 nines of seconds are
 * Infinity ms, a send phase that never ends.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

export const DURATION_HINT = 'a duration like "500ms", "10s" or "2m", or a number of milliseconds (at most 24 days)';

export function parseDuration(value: unknown): number | null {
  const ms = typeof value === "number" ? value : typeof value === "string" ? fromText(value) : null;
  return ms !== null && Number.isFinite(ms) && ms >= 0 && ms <= MAX_DURATION_MS ? ms : null;
}

function fromText(value: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$/.exec(value);
  if (!match) return null;
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}

export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${+(ms / 1_000).toFixed(1)} s`;
  return `${+(ms / 60_000).toFixed(1)} min`;
}
