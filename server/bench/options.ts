/**
 * The command line of `wirelab bench`: its usage, the defaults and the --quick preset, merged
 * once here ({...defaults, ...quick, ...given}); impossible combinations throw a UsageError at
 * once. What the options mean to a run is parameters.ts.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { TRANSPORTS, isTransportName, type TransportName } from "../../web/src/isomorphic/protocol/index.js";
import { UsageError } from "../UsageError.js";
import { PEERS, PEER_SCENARIOS, PEER_TRANSPORT, SCENARIOS, SCENARIO_DEFAULTS, type BenchParameters, type ScenarioName } from "./parameters.js";

export { UsageError };

export interface BenchCommandOptions {
  parameters: BenchParameters;
  json: string | null;
  html: string | null;
}

export const BENCH_USAGE = `Usage: wirelab bench [options]        (npm run bench -- [options] builds first)

  --quick                  small and fast (CI smoke run, all four transports at once, < 60 s)
  --transports LIST        comma-separated: short-poll,long-poll,sse,websocket (default: all)
  --scenario LIST          comma-separated: ${SCENARIOS.join(",")}
                           (default: steady,burst,fanout,connect-storm,reconnect-storm)
  --clients N|T=N,…        clients per transport, or per transport: websocket=20000,sse=5000 (default 1000)
  --rooms N                rooms per transport (default: the scenario's; fanout uses 1)
  --rate N                 messages per second per room (default: the scenario's)
  --size N                 characters per message (default 100)
  --duration S             measured seconds per scenario, after the warm-up (default 10)
  --messages N             measured messages per room instead of a duration
  --warmup S               warm-up seconds before measuring (default 2)
  --burst N                messages per room per burst (default 100)
  --burst-interval S       seconds between bursts (default 2)
  --downtime S             server downtime in reconnect-storm (default 1)
  --poll-interval MS       short-poll interval of the clients (default 2000)
  --wait MS                long-poll wait of the clients (default 25000)
  --together               run the transports at once on one server (default: one after another)
  --workers N              load-generator processes (default: 2 or cores - 1, at least 1 per 5,000 clients)
  --source-addresses N     loopback source addresses 127.0.0.1 … (default: enough for 20,000 connections each)
  --memory-steps N         server RSS samples while connecting (default 4)
  --sample-interval S      seconds between samples of each instance's RSS and event-loop lag over
                           the measured window (default 10)
  --peer LIST              comma-separated comparison servers, run in fanout and steady for the ratio:
                             ws                 a bare ws 8 broadcast server (vs websocket)
                             socket.io          a Socket.IO 4 server, WebSocket clients (vs websocket)
                             socket.io-redis    --instances Socket.IO servers on its Redis Streams
                                                adapter (vs websocket)
                             socket.io-polling  Socket.IO 4, clients on HTTP long-polling only (vs long-poll)
                           each runs where its wirelab transport is in --transports
  --baseline DIR           run every wirelab unit a second time against DIR/bin/wirelab.js serve (another
                           built checkout), as a "<transport> (baseline)" column beside ours
  --instances N            server instances on one Redis: receivers spread over all, the sender on the
                           first (default 1)
  --redis URL              the Redis they share (default: env WIRELAB_REDIS, else redis://127.0.0.1:6379)
  --store file|memory      the server's history: a temporary SQLite file (default) or memory
  --profile DIR            write CPU profiles (node --cpu-prof) of the server and the workers into DIR
  --json FILE              write the whole report as JSON
  --html FILE              write a self-contained HTML report with charts
  -h, --help               show this help

The exit status is 1 when any message was lost or duplicated, a client never connected, or the
report is malformed; 2 for a usage error. Thousands of connections need open files on both sides:
run with \`ulimit -n 65536\` where the hard limit allows it.
`;

const FULL: Omit<BenchParameters, "transports" | "scenarios" | "clients" | "sourceAddresses" | "workers" | "scenarioSettings"> = {
  quick: false,
  rooms: null,
  rate: null,
  size: 100,
  durationMs: 10_000,
  messages: null,
  warmupMs: 2_000,
  burstSize: null,
  burstIntervalMs: 2_000,
  downtimeMs: 1_000,
  pollIntervalMs: 2_000,
  longPollWaitMs: 25_000,
  backoff: { baseMs: 500, capMs: 5_000 },
  settleMs: 20_000,
  connectionsPerAddress: 20_000,
  connectConcurrency: 250,
  memorySteps: 4,
  sampleIntervalMs: 10_000,
  together: false,
  peers: [],
  baseline: null,
  instances: 1,
  redisUrl: null,
  store: "file",
  profileDir: null,
};

/** The --quick preset: every scenario, every transport at once, tiny and fast. */
const QUICK: Partial<BenchParameters> = {
  quick: true,
  rooms: 2,
  durationMs: 1_000,
  warmupMs: 250,
  burstIntervalMs: 400,
  // Five poll intervals: nearly every poll client meets the outage, so its reconnect figure means something.
  downtimeMs: 1_000,
  pollIntervalMs: 200,
  longPollWaitMs: 5_000,
  backoff: { baseMs: 100, capMs: 1_000 },
  settleMs: 10_000,
  memorySteps: 1,
  sampleIntervalMs: 250,
  together: true,
};

