/**
 * The benchmark's report. Per transport it extends the lab engine's TransportResult (one metric
 * schema for the dashboard, the labs and the benchmark): the shared fields mean the same thing
 * here, and the bench-only figures (p90, p99.9, deliveries per second, connect time, server CPU
 * and memory) are added beside them. validateReport() is the gate `wirelab bench` exits through.
 */
import { z } from "zod";
import { TRANSPORTS, describeIssues } from "../../web/src/isomorphic/protocol/index.js";
import type { LatencySummary, TransportResult } from "../../web/src/isomorphic/lab/LabResult.js";
import type { Distribution } from "../../web/src/isomorphic/stats/figures.js";
import type { InstanceSeries } from "./InstanceSampler.js";
import { PEERS, type BenchParameters, type PeerName, type ServedBy } from "./parameters.js";

export type { ServedBy };

export type { InstanceSample, InstanceSeries } from "./InstanceSampler.js";

/** Latency of measured deliveries (send → handed to the application), in ms. */
export interface BenchLatency extends LatencySummary {
  mean: number | null;
  p90: number | null;
  p999: number | null;
  /** The latency CDF for charts: the value at each percentile. */
  cdf: Array<{ percentile: number; ms: number }>;
}

export type { Distribution };

/** The server process, read from /proc (Linux). Null elsewhere. */
export interface ServerUsage {
  /** User + system CPU seconds spent during the measured window. */
  cpuSeconds: number;
  /** cpuSeconds / wall seconds of the window: 1.0 is one full core. */
  cpuCores: number;
  /** Resident memory at the end of the run. */
  rssBytes: number;
  /** The highest resident memory the process reached. */
  peakRssBytes: number;
}

export interface MemorySample {
  /** Open connections of this transport (clients) when the sample was taken. */
  connections: number;
  rssBytes: number;
}


export interface BenchTransportResult extends TransportResult {
  /** For a peer, the wirelab transport it is compared with ("websocket", or "long-poll" for socket.io-polling). */
  servedBy: ServedBy;
  latency: BenchLatency;
  /** Messages delivered after the warm-up: the ones whose latency is measured. */
  measured: number;
  /** Measured deliveries per second, from the first measured send to the last measured delivery. */
  deliveriesPerSecond: number | null;
  /** From a client's connect() to its connection being open. */
  connectMs: Distribution;
  /** Time from the first connect() to the last client being open. */
  connectAllMs: number | null;
  /** From a connection leaving "open" to being open again (as reconnectMs, with percentiles). */
  reconnectDistribution: Distribution;
  /** Clients whose kit reconnected at least once during the window, counted from the kit's own counters. */
  reconnectedClients: number;
  /**
   * Clients that ended the window served by another server instance than at its start (every
   * client, after a restart); null where the client cannot tell (a peer).
   */
  movedClients: number | null;
  /** Server process figures; shared by every transport when they ran together. */
  server: ServerUsage | null;
  /** Server RSS growth per open connection (slope of the memory samples), in bytes. */
  memoryPerConnectionBytes: number | null;
  memorySamples: MemorySample[];
  /**
   * Each server instance over the measured window (every --sample-interval, and at its end): RSS
   * and event-loop lag. Shared by every transport when they ran together, like server.
   */
  instances: InstanceSeries[];
  /** Deliveries per second over time, for charts: t is ms since the measured window began. */
  timeline: Array<{ t: number; perSecond: number }>;
  /** Sends the server never acknowledged (network errors while it was down, after every retry). */
  sendFailures: number;
}

export interface ScenarioResult {
  name: string;
  description: string;
  /** True when every transport ran at once against one server. */
  together: boolean;
  /** True when the server was restarted in place during the window. */
  restarted: boolean;
  /** Messages acknowledged by the server (over every room). */
  sent: number;
  durationMs: number;
  transports: BenchTransportResult[];
  /** The same units against the --baseline checkout's server (servedBy "baseline"); empty without one. */
  baseline: BenchTransportResult[];
  /** The same scenario against each comparison peer (--peer) that runs in it, in --peer order. */
  peers: BenchTransportResult[];
}

