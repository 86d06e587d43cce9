/** Number formatting shared by every view: short, stable widths, never "NaN". */

/** "812 B", "12.4 kB", "3.05 MB" (decimal units, as network tools count). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "—";
  const abs = Math.abs(bytes);
  if (abs < 1000) return `${Math.round(bytes)} B`;
  if (abs < 1_000_000) return `${(bytes / 1000).toFixed(abs < 10_000 ? 2 : 1)} kB`;
  return `${(bytes / 1_000_000).toFixed(abs < 10_000_000 ? 2 : 1)} MB`;
}

/** Latency: "0.4 ms", "12 ms", "2.01 s"; "—" when there is no value yet. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** Time spent in a state: "0 s", "42 s", "3 m 07 s", "1 h 02 m". */
export function formatElapsed(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} m ${String(seconds % 60).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} m`;
}

/** A count with thousands separators: "12,345". */
export function formatCount(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "—";
}

/** A rate: "0.50/s", "12/s". */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return "—";
  return perSecond < 10 ? `${perSecond.toFixed(2)}/s` : `${Math.round(perSecond)}/s`;
}