const QUICK_CLIENTS = 20;
const QUICK_RATE = 20;
const QUICK_BURST = 20;
const DEFAULT_CLIENTS = 1_000;
const DEFAULT_SCENARIOS: ScenarioName[] = ["steady", "burst", "fanout", "connect-storm", "reconnect-storm"];

export function parseBenchArgs(args: string[], cpus: number): BenchCommandOptions | "help" {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      quick: { type: "boolean" },
      transports: { type: "string" },
      transport: { type: "string" },
      scenario: { type: "string" },
      scenarios: { type: "string" },
      clients: { type: "string" },
      rooms: { type: "string" },
      rate: { type: "string" },
      size: { type: "string" },
      duration: { type: "string" },
      messages: { type: "string" },
      warmup: { type: "string" },
      burst: { type: "string" },
      "burst-interval": { type: "string" },
      downtime: { type: "string" },
      "poll-interval": { type: "string" },
      wait: { type: "string" },
      together: { type: "boolean" },
      workers: { type: "string" },
      "source-addresses": { type: "string" },
      "memory-steps": { type: "string" },
      "sample-interval": { type: "string" },
      peer: { type: "string" },
      peers: { type: "string" },
      baseline: { type: "string" },
      instances: { type: "string" },
      redis: { type: "string" },
      profile: { type: "string" },
      store: { type: "string" },
      json: { type: "string" },
      html: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const quick = values.quick === true;
  const base = { ...FULL, ...(quick ? QUICK : {}) };

  const transports = list(values.transports ?? values.transport, TRANSPORTS, "--transports") ?? [...TRANSPORTS];
  const scenarios = list(values.scenario ?? values.scenarios, SCENARIOS, "--scenario") ?? DEFAULT_SCENARIOS;
  const clients = parseClients(values.clients, transports, quick ? QUICK_CLIENTS : DEFAULT_CLIENTS);
  const seconds = (flag: string, value: string | undefined, fallback: number, min = 0) =>
    value === undefined ? fallback : Math.round(number(flag, value, { min, integer: false }) * 1000);
  const int = (flag: string, value: string | undefined, min = 1) => (value === undefined ? undefined : number(flag, value, { min, integer: true }));

  const parameters: BenchParameters = {
    ...base,
    transports,
    scenarios,
    clients,
    rooms: int("--rooms", values.rooms) ?? base.rooms,
    rate: values.rate === undefined ? (quick ? QUICK_RATE : null) : number("--rate", values.rate, { min: 0.01, integer: false }),
    size: int("--size", values.size) ?? base.size,
    durationMs: seconds("--duration", values.duration, base.durationMs, 0.1),
    messages: int("--messages", values.messages) ?? null,
    warmupMs: seconds("--warmup", values.warmup, base.warmupMs),
    burstSize: int("--burst", values.burst) ?? (quick ? QUICK_BURST : null),
    burstIntervalMs: seconds("--burst-interval", values["burst-interval"], base.burstIntervalMs, 0.05),
    downtimeMs: seconds("--downtime", values.downtime, base.downtimeMs),
    pollIntervalMs: int("--poll-interval", values["poll-interval"], 10) ?? base.pollIntervalMs,
    longPollWaitMs: int("--wait", values.wait, 100) ?? base.longPollWaitMs,
    together: values.together === true || base.together,
    workers: 0,
    sourceAddresses: [],
    memorySteps: int("--memory-steps", values["memory-steps"]) ?? base.memorySteps,
    peers: list(values.peer ?? values.peers, PEERS, "--peer") ?? [],
    baseline: values.baseline === undefined ? null : baselineDir(values.baseline),
    sampleIntervalMs: seconds("--sample-interval", values["sample-interval"], base.sampleIntervalMs, 0.1),
    instances: int("--instances", values.instances) ?? 1,
    redisUrl: null,
    profileDir: values.profile ?? null,
    store: values.store === undefined ? "file" : storeKind(values.store),
    scenarioSettings: {},
  };
  if (parameters.instances > 8) throw new UsageError("--instances is at most 8 on this machine");
  for (const name of parameters.peers) {
    // A peer that would run nowhere is a mistake in the command, not a silent no-op.
    if (!parameters.transports.includes(PEER_TRANSPORT[name]) || !scenarios.some((s) => PEER_SCENARIOS.includes(s))) {
      throw new UsageError(`--peer ${name} runs against ${PEER_TRANSPORT[name]} in ${PEER_SCENARIOS.join(" or ")}: select both in --transports and --scenario`);
    }
  }
  if (parameters.peers.includes("socket.io-redis") && parameters.instances < 2) throw new UsageError("--peer socket.io-redis needs --instances 2 or more");
  if (parameters.instances > 1 || values.redis !== undefined) {
    parameters.redisUrl = values.redis ?? (process.env.WIRELAB_REDIS || "redis://127.0.0.1:6379");
    if (!/^rediss?:\/\//.test(parameters.redisUrl)) throw new UsageError(`--redis must start with redis://, got "${parameters.redisUrl}"`);
  }
  if (parameters.size > 2_000) throw new UsageError("--size is at most 2000 characters (the protocol's text limit)");
  if (parameters.longPollWaitMs > 30_000) throw new UsageError("--wait is at most 30000 ms (the protocol's limit)");
  if (parameters.size < 24) throw new UsageError("--size must be at least 24: a message carries its send time");

  // Clients open at once: every transport's when they run together, else the largest transport's.
  const concurrent = parameters.together || scenarios.includes("hold");
  const totalClients = concurrent ? transports.reduce((sum, t) => sum + clients[t], 0) : Math.max(...transports.map((t) => clients[t]));
  const givenWorkers = int("--workers", values.workers);
  // Two at least: one load process per core keeps up with a server that uses one core.
  parameters.workers = givenWorkers ?? Math.max(2, cpus - 1, Math.ceil(totalClients / 5_000));
  const addresses = int("--source-addresses", values["source-addresses"]) ?? Math.max(1, Math.ceil(totalClients / parameters.connectionsPerAddress));
  if (addresses > 250) throw new UsageError("--source-addresses is at most 250 (127.0.0.1 … 127.0.0.250)");
  parameters.sourceAddresses = Array.from({ length: addresses }, (_, i) => `127.0.0.${i + 1}`);

  for (const name of scenarios) {
    const info = { ...SCENARIO_DEFAULTS[name] };
    if (parameters.rooms !== null && name !== "fanout") info.rooms = parameters.rooms;
    if (parameters.rate !== null && info.burstSize === 0) info.rate = parameters.rate;
    if (name === "hold" && values.rate === undefined) info.rate = 1;
    if (info.burstSize > 0 && parameters.burstSize !== null) info.burstSize = parameters.burstSize;
    if (parameters.together) info.together = true;
    parameters.scenarioSettings[name] = info;
  }
  return { parameters, json: values.json ?? null, html: values.html ?? null };
}

function list<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(",").map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`${flag} needs at least one of ${allowed.join(", ")}`);
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) throw new UsageError(`${flag}: unknown "${item}" (one of ${allowed.join(", ")})`);
  }
  return [...new Set(items)] as T[];
}