export interface MachineInfo {
  platform: string;
  release: string;
  arch: string;
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  /** The open-files limit the bench ran with (each connection needs one on both sides). */
  openFilesLimit: number | null;
}

/**
 * Format 2: scenarios hold `peers` (a list) and `baseline`. Format 1 had one `peer` (or null) and
 * no baseline; validateReport still reads it, and upgradeReport turns it into format 2.
 */
export interface BenchReport {
  format: 2;
  kind: "wirelab-bench";
  startedAt: number;
  finishedAt: number;
  command: string;
  parameters: BenchParameters;
  machine: MachineInfo;
  scenarios: ScenarioResult[];
  /** Every correctness failure found (lost or duplicated messages, clients that never connected). */
  failures: string[];
}

const num = z.number();
const nullableNum = num.nullable();
const count = z.number().int().nonnegative();
const transportName = z.enum(TRANSPORTS);

const distribution = z.object({ count, meanMs: nullableNum, maxMs: nullableNum, p50: nullableNum, p99: nullableNum });

const transportSchema = z.object({
  transport: transportName,
  servedBy: z.enum(["wirelab", "baseline", ...PEERS]),
  clients: count,
  expected: count,
  delivered: count,
  lost: count,
  duplicated: count,
  measured: count,
  latency: z.object({
    count,
    mean: nullableNum,
    p50: nullableNum,
    p90: nullableNum,
    p95: nullableNum,
    p99: nullableNum,
    p999: nullableNum,
    max: nullableNum,
    cdf: z.array(z.object({ percentile: num, ms: num })),
  }),
  deliveriesPerSecond: nullableNum,
  requests: count,
  requestsPerMessage: nullableNum,
  clientBytesIn: count,
  clientBytesOut: count,
  wire: z.object({ requests: count, bytesIn: count, bytesOut: count }).nullable(),
  bytesPerMessage: nullableNum,
  reconnects: count,
  reconnectMs: z.object({ count, meanMs: nullableNum, maxMs: nullableNum }),
  reconnectDistribution: distribution,
  reconnectedClients: count,
  movedClients: count.nullable(),
  detectMs: z.null(),
  connectMs: distribution,
  connectAllMs: nullableNum,
  server: z.object({ cpuSeconds: num, cpuCores: num, rssBytes: count, peakRssBytes: count }).nullable(),
  memoryPerConnectionBytes: nullableNum,
  memorySamples: z.array(z.object({ connections: count, rssBytes: count })),
  instances: z.array(
    z.object({
      instance: z.number().int().positive(),
      pid: count,
      samples: z.array(z.object({ t: num, rssBytes: count.nullable(), eventLoopLagP99Ms: nullableNum, eventLoopLagMaxMs: nullableNum })),
    }),
  ),
  timeline: z.array(z.object({ t: num, perSecond: num })),
  sendFailures: count,
});

const scenarioBase = {
  name: z.string(),
  description: z.string(),
  together: z.boolean(),
  restarted: z.boolean(),
  sent: count,
  durationMs: num,
  transports: z.array(transportSchema).min(1),
};

const reportBase = {
  kind: z.literal("wirelab-bench"),
  startedAt: count,
  finishedAt: count,
  command: z.string(),
  parameters: z.looseObject({ scenarios: z.array(z.string()).min(1), transports: z.array(transportName).min(1) }),
  machine: z.object({
    platform: z.string(),
    release: z.string(),
    arch: z.string(),
    cpus: count,
    cpuModel: z.string(),
    memoryBytes: count,
    node: z.string(),
    openFilesLimit: count.nullable(),
  }),
  failures: z.array(z.string()),
};

const reportSchema = z.discriminatedUnion("format", [
  z.object({
    ...reportBase,
    format: z.literal(2),
    scenarios: z.array(z.object({ ...scenarioBase, baseline: z.array(transportSchema), peers: z.array(transportSchema) })).min(1),
  }),
  z.object({
    ...reportBase,
    format: z.literal(1),
    scenarios: z.array(z.object({ ...scenarioBase, peer: transportSchema.nullable() })).min(1),
  }),
]);

type ParsedReport = z.infer<typeof reportSchema>;

