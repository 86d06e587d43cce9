/**
 * `wirelab lab list` and `wirelab lab run <id>`: the same lab engine as the dashboard, headless.
 * A run starts its own `wirelab serve` child (memory store, network emulator) unless --url is given.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { EventSource } from "eventsource";
import { WebSocket } from "ws";
import { LabRunner, evaluateAll, formatDuration, labExportJson, resultToCsv, METRIC_LABELS, metricValue, type LabResult } from "../../web/src/isomorphic/lab/index.js";
import type { CheckpointEvaluation } from "../../web/src/isomorphic/lab/checkpoints.js";
import { JsonClient, WorkbenchApi, emulatorUrl, type EventSourceConstructor, type WebSocketConstructor } from "../../web/src/isomorphic/kit/index.js";
import { LabLibrary } from "../LabLibrary.js";
import { labIdOf } from "../../web/src/isomorphic/lab/labFile.js";
import { packageRoot } from "../paths.js";
import { randomBytes } from "node:crypto";
import { ServerProcess } from "../ServerProcess.js";
import { Cluster, parseClusterArgs } from "./cluster.js";
import { ProgressLine, formatNumber, formatTable, textWidth, wrapText } from "../terminal.js";
import { UsageError } from "../UsageError.js";

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
  -h, --help        show this help

<id> is a lab's id (04-heartbeats-and-zombies), its number (04 or 4) or the start of its id.

The exit status is 1 when a correctness checkpoint (one with an expected answer) fails.
`;

type ParseArgsOptionConfig = NonNullable<ParseArgsConfig["options"]>[string];

/** The options of `wirelab lab`, for node:util parseArgs. */
const LAB_OPTIONS = {
  clients: { type: "string" },
  "time-scale": { type: "string" },
  json: { type: "string" },
  csv: { type: "string" },
  url: { type: "string" },
  "network-url": { type: "string" },
  labs: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies Record<string, ParseArgsOptionConfig>;

/** What each option's value is, with an example, for "--json needs a file name, e.g. --json result.json". */
const OPTION_VALUES: Record<string, [what: string, example: string]> = {
  clients: ["a number", "4"],
  "time-scale": ["a number", "0.25"],
  json: ["a file name", "result.json"],
  csv: ["a file name", "result.csv"],
  url: ["a URL", "http://127.0.0.1:8080"],
  "network-url": ["a URL", "http://127.0.0.1:8081"],
  labs: ["a folder", "labs"],
};

interface LabArgs {
  values: { clients?: string; "time-scale"?: string; json?: string; csv?: string; url?: string; "network-url"?: string; labs?: string; help?: boolean };
  positionals: string[];
}

/** A mistake in how the command was written: the reason, then where to read the usage (exit status 2). */
function usageError(reason: string): UsageError {
  return new UsageError(`${reason}\nRun "wirelab lab --help" for the usage.`);
}

/**
 * The command line, checked option by option. parseArgs runs non-strict and hands over its tokens so
 * that each mistake gets wirelab's own sentence: strict parseArgs throws Node's wording ("Option
 * '--clients <value>' argument missing", "...argument is ambiguous"), which names neither the
 * value that is wanted nor where to look.
 */
function parseLabArgs(args: string[]): LabArgs {
  const { values, positionals, tokens } = parseArgs({ args, options: LAB_OPTIONS, allowPositionals: true, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const flag = token.rawName;
    const option = (LAB_OPTIONS as Record<string, ParseArgsOptionConfig>)[token.name];
    if (!option) {
      const near = flag.startsWith("--") ? nearestWord(token.name, Object.keys(LAB_OPTIONS)) : undefined;
      throw usageError(`unknown option "${flag}"${near ? `; did you mean --${near}?` : ""}`);
    }
    if (option.type === "boolean") {
      if (token.value !== undefined) throw usageError(`${flag} takes no value`);
      continue;
    }
    // Non-strict parseArgs takes the next word as the value even when it is the next option
    // ("--clients --json out.json"); a negative number is still a value (and refused later).
    const value = token.value;
    const missing = value === undefined || value === "" || (!token.inlineValue && value.startsWith("-") && !Number.isFinite(Number(value)));
    if (missing) {
      const [what, example] = OPTION_VALUES[token.name] ?? ["a value", "…"];
      throw usageError(`${flag} needs ${what}, e.g. ${flag} ${example}`);
    }
  }
  return { values: values as LabArgs["values"], positionals };
}

export async function labCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseLabArgs(args);
  const [sub, ...rest] = positionals;
  if (values.help || sub === undefined || sub === "help") {
    process.stdout.write(LAB_USAGE);
    return 0;
  }
  const library = new LabLibrary(values.labs ?? join(packageRoot(), "labs"));
  if (sub === "list") {
    if (rest.length > 0) throw usageError(`lab list takes no arguments, got "${rest.join(" ")}"`);
    return list(library);
  }
  if (sub !== "run") throw usageError(`unknown lab command "${sub}"; the commands are list and run`);
  const [wanted, ...extra] = rest;
  if (!wanted) throw usageError("name the lab to run, e.g. wirelab lab run 01-polling-tax (or wirelab lab run 01)");
  if (extra.length > 0) throw usageError(`lab run takes one lab id, got ${[wanted, ...extra].map((a) => `"${a}"`).join(" and ")}`);
  const clients = values.clients === undefined ? undefined : positiveNumber("--clients", values.clients, true);
  const timeScale = values["time-scale"] === undefined ? 1 : positiveNumber("--time-scale", values["time-scale"], false);
  const lab = await library.load(await resolveLab(library, wanted));
  if (lab.browserOnly) {
    throw new UsageError(
      `${lab.id} runs only in the browser: what it measures happens in a browser, not in a command-line client.\n` +
        `Open it in the dashboard: start wirelab serve, then Labs → "${lab.title}" (or add ?lab=${lab.id} to the dashboard's address).`,
    );
  }
  const width = textWidth();
  // Named before a server starts, so a slow start or a failure to connect says which lab it was.
  process.stdout.write(`${wrapText(`${lab.title} (${lab.id}) — ${lab.summary}`, width)}\n`);

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
    const key = process.env.WIRELAB_INSTRUCTOR_KEY || undefined;
    const session = await JsonClient.createSession(baseUrl, "lab-runner", { instructorKey: key }).catch((error: unknown) => {
      throw new Error(`could not open a session at ${baseUrl}: ${(error as Error).message}`);
    });
    token = session.token;
    if (!feedUrl) {
      // Only an instructor may ask; a class server may announce 0.0.0.0, so the emulator is reached
      // on the host this command was given (as the dashboard does with its page's host).
      const status = await new WorkbenchApi(baseUrl, token).status().catch(() => null);
      if (status?.network) feedUrl = emulatorUrl(baseUrl, status.network.url);
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
  let result: LabResult;
  try {
    result = await runner.run();
  } finally {
    progress.done();
    await server?.stop();
  }
  const evaluations = evaluateAll(lab.checkpoints, result);
  process.stdout.write(`\n${report(result, lab.measure)}\n\n${checkpointReport(evaluations, width)}\n`);
  if (values.json) await writeFile(values.json, labExportJson(result, evaluations));
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

function checkpointReport(evaluations: CheckpointEvaluation[], width: number): string {
  if (evaluations.length === 0) return "";
  return evaluations
    .map((e) => {
      const mark = e.passed === undefined ? "•" : e.passed ? "✔" : "✘";
      const answer = typeof e.answer === "number" ? formatNumber(e.answer) : (e.accepted.join(" or ") || "no answer");
      const expected = e.checkpoint.expect !== undefined ? ` (expected ${e.checkpoint.expect})` : "";
      // The explanation is what the dashboard shows after an answer; on a terminal it follows the answer.
      // Rendered from this run's numbers, the same text the dashboard shows.
      const explain = e.explanation ? `\n${wrapText(e.explanation.text, width, "    ")}` : "";
      return `${wrapText(`${mark} ${e.checkpoint.question}`, width)}\n    answer: ${answer}${expected}${explain}`;
    })
    .join("\n");
}

function positiveNumber(flag: string, value: string, integer: boolean): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0 || (integer && !Number.isInteger(number))) {
    throw usageError(`${flag} takes a positive ${integer ? "whole " : ""}number, got "${value}"`);
  }
  return number;
}


/** What a lab id on the command line names: one lab, several, or none (with the nearest id, if one is close). */
export type LabIdMatch = { id: string } | { ambiguous: string[] } | { nearest?: string };

/**
 * The lab `input` names among `ids`: the id itself, its number ("4", "04"), or the start of the id
 * or of its words after the number ("04-heart", "heartbeats"). Several matches are ambiguous; no
 * match names the nearest id when one is within a typo or two of what was written.
 */
export function resolveLabId(input: string, ids: readonly string[]): LabIdMatch {
  if (ids.includes(input)) return { id: input };
  const words = (id: string) => id.replace(/^\d+-/, "");
  const numeric = /^\d+$/.test(input);
  const matches = numeric
    ? ids.filter((id) => id.startsWith(`${String(Number(input)).padStart(2, "0")}-`))
    : ids.filter((id) => id.startsWith(input) || words(id).startsWith(input));
  if (matches.length === 1) return { id: matches[0]! };
  if (matches.length > 1) return { ambiguous: matches };
  // A number that is not there is not a typo of another number: the list says which there are.
  if (numeric) return {};
  let nearest: string | undefined;
  let best = Infinity;
  for (const id of ids) {
    const distance = Math.min(editDistance(input, id, { prefix: true }), editDistance(input, words(id), { prefix: true }));
    if (distance < best) [nearest, best] = [id, distance];
  }
  // About one slip per four characters; beyond that a "did you mean" is a guess that misleads.
  return nearest !== undefined && best <= Math.max(1, Math.floor(input.length / 4)) ? { nearest } : {};
}

/**
 * Levenshtein distance: the fewest single-character insertions, deletions and substitutions that turn
 * `a` into `b`. With `prefix`, into the closest start of `b`, so a shortened id ("04-hearbeats") is
 * near its lab instead of paying for every character it left out.
 */
export function editDistance(a: string, b: string, { prefix = false } = {}): number {
  // One row of the table at a time: row[j] is the distance between a's first i characters and b's first j.
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return prefix ? Math.min(...row) : row[b.length]!;
}

/** The word of `words` nearest to `word`, when it is at most two edits away (for a mistyped option). */
function nearestWord(word: string, words: readonly string[]): string | undefined {
  let nearest: string | undefined;
  let best = 3;
  for (const candidate of words) {
    const distance = editDistance(word, candidate);
    if (distance < best) [nearest, best] = [candidate, distance];
  }
  return nearest;
}

/** The id of the lab `wanted` names, or a usage error that lists the labs and suggests the nearest. */
async function resolveLab(library: LabLibrary, wanted: string): Promise<string> {
  const ids = (await library.files()).map(labIdOf);
  const match = resolveLabId(wanted, ids);
  if ("id" in match) return match.id;
  const reason =
    "ambiguous" in match
      ? `"${wanted}" could be any of ${match.ambiguous.join(", ")}; give more of the id`
      : `there is no lab "${wanted}"${match.nearest ? `; did you mean ${match.nearest}?` : ""}`;
  if (ids.length === 0) throw usageError(`${reason}; there are no lab files in ${library.dir}`);
  const { labs } = await library.list();
  const titles = new Map(labs.map((l) => [l.id, l.title]));
  const rows = ids.map((id) => [id, titles.get(id) ?? "(broken: wirelab lab list says why)"]);
  const table = formatTable(["id", "title"], rows).split("\n").map((line) => `  ${line}`).join("\n");
  throw usageError(`${reason}\n\nThe labs:\n${table}\n\nRun one by its id or its number, e.g. wirelab lab run ${ids[0]!.slice(0, 2)}.`);
}