function parseClients(value: string | undefined, transports: TransportName[], fallback: number): Record<TransportName, number> {
  const result = Object.fromEntries(TRANSPORTS.map((t) => [t, 0])) as Record<TransportName, number>;
  if (value === undefined || /^\d+$/.test(value)) {
    const n = value === undefined ? fallback : number("--clients", value, { min: 1, integer: true });
    for (const t of transports) result[t] = n;
    return result;
  }
  for (const t of transports) result[t] = fallback;
  for (const part of value.split(",")) {
    const [name, n] = part.split("=");
    if (!isTransportName(name?.trim()) || n === undefined) throw new UsageError(`--clients takes N or transport=N,…; got "${part}"`);
    if (!transports.includes(name.trim() as TransportName)) throw new UsageError(`--clients names ${name}, which is not in --transports`);
    result[name.trim() as TransportName] = number("--clients", n, { min: 1, integer: true });
  }
  return result;
}

function storeKind(value: string): "file" | "memory" {
  if (value !== "file" && value !== "memory") throw new UsageError(`--store is "file" or "memory", got "${value}"`);
  return value;
}

/** A built checkout: its CLI entry and the compiled server it loads must both be there. */
function baselineDir(value: string): string {
  const dir = resolve(value);
  if (!existsSync(dir)) throw new UsageError(`--baseline: no such folder "${value}"`);
  const missing = [join("bin", "wirelab.js"), join("dist", "node", "server", "cli.js")].filter((file) => !existsSync(join(dir, file)));
  if (missing.length > 0) throw new UsageError(`--baseline: "${value}" is not a built wirelab checkout (missing ${missing.join(", ")}; run npm run build there)`);
  return dir;
}

function number(flag: string, value: string, { min, integer }: { min: number; integer: boolean }): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} takes ${integer ? "a whole number" : "a number"} of at least ${min}, got "${value}"`);
  }
  return n;
}
