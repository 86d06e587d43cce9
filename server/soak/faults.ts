/**
 * The faults a soak injects and the seeded schedule of them. A schedule is pure data, drawn from
 * the seed alone: printed before the run, replayed by `--seed N`, unit-tested without a server.
 */
import { TRANSPORTS, type TransportName } from "../../web/src/isomorphic/protocol/index.js";
import type { SeededRandom } from "./SeededRandom.js";

export const SOAK_VARIANTS = ["single", "cluster"] as const;
/** "single": one instance on its SQLite file; "cluster": two instances on one Redis, behind a front door. */
export type SoakVariant = (typeof SOAK_VARIANTS)[number];

/** Which connections a network fault hits: every one, or one transport's. */
export type FaultTarget = TransportName | "all";

export type Fault =
  /** The emulator ends every targeted connection: "reset" sends an RST, "close" a FIN. */
  | { kind: "drop"; mode: "reset" | "close"; target: FaultTarget }
  /** No byte passes either way, sockets stay open (a dead Wi-Fi): only heartbeats tell. */
  | { kind: "blackhole"; target: FaultTarget; ms: number }
  | { kind: "latency"; target: FaultTarget; latencyMs: number; ms: number }
  | { kind: "bandwidth"; target: FaultTarget; bytesPerSec: number; ms: number }
  /** The instance closes its port and comes back in place (POST /v1/admin/restart). */
  | { kind: "restart"; instance: number; downtimeMs: number }
  /** SIGKILL: no goodbye, no drain; started again on the same port and store after `downtimeMs`. */
  | { kind: "kill"; instance: number; downtimeMs: number }
  /** Redis stops and starts again (cluster only); the instances must ride it out. */
  | { kind: "redis-restart"; downtimeMs: number };

export type FaultKind = Fault["kind"];

/** A fault and when it starts, in ms from the start of the run. */
export interface ScheduledFault {
  atMs: number;
  fault: Fault;
}

export function faultKinds(variant: SoakVariant): FaultKind[] {
  const kinds: FaultKind[] = ["drop", "drop", "blackhole", "latency", "bandwidth", "restart", "kill"];
  return variant === "cluster" ? [...kinds, "redis-restart"] : kinds;
}

export interface ScheduleOptions {
  variant: SoakVariant;
  /** Length of the faulty part of the run, in ms. */
  durationMs: number;
  /** Quiet time before the first fault and between faults, at least, in ms. */
  gapMs: number;
}

/** How long a fault lasts at most (its own duration plus the time its clients need to come back). */
export function faultSpanMs(fault: Fault): number {
  switch (fault.kind) {
    case "drop":
      return 500;
    case "blackhole":
    case "latency":
    case "bandwidth":
      return fault.ms;
    case "restart":
    case "kill":
    case "redis-restart":
      return fault.downtimeMs + 1_000;
  }
}

/**
 * Every kind of the variant at least once (both drop modes among them), in a random order, then
 * more random faults while the duration lasts. Faults follow one another, never overlap: a
 * failure then names the fault it followed.
 */
export function faultSchedule(random: SeededRandom, options: ScheduleOptions): ScheduledFault[] {
  const instances = options.variant === "cluster" ? 2 : 1;
  const kinds = random.shuffle(faultKinds(options.variant));
  const drops = random.shuffle(["reset", "close"] as const);
  const schedule: ScheduledFault[] = [];
  let at = options.gapMs;
  for (let i = 0; i < kinds.length || at < options.durationMs; i++) {
    const kind = i < kinds.length ? kinds[i]! : random.pick(faultKinds(options.variant));
    const fault = drawFault(random, kind, instances, kind === "drop" && drops.length > 0 ? drops.pop()! : random.pick(["reset", "close"] as const));
    // The guaranteed kinds always fit; extra ones only while the duration lasts.
    if (i >= kinds.length && at + faultSpanMs(fault) > options.durationMs) break;
    schedule.push({ atMs: at, fault });
    at += faultSpanMs(fault) + options.gapMs + random.int(0, options.gapMs);
  }
  return schedule;
}

function drawFault(random: SeededRandom, kind: FaultKind, instances: number, mode: "reset" | "close"): Fault {
  const target = (): FaultTarget => random.pick(["all", "all", ...TRANSPORTS] as const);
  switch (kind) {
    case "drop":
      return { kind, mode, target: target() };
    case "blackhole":
      // Longer than a client's liveness bound at the soak's heartbeat, so streams must notice it.
      return { kind, target: target(), ms: random.int(3_500, 5_000) };
    case "latency":
      return { kind, target: target(), latencyMs: random.int(200, 1_500), ms: random.int(1_500, 3_000) };
    case "bandwidth":
      return { kind, target: target(), bytesPerSec: random.int(2_000, 20_000), ms: random.int(1_500, 3_000) };
    case "restart":
      return { kind, instance: random.int(0, instances - 1), downtimeMs: random.int(200, 1_500) };
    case "kill":
      return { kind, instance: random.int(0, instances - 1), downtimeMs: random.int(200, 1_500) };
    case "redis-restart":
      return { kind, downtimeMs: random.int(300, 1_500) };
  }
}

/** One line per fault, as printed before a run and in a failure report. */
export function describeFault({ atMs, fault }: ScheduledFault): string {
  const at = `${(atMs / 1000).toFixed(1).padStart(6)} s`;
  switch (fault.kind) {
    case "drop":
      return `${at}  drop ${fault.target} (${fault.mode === "reset" ? "RST" : "FIN"})`;
    case "blackhole":
      return `${at}  black hole ${fault.target} for ${fault.ms} ms`;
    case "latency":
      return `${at}  +${fault.latencyMs} ms latency on ${fault.target} for ${fault.ms} ms`;
    case "bandwidth":
      return `${at}  ${fault.bytesPerSec} B/s on ${fault.target} for ${fault.ms} ms`;
    case "restart":
      return `${at}  restart instance ${fault.instance} in place, ${fault.downtimeMs} ms down`;
    case "kill":
      return `${at}  kill -9 instance ${fault.instance}, back after ${fault.downtimeMs} ms`;
    case "redis-restart":
      return `${at}  restart Redis, ${fault.downtimeMs} ms down`;
  }
}
