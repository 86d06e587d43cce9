/** Durations in lab files: "500ms", "10s", "2m", or a number of milliseconds. */
const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000 };

export const DURATION_HINT = 'a duration like "500ms", "10s" or "2m", or a number of milliseconds';

export function parseDuration(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : null;
  if (typeof value !== "string") return null;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$/.exec(value);
  if (!match) return null;
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}

export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${+(ms / 1_000).toFixed(1)} s`;
  return `${+(ms / 60_000).toFixed(1)} min`;
}
