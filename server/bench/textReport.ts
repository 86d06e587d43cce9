/** The terminal form of a BenchReport: one table per scenario, one column per transport. */
import { formatNumber, formatTable } from "../terminal.js";
import { resultName, type BenchReport, type InstanceSeries, type BenchTransportResult, type ScenarioResult } from "./BenchReport.js";
import { PEER_TRANSPORT, type PeerName } from "./parameters.js";

type Row = [label: string, value: (t: BenchTransportResult) => number | null | undefined, digits?: number];

const MB = 1024 * 1024;

export const ROWS: Row[] = [
  ["clients", (t) => t.clients],
  ["delivered", (t) => t.delivered],
  ["lost (must be 0)", (t) => t.lost],
  ["duplicated (must be 0)", (t) => t.duplicated],
  ["latency p50 (ms)", (t) => t.latency.p50],
  ["latency p90 (ms)", (t) => t.latency.p90],
  ["latency p99 (ms)", (t) => t.latency.p99],
  ["latency p99.9 (ms)", (t) => t.latency.p999],
  ["latency max (ms)", (t) => t.latency.max],
  ["deliveries/s", (t) => t.deliveriesPerSecond, 0],
  ["HTTP requests per message", (t) => t.requestsPerMessage, 3],
  ["wire bytes per message", (t) => t.bytesPerMessage, 0],
  ["connect p50 (ms)", (t) => t.connectMs.p50],
  ["connect p99 (ms)", (t) => t.connectMs.p99],
  ["reconnects", (t) => t.reconnects],
  ["clients that reconnected", (t) => t.reconnectedClients],
  ["reconnect p50 (ms)", (t) => t.reconnectDistribution.p50],
  ["reconnect p99 (ms)", (t) => t.reconnectDistribution.p99],
  ["server CPU (s)", (t) => t.server?.cpuSeconds, 2],
  ["server CPU (cores)", (t) => t.server?.cpuCores, 2],
  ["server RSS (MB)", (t) => (t.server ? t.server.rssBytes / MB : null)],
  ["server KB per connection", (t) => (t.memoryPerConnectionBytes === null ? null : t.memoryPerConnectionBytes / 1024)],
];

export const columnName = resultName;

/** The columns of a scenario: each of our transports with its baseline right beside it, then the peers. */
export function scenarioColumns(s: ScenarioResult): BenchTransportResult[] {
  return [...s.transports.flatMap((t) => [t, ...s.baseline.filter((b) => b.transport === t.transport)]), ...s.peers];
}

export function scenarioTable(scenario: ScenarioResult): string {
  const columns = scenarioColumns(scenario);
  const header = ["", ...columns.map(columnName)];
  const rows = ROWS.map(([label, value, digits]) => [label, ...columns.map((t) => formatNumber(roundTo(value(t), digits ?? 1), digits ?? 1))]);
  return formatTable(header, rows);
}

export function formatReport(report: BenchReport): string {
  const parts = report.scenarios.map((s) => {
    const together = s.together ? " (transports together on one server)" : "";
    const ratios = comparisons(s);
    const instances = instanceLines(s);
    return `${s.name} — ${s.description}${together}; ${formatNumber(s.sent)} messages sent\n\n${scenarioTable(s)}${ratios.length ? `\n\n${ratios.join("\n")}` : ""}${instances ? `\n\n${instances}` : ""}`;
  });
  const verdict = report.failures.length === 0
    ? "✔ no message lost or duplicated"
    : `✘ ${report.failures.length} failure(s):\n${report.failures.map((f) => `  - ${f}`).join("\n")}`;
  return `${parts.join("\n\n")}\n\n${verdict}`;
}

/**
 * One line per baseline column and per peer, against the wirelab transport it is compared with:
 * "websocket vs ws (peer): 0.97× the deliveries/s, 1.40× the server CPU". The CPU ratio is left
 * out where our server also served other transports (together).
 */
export function comparisons(s: ScenarioResult): string[] {
  const lines: string[] = [];
  for (const other of [...s.baseline, ...s.peers]) {
    // A format 1 report names a socket.io-redis peer "socket.io": both are compared with websocket.
    const transport = other.servedBy === "baseline" || other.servedBy === "wirelab" ? other.transport : PEER_TRANSPORT[other.servedBy as PeerName];
    const ours = s.transports.find((t) => t.transport === transport);
    if (!ours) continue;
    const parts: string[] = [];
    if (ours.deliveriesPerSecond && other.deliveriesPerSecond) parts.push(`${(ours.deliveriesPerSecond / other.deliveriesPerSecond).toFixed(2)}× the deliveries/s`);
    const cpu = (t: BenchTransportResult) => t.server?.cpuSeconds;
    if (!s.together && cpu(ours) && cpu(other)) parts.push(`${(cpu(ours)! / cpu(other)!).toFixed(2)}× the server CPU`);
    if (parts.length > 0) lines.push(`${resultName(ours)} vs ${resultName(other)}: ${parts.join(", ")}`);
  }
  return lines;
}

function roundTo(value: number | null | undefined, digits: number): number | null {
  if (value === null || value === undefined) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * One line per server instance over the measured window: RSS first / last / max (flat when nothing
 * leaks) and the event-loop lag (the worst interval's p99, and the longest delay). One block per
 * server: once when the transports shared one, else per column.
 */
export function instanceLines(s: ScenarioResult): string | null {
  const columns = [...s.transports, ...s.baseline, ...s.peers].filter((t) => t.instances.length > 0);
  const servers = new Map<string, { names: string[]; instances: InstanceSeries[] }>();
  for (const t of columns) {
    const key = t.instances.map((i) => i.pid).join(",");
    const entry = servers.get(key) ?? { names: [], instances: t.instances };
    entry.names.push(columnName(t));
    servers.set(key, entry);
  }
  if (servers.size === 0) return null;
  const mb = (bytes: number) => formatNumber(roundTo(bytes / MB, 1), 1);
  const ms = (values: Array<number | null>) => {
    const known = values.filter((v): v is number => v !== null);
    return known.length > 0 ? `${formatNumber(roundTo(Math.max(...known), 1), 1)} ms` : "–";
  };
  const blocks = [...servers.values()].map(({ names, instances }) => {
    const samples = instances[0]?.samples.length ?? 0;
    const lines = instances.map(({ instance, samples }) => {
      const rss = samples.map((x) => x.rssBytes).filter((v): v is number => v !== null);
      const memory = rss.length > 0 ? `RSS first / last / max ${mb(rss[0]!)} / ${mb(rss.at(-1)!)} / ${mb(Math.max(...rss))} MB` : "RSS –";
      const lag = `event-loop lag p99 ${ms(samples.map((x) => x.eventLoopLagP99Ms))} (worst interval), max ${ms(samples.map((x) => x.eventLoopLagMaxMs))}`;
      return `  instance ${instance}: ${memory}; ${lag}`;
    });
    return `server over the measured window (${names.join(" + ")}, ${samples} samples):\n${lines.join("\n")}`;
  });
  return blocks.join("\n");
}
