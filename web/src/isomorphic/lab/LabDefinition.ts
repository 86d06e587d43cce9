/**
 * A lab as the engine runs it: the scenario, what to measure and the checkpoints, read from a
 * lab file by labFile.ts; and what a lab asks of whoever runs it (an instructor, the emulator).
 */
import type { TransportName } from "../protocol/index.js";
import type { Metric } from "./metrics.js";
import type { ExplainVariant } from "./explain.js";

export const PHASE_KINDS = ["idle", "send", "burst", "drop", "restart", "kill", "network", "blackhole", "refuse", "stall", "settle", "jitter"] as const;
export type PhaseKind = (typeof PHASE_KINDS)[number];

/** One step of a scenario, with every duration in ms. */
export type Phase = { name: string } & (
  | { kind: "idle"; ms: number }
  | { kind: "settle"; ms: number }
  | { kind: "send"; rate: number; ms: number; via?: TransportName }
  | { kind: "burst"; count: number; via?: TransportName }
  | { kind: "drop"; transport: TransportName | "all" }
  | { kind: "restart"; downtimeMs: number }
  /** SIGKILL the cluster instance that serves the most of the lab's clients. */
  | { kind: "kill" }
  | { kind: "network"; conditions: unknown; transport?: TransportName }
  | { kind: "blackhole"; ms: number; transport?: TransportName }
  | { kind: "refuse"; ms: number }
  | { kind: "stall"; ms: number }
  | { kind: "jitter"; on: boolean }
);

/** How the expected answer is read from the result; `phase` limits a counter to one phase. */
export type Answer = { metric: Metric; phase?: string } & (
  | { kind: "most" }
  | { kind: "least" }
  | { kind: "total" }
  | { kind: "value"; transport: TransportName }
);

export interface Checkpoint {
  id: string;
  question: string;
  answer: Answer;
  /** When set, the computed answer must equal it: a correctness check (the CLI fails when it does not). */
  expect?: string | number;
  /** For numeric answers: how far a learner's answer may be off, relative (0.2 = 20 %). Defaults to 0.25. */
  tolerance: number;
  /**
   * Shown after the learner answers: what to look at and why. Variants in order, the last one
   * unconditional; their text may name measured values (see explain.ts).
   */
  explain?: ExplainVariant[];
}

export interface Scenario {
  transports: TransportName[];
  /** Receiving clients per transport. */
  clients: number;
  /** Size of each chat message's text, in characters. */
  messageBytes: number;
  pollIntervalMs: number;
  longPollWaitMs: number;
  backoff: { baseMs: number; capMs: number; jitter: boolean };
  /** Time-out of one HTTP request (a long poll adds its wait). */
  requestTimeoutMs: number;
  /** Network conditions at the start (a preset name or conditions), or none. */
  network?: unknown;
  /** Instances the lab needs: 1 for any workbench; more for a cluster on Redis (the CLI starts one). */
  instances: number;
  phases: Phase[];
  /** How long to wait at the end for late messages before counting what was lost. */
  settleMs: number;
}

export interface LabDefinition {
  id: string;
  title: string;
  summary: string;
  browserOnly: boolean;
  scenario: Scenario;
  measure: Metric[];
  checkpoints: Checkpoint[];
  /** The instructions, Markdown. */
  body: string;
}

const ADMIN_PHASES: ReadonlySet<PhaseKind> = new Set(["drop", "restart", "kill", "network", "blackhole", "refuse", "stall"]);

/** Does the lab change the network or the server? Then only an instructor session may run it. */
export function labNeedsInstructor(lab: LabDefinition): boolean {
  return lab.scenario.network !== undefined || lab.scenario.phases.some((p) => ADMIN_PHASES.has(p.kind));
}

/** Does the lab change the emulated network? Then its clients must connect through the emulator. */
export function labTouchesNetwork(lab: LabDefinition): boolean {
  return lab.scenario.network !== undefined || lab.scenario.phases.some((p) => p.kind === "network" || p.kind === "blackhole");
}

/** Scale every timed phase by `factor` (for quick runs in CI); counts and rates stay. */
export function scaleLab(lab: LabDefinition, factor: number): LabDefinition {
  if (factor === 1) return lab;
  const scale = (ms: number) => Math.max(1, Math.round(ms * factor));
  const phases = lab.scenario.phases.map((p): Phase => {
    switch (p.kind) {
      case "idle":
      case "settle":
      case "refuse":
      case "stall":
      case "blackhole":
      case "send":
        return { ...p, ms: scale(p.ms) };
      case "restart":
        return { ...p, downtimeMs: scale(p.downtimeMs) };
      default:
        return p;
    }
  });
  return { ...lab, scenario: { ...lab.scenario, phases } };
}
