/**
 * CPU time and resident memory of another process, read from /proc (Linux). On other systems
 * every read answers null and the report leaves those figures out.
 */
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux in practice. */
const TICKS_PER_SECOND = 100;

export interface ProcessSample {
  /** User + system CPU seconds since the process started. */
  cpuSeconds: number;
  rssBytes: number;
  peakRssBytes: number;
}

export function sampleProcess(pid: number): ProcessSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces; count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
    const sample = { cpuSeconds: (utime + stime) / TICKS_PER_SECOND, rssBytes: kb("VmRSS"), peakRssBytes: kb("VmHWM") };
    return Object.values(sample).every(Number.isFinite) ? sample : null;
  } catch {
    return null;
  }
}

/** The soft limit on open files of this process (connections need one each), or null. */
/** Several processes as one (the instances of a cluster): CPU and memory added up. */
export function sampleProcesses(pids: readonly number[]): ProcessSample | null {
  const samples = pids.map(sampleProcess);
  if (samples.some((s) => s === null)) return null;
  return samples.reduce((a, b) => ({ cpuSeconds: a!.cpuSeconds + b!.cpuSeconds, rssBytes: a!.rssBytes + b!.rssBytes, peakRssBytes: a!.peakRssBytes + b!.peakRssBytes }))!;
}

export function openFilesLimit(): number | null {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const match = /^Max open files\s+(\d+)/m.exec(limits);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Least-squares slope of y over x: bytes per connection from (connections, RSS) samples.
 * Null with fewer than two distinct x values.
 */
export function slope(points: Array<{ x: number; y: number }>): number | null {
  if (points.length < 2) return null;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  if (sxx === 0) return null;
  return points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx;
}
