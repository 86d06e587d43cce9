/**
 * `wirelab lab list` and `wirelab lab run <id>`: the same lab engine as the dashboard, headless.
 * A run starts its own `wirelab serve` child (memory store, network emulator) unless --url is given.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { EventSource } from "eventsource";
import { WebSocket } from "ws";
import { LabRunner, evaluateAll, formatDuration, resultToCsv, METRIC_LABELS, metricValue, type LabResult } from "../../web/src/lab/index.js";
import type { CheckpointEvaluation } from "../../web/src/lab/checkpoints.js";
import type { EventSourceConstructor, WebSocketConstructor } from "../../web/src/kit/index.js";
import { LabLibrary } from "../LabLibrary.js";
import { packageRoot } from "../paths.js";
import { randomBytes } from "node:crypto";
import { ServerProcess } from "../ServerProcess.js";
import { Cluster, parseClusterArgs } from "./cluster.js";
import { ProgressLine, formatNumber, formatTable } from "../terminal.js";
import { UsageError } from "./UsageError.js";

export const LAB_USAGE = `Usage: wirelab lab list
       wirelab lab run <id> [--clients N] [--time-scale X] [--json FILE] [--csv FILE] [--url URL [--network-url URL]]

  --clients N       receiving clients per transport (default: the lab's)
  --time-scale X    multiply every timed phase by X (0.25 runs four times faster; default 1)
  --json FILE       write the whole result as JSON
  --csv FILE        write one row per transport as CSV
  --url URL         run against a running server instead of starting one (needs an instructor session:
                    a server on loopback gives one to everybody; else set WIRELAB_INSTRUCTOR_KEY)
  --network-url URL where the clients connect (the server's network emulator); default: the emulator of --url
  --labs DIR        folder of lab files (default: labs/ of this package)

The exit status is 1 when a correctness checkpoint (one with an expected answer) fails.
`;

export async function labCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      clients: { type: "string" },
      "time-scale": { type: "string" },
      json: { type: "string" },
      csv: { type: "string" },
      url: { type: "string" },
      "network-url": { type: "string" },
      labs: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || sub === undefined || sub === "help") {
    process.stdout.write(LAB_USAGE);
    return 0;
  }
  const library = new LabLibrary(values.labs ?? join(packageRoot(), "labs"));
  if (sub === "list") return list(library);
  if (sub !== "run") throw new UsageError(`unknown lab command "${sub}"`);
  const id = positionals[0];
  if (!id) throw new UsageError("name the lab to run, e.g. wirelab lab run 01-polling-tax");
  const clients = values.clients === undefined ? undefined : positiveNumber("--clients", values.clients, true);
  const timeScale = values["time-scale"] === undefined ? 1 : positiveNumber("--time-scale", values["time-scale"], false);
  const lab = await library.load(id);

  let server: { stop(): Promise<void> } | null = null;
  let baseUrl = values.url;
  let feedUrl = values["network-url"];
  let token: string | undefined;
  if (!baseUrl && lab.scenario.instances > 1) {
    // A cluster of its own, on the machine's Redis (or WIRELAB_REDIS), under keys of its own.
    const options = parseClusterArgs(["--instances", String(lab.scenario.instances), "--port", "0"]);
    if (options === "help") throw new Error("unreachable");
    const cluster = await Cluster.start(options, { ...process.env, WIRELAB_REDIS_PREFIX: `wirelab-lab-${randomBytes(4).toString("hex")}:` });
    server = cluster;
    baseUrl = feedUrl = cluster.door.url;
  } else if (!baseUrl) {
    const single = await ServerProcess.start();
    server = single;
    baseUrl = single.url;
    feedUrl ??= single.networkUrl ?? undefined;
  } else {
    const key = process.env.WIRELAB_INSTRUCTOR_KEY;
    const response = await fetch(new URL("/v1/session", baseUrl), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "lab-runner", ...(key && { instructorKey: key }) }),
    });
    if (!response.ok) throw new Error(`could not open a session at ${baseUrl}: HTTP ${response.status}`);
    token = ((await response.json()) as { token: string }).token;
    if (!feedUrl) {
      const status = await fetch(new URL("/v1/admin", baseUrl), { headers: { authorization: `Bearer ${token}` } });
      if (status.ok) feedUrl = ((await status.json()) as { network: { url: string } | null }).network?.url;
    }
  }

  const runner = new LabRunner(
    lab,
    {
      baseUrl,
      ...(feedUrl && { feedUrl }),
      ...(token && { token }),
      EventSource: EventSource as unknown as EventSourceConstructor,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
    },
    { ...(clients !== undefined && { clients }), timeScale },
  );
  const planned = runner.lab.scenario.phases.reduce((total, p) => total + ("ms" in p ? p.ms : 0), 0) + 1;
  const progress = new ProgressLine();
  runner.on("progress", (p) => {
    if (p.type === "phase") progress.update(Math.min(p.elapsedMs / planned, 0.99), `phase ${p.index + 1}/${p.total}: ${p.phase.name}`);
    if (p.type === "settling") progress.update(0.99, "settling: waiting for late messages");
  });
  process.stdout.write(`${lab.title} (${lab.id}) — ${lab.summary}\n`);
  let result: LabResult;
  try {
    result = await runner.run();
  } finally {
    progress.done();
    await server?.stop();
  }
  const evaluations = evaluateAll(lab.checkpoints, result);
  process.stdout.write(`\n${report(result, lab.measure)}\n\n${checkpointReport(evaluations)}\n`);
  if (values.json) await writeFile(values.json, JSON.stringify({ result, checkpoints: evaluations.map(plainEvaluation) }, null, 2) + "\n");
  if (values.csv) await writeFile(values.csv, resultToCsv(result, lab.measure));
  return evaluations.some((e) => e.passed === false) ? 1 : 0;
}

async function list(library: LabLibrary): Promise<number> {
  const { labs, errors } = await library.list();
  const rows = labs.map((l) => [l.id, l.title + (l.browserOnly ? " (browser only)" : "")]);
  process.stdout.write(`${formatTable(["id", "title"], rows)}\n`);
  for (const e of errors) process.stderr.write(`broken lab: ${e.message}\n`);
  return errors.length > 0 ? 1 : 0;
}

function report(result: LabResult, measure: readonly (keyof typeof METRIC_LABELS)[]): string {
  const header = ["metric", ...result.transports.map((t) => t.transport)];
  const rows = measure.map((m) => [METRIC_LABELS[m], ...result.transports.map((t) => formatNumber(metricValue(t, m)))]);
  return `${result.sent} messages sent to ${result.parameters.clients} client(s) per transport in ${formatDuration(result.durationMs)}\n\n${formatTable(header, rows)}`;
}

function checkpointReport(evaluations: CheckpointEvaluation[]): string {
  if (evaluations.length === 0) return "";
  return evaluations
    .map((e) => {
      const mark = e.passed === undefined ? "•" : e.passed ? "✔" : "✘";
      const answer = typeof e.answer === "number" ? formatNumber(e.answer) : (e.accepted.join(" or ") || "no answer");
      const expected = e.checkpoint.expect !== undefined ? ` (expected ${e.checkpoint.expect})` : "";
      return `${mark} ${e.checkpoint.question}\n    answer: ${answer}${expected}`;
    })
    .join("\n");
}

function plainEvaluation(e: CheckpointEvaluation) {
  return { id: e.checkpoint.id, question: e.checkpoint.question, answer: e.answer, accepted: e.accepted, evidence: e.evidence, ...(e.passed !== undefined && { passed: e.passed }) };
}

function positiveNumber(flag: string, value: string, integer: boolean): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0 || (integer && !Number.isInteger(number))) {
    throw new UsageError(`${flag} takes a positive ${integer ? "whole " : ""}number, got "${value}"`);
  }
  return number;
}