/** A format 1 report as format 2 (its one peer, or none, becomes the list; no baseline); format 2 as it is. */
function upgrade(report: ParsedReport): Extract<ParsedReport, { format: 2 }> {
  if (report.format === 2) return report;
  const scenarios = report.scenarios.map(({ peer, ...scenario }) => ({ ...scenario, baseline: [], peers: peer ? [peer] : [] }));
  return { ...report, format: 2, scenarios };
}

/**
 * Read a report written by any version of `wirelab bench` (e.g. a parsed JSON file) as the current
 * format, or the problems that make it unreadable.
 */
export function upgradeReport(input: unknown): { report: BenchReport; problems: [] } | { report: null; problems: string[] } {
  const parsed = reportSchema.safeParse(input);
  if (!parsed.success) return { report: null, problems: [`malformed report: ${describeIssues(parsed.error)}`] };
  const upgraded = upgrade(parsed.data);
  // The schema checks the figures; the parameters are kept as they were written.
  return { report: { ...upgraded, parameters: upgraded.parameters as unknown as BenchParameters } as BenchReport, problems: [] };
}

/** How a result is named in failures and column headers: "websocket", "websocket (baseline)", "ws (peer)". */
export function resultName(t: Pick<BenchTransportResult, "transport" | "servedBy">): string {
  if (t.servedBy === "wirelab") return t.transport;
  if (t.servedBy === "baseline") return `${t.transport} (baseline)`;
  return `${t.servedBy} (peer)`;
}

/**
 * Transports that hold a connection open: a restart closes it, so every one of their clients must
 * reconnect. A poll client is between requests most of the time (a short poll) or for one
 * event-loop turn (a long poll): one that sent nothing while the server was down crosses the
 * restart with its next request, without a reconnect, and that is correct.
 */
/** A result in a failure line: wirelab's by transport, the baseline's marked, a peer by its name (as before lists). */
function failureName(t: Pick<BenchTransportResult, "transport" | "servedBy">): string {
  return t.servedBy === "wirelab" || t.servedBy === "baseline" ? resultName(t) : t.servedBy;
}

const HOLDS_A_CONNECTION: ReadonlySet<string> = new Set(["sse", "websocket"]);

/** What a restart guarantees, whatever the timing: nobody is left on the stopped instance, and no held connection survives it. */
function restartProblems(where: string, t: z.infer<typeof transportSchema>): string[] {
  const problems: string[] = [];
  if (t.movedClients !== null && t.movedClients < t.clients) {
    problems.push(`${where}: ${t.clients - t.movedClients} client(s) never reached the restarted server`);
  }
  if (HOLDS_A_CONNECTION.has(t.transport) && t.reconnectedClients < t.clients) {
    problems.push(`${where}: ${t.clients - t.reconnectedClients} client(s) kept a connection through the restart without reconnecting`);
  }
  return problems;
}

/**
 * Check a report: its shape, and that nothing was lost or duplicated. Returns the problems found
 * (empty when the report is well-formed and clean). Accepts unknown input, e.g. a parsed JSON file.
 */
export function validateReport(input: unknown): string[] {
  const parsed = reportSchema.safeParse(input);
  if (!parsed.success) return [`malformed report: ${describeIssues(parsed.error)}`];
  const report = upgrade(parsed.data);
  const problems: string[] = [];
  for (const scenario of report.scenarios) {
    for (const t of [...scenario.transports, ...scenario.baseline, ...scenario.peers]) {
      const where = `${scenario.name}/${failureName(t)}`;
      if (t.lost > 0) problems.push(`${where}: ${t.lost} message(s) lost`);
      if (t.duplicated > 0) problems.push(`${where}: ${t.duplicated} message(s) duplicated`);
      if (t.delivered + t.lost !== t.expected) problems.push(`${where}: delivered + lost (${t.delivered + t.lost}) is not expected (${t.expected})`);
      if (t.expected === 0) problems.push(`${where}: no message was expected: the scenario sent nothing`);
      if (scenario.restarted) problems.push(...restartProblems(where, t));
    }
  }
  for (const failure of report.failures) if (!problems.includes(failure)) problems.push(failure);
  return problems;
}
