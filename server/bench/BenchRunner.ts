/**
 * Runs the benchmark: for each scenario, a fresh server child process (wirelab, the --baseline
 * checkout's, or a peer), the clients opened in the load workers, warm-up, the measured window,
 * the drain, and the figures gathered into one BenchReport. The coordinator itself only sends
 * messages and keeps time.
 */
import { cpus, release, totalmem } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as hdr from "hdr-histogram-js";
import type { StatsResponse, TransportName } from "../../web/src/isomorphic/protocol/index.js";
import { Emitter } from "../../web/src/isomorphic/kit/Emitter.js";
import { FeedHttp } from "../../web/src/isomorphic/kit/FeedHttp.js";
import { SessionKeeper } from "../../web/src/isomorphic/kit/SessionKeeper.js";
import { sleep } from "../../web/src/isomorphic/kit/backoff.js";
import { WorkbenchApi } from "../../web/src/isomorphic/kit/WorkbenchApi.js";
import { ServerProcess } from "../ServerProcess.js";
import { deleteRedisKeys } from "../cluster/redisChecks.js";
import type { BenchLatency, BenchReport, BenchTransportResult, MachineInfo, MemorySample, ScenarioResult, ServedBy, ServerUsage } from "./BenchReport.js";
import { bytesPerMessage, distribution, durationSummary, perDelivered, roundMs } from "../../web/src/isomorphic/stats/figures.js";
import { validateReport } from "./BenchReport.js";
import { PEER_SCENARIOS, PEER_TRANSPORT, type BenchParameters, type PeerName, type ScenarioInfo, type ScenarioName } from "./options.js";
import { PeerProcess } from "./peer/PeerProcess.js";
import { InstanceSampler, type InstanceSeries } from "./InstanceSampler.js";
import { openFilesLimit, sampleProcesses, slope, type ProcessSample } from "./ProcessProbe.js";
import { randomBytes } from "node:crypto";
import { MEASURED_MARK, WARMUP_MARK, groupOf, preciseNow, type ConnectSpec, type GroupResult } from "./protocol.js";
import { Publisher, peerTarget, wirelabTarget, type SendTarget } from "./Publisher.js";
import { WorkerPool } from "./WorkerPool.js";

export interface BenchProgress {
  /** 0–1 over the whole run. */
  fraction: number;
  label: string;
}

export interface BenchRunnerEvents {
  [name: string]: (...args: never[]) => void;
  progress: (progress: BenchProgress) => void;
}

/** Percentiles the report keeps for the latency CDF chart. */
const CDF_PERCENTILES = [0, 5, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 97.5, 99, 99.5, 99.9, 99.99, 100];
const SHORT: Record<TransportName, string> = { "short-poll": "sp", "long-poll": "lp", sse: "sse", websocket: "ws" };
const TIMELINE_MS = 500;

/** A server under test: wirelab's ServerProcess (ours or the baseline's) or a peer — or several instances of one, sharing Redis. */
interface Target {
  servedBy: ServedBy;
  /** Every instance's process; figures add them up. */
  pids: number[];
  /** Each instance's Prometheus metrics (as pids), for its event-loop lag; absent for a server without them. */
  metricsUrls?: string[];
  /** Instances that exited before stop(), each with its last output (absent: not watched). */
  unexpectedExits?: string[];
  /** Where the sender and the stats go: the first instance. */
  url: string;
  /** Where receivers connect, spread round robin. */
  urls: string[];
  /** The receivers' token: the current one (refreshed during a long run) at every read. */
  readonly token: string;
  send: SendTarget;
  stats(): Promise<StatsResponse | null>;
  restart(downtimeMs: number): Promise<void>;
  stop(): Promise<void>;
}

export class BenchRunner extends Emitter<BenchRunnerEvents> {
  readonly #p: BenchParameters;
  readonly #units: number;
  #unitsDone = 0;
  #pool: WorkerPool | null = null;
  readonly #failures: string[] = [];

  constructor(parameters: BenchParameters, private readonly command = "wirelab bench") {
    super();
    this.#p = parameters;
    this.#units = parameters.scenarios.reduce((sum, name) => {
      const info = parameters.scenarioSettings[name]!;
      const units = info.together ? 1 : parameters.transports.length;
      return sum + units * (parameters.baseline === null ? 1 : 2) + this.#peersOf(name).length;
    }, 0);
  }

  async run(): Promise<BenchReport> {
    const startedAt = Date.now();
    this.#pool = await WorkerPool.start(this.#p.workers, this.#profileArgs());
    const scenarios: ScenarioResult[] = [];
    try {
      for (const name of this.#p.scenarios) scenarios.push(await this.#scenario(name));
    } finally {
      await this.#pool.stop();
    }
    const report: BenchReport = {
      format: 2,
      kind: "wirelab-bench",
      startedAt,
      finishedAt: Date.now(),
      command: this.command,
      parameters: this.#p,
      machine: machineInfo(),
      scenarios,
      failures: [],
    };
    report.failures = [...new Set([...this.#failures, ...validateReport(report)])];
    return report;
  }

  /** Node flags for every child process when profiling. */
  #profileArgs(): string[] {
    return this.#p.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${this.#p.profileDir}`] : [];
  }

  /** The peers that run in a scenario: the plain chat loads, where the transport they are compared with is selected. */
  #peersOf(name: ScenarioName): PeerName[] {
    if (!PEER_SCENARIOS.includes(name)) return [];
    return this.#p.peers.filter((peer) => this.#p.transports.includes(PEER_TRANSPORT[peer]));
  }

  async #scenario(name: ScenarioName): Promise<ScenarioResult> {
    const info = this.#p.scenarioSettings[name]!;
    const started = Date.now();
    const groups: TransportName[][] = info.together ? [this.#p.transports] : this.#p.transports.map((t) => [t]);
    const transports: BenchTransportResult[] = [];
    const baseline: BenchTransportResult[] = [];
    let sent = 0;
    for (const group of groups) {
      const unit = await this.#unit(name, info, group, "wirelab");
      transports.push(...unit.results);
      sent += unit.sent;
      // Right after ours, so the pair meets the same machine.
      if (this.#p.baseline !== null) baseline.push(...(await this.#unit(name, info, group, "baseline")).results);
    }
    const peers: BenchTransportResult[] = [];
    for (const peer of this.#peersOf(name)) peers.push(...(await this.#unit(name, info, [PEER_TRANSPORT[peer]], peer)).results);
    return { name, description: info.description, together: info.together, restarted: info.restart, sent, durationMs: Date.now() - started, transports, baseline, peers };
  }

  #progress(within: number, label: string): void {
    this.emit("progress", { fraction: Math.min(0.999, (this.#unitsDone + Math.min(within, 1)) / this.#units), label });
  }

  /** One server (ours, the baseline's or a peer), one group of transports, one scenario. */
  async #unit(name: ScenarioName, info: ScenarioInfo, transports: TransportName[], servedBy: ServedBy): Promise<{ results: BenchTransportResult[]; sent: number }> {
    const p = this.#p;
    const pool = this.#pool!;
    const what = servedBy === "wirelab" ? transports.join("+") : servedBy === "baseline" ? `${transports.join("+")} (baseline)` : `${servedBy} (peer)`;
    const label = (phase: string) => `${name} · ${what} · ${phase}`;
    this.#progress(0, label("starting the server"));
    const memoryStore = this.#p.store === "memory" && !info.restart;
    const cluster = { instances: this.#p.instances, redisUrl: this.#p.redisUrl };
    const target =
      servedBy === "wirelab" || servedBy === "baseline"
        ? await startWirelab(this.#p.profileDir, memoryStore, cluster, servedBy === "baseline" ? this.#p.baseline : null)
        : await startPeer(servedBy, this.#profileArgs(), cluster);
    try {
      const rooms = Array.from({ length: info.rooms }, (_, i) => `${name.slice(0, 12)}-${i}`);
      // --- connect, in memory steps (one transport after another when together) ---
      const memory = new Map<TransportName, MemorySample[]>();
      const connect = new Map<TransportName, { ms: number[]; allMs: number; failed: number }>();
      const steps = info.storm ? 1 : Math.max(1, p.memorySteps);
      let client = 0;
      for (const transport of transports) {
        const total = p.clients[transport];
        const baseline = sampleProcesses(target.pids);
        const samples: MemorySample[] = baseline ? [{ connections: 0, rssBytes: baseline.rssBytes }] : [];
        const outcome = { ms: [] as number[], allMs: 0, failed: 0 };
        let opened = 0;
        for (let step = 0; step < steps; step++) {
          const count = Math.round((total * (step + 1)) / steps) - opened;
          this.#progress(0.05 + (0.15 * (step + 1)) / steps, label(`connecting ${transport} ${opened + count}/${total}`));
          const stepStarted = preciseNow();
          const specs = this.#specs(target, servedBy, transport, rooms, client, count, info.storm);
          const replies = await Promise.all(specs.map(({ worker, spec }) => pool.connect(worker, spec)));
          outcome.allMs += preciseNow() - stepStarted;
          for (const reply of replies) {
            outcome.ms.push(...reply.connectMs);
            outcome.failed += reply.failed;
            if (reply.failed > 0) this.#failures.push(`${name}/${what}: ${reply.failed} ${transport} client(s) did not connect: ${reply.errors.join("; ")}`);
          }
          client += count;
          opened += count;
          // Let the server settle (parked polls re-parked, buffers freed) before reading its memory.
          await sleep(p.quick ? 150 : 750);
          const sample = sampleProcesses(target.pids);
          if (sample) samples.push({ connections: opened, rssBytes: sample.rssBytes });
        }
        memory.set(transport, samples);
        connect.set(transport, outcome);
      }

      // --- warm-up and the measured window ---
      const statsBefore = await target.stats();
      const cpuBefore = sampleProcesses(target.pids);
      await pool.mark();
      const publisher = new Publisher(target.send, p.size, `${SHORT[transports[0]!]}${name.slice(0, 3)}-`);
      const schedule = { rooms, rate: info.rate, burstSize: info.burstSize, burstIntervalMs: p.burstIntervalMs, messages: null };
      const windowStarted = preciseNow();
      const planned = p.warmupMs + (p.messages !== null ? (p.messages / Math.max(info.rate, 1)) * 1000 : p.durationMs);
      const ticker = setInterval(() => {
        const elapsed = preciseNow() - windowStarted;
        const phase = elapsed < p.warmupMs ? "warm-up" : "measuring";
        this.#progress(0.2 + 0.7 * (elapsed / planned), label(`${phase} · ${formatRate(this.#liveRate())}`));
      }, 250);
      ticker.unref();
      this.#lastCounts = null;
      if (p.warmupMs > 0) await publisher.run({ ...schedule, mark: WARMUP_MARK, durationMs: p.warmupMs });
      const measuredFrom = preciseNow();
      const timeline = this.#timeline(transports, servedBy, measuredFrom);
      const watched = target.pids.map((pid, i) => ({ pid, metricsUrl: target.metricsUrls?.[i] ?? null }));
      const sampling = InstanceSampler.start(watched, p.sampleIntervalMs, measuredFrom);
      let statsAtRestart: StatsResponse | null = null;
      const restart = info.restart
        ? (async () => {
            await sleep(p.durationMs / 3);
            statsAtRestart = await target.stats();
            await target.restart(p.downtimeMs);
          })()
        : Promise.resolve();
      await Promise.all([publisher.run({ ...schedule, mark: MEASURED_MARK, durationMs: p.durationMs, messages: p.messages }), restart]);
      clearInterval(ticker);
      const instances = await (await sampling).stop();

      // --- drain: every client must reach the newest seq of its room ---
      this.#progress(0.92, label("waiting for every client to catch up"));
      const latest: Record<string, number> = {};
      for (const room of rooms) latest[room] = await retry(() => target.send.latest(room));
      const groups = await pool.collect(latest, p.settleMs, info.restart);
      timeline.stop();
      const cpuAfter = sampleProcesses(target.pids);
      const statsAfter = await target.stats();
      for (const exit of target.unexpectedExits ?? []) this.#failures.push(`${name}/${what}: ${exit}`);
      if (publisher.failures > 0) this.#failures.push(`${name}/${what}: ${publisher.failures} send(s) never acknowledged: ${publisher.errors.join("; ")}`);

      const server = serverUsage(cpuBefore, cpuAfter, (preciseNow() - measuredFrom) / 1000);
      const results = transports.map((transport) => {
        const group = groups.filter((g) => g.group === groupOf(servedBy, transport));
        const wire = wireDelta(transport, statsBefore, statsAtRestart, statsAfter);
        const samples = memory.get(transport) ?? [];
        return transportResult(transport, servedBy, group, {
          firstMeasuredSendAt: measuredFrom,
          wire,
          server,
          samples,
          connect: connect.get(transport)!,
          timeline: timeline.points(groupOf(servedBy, transport)),
          instances,
          sendFailures: publisher.failures,
        });
      });
      for (const r of results) {
        const where = `${name}/${groupOf(servedBy, r.transport)}`;
        const errors = groups.filter((g) => g.group === groupOf(servedBy, r.transport)).flatMap((g) => g.errors);
        if (r.lost > 0 || r.duplicated > 0) this.#failures.push(`${where}: lost ${r.lost}, duplicated ${r.duplicated}${errors.length ? ` (client errors: ${errors.slice(0, 3).join("; ")})` : ""}`);
      }
      this.#progress(1, label("closing"));
      await pool.closeClients();
      return { results, sent: publisher.sent };
    } finally {
      await target.stop();
      this.#unitsDone += 1;
    }
  }

  #lastCounts: { at: number; delivered: number } | null = null;

  /** Deliveries per second over every worker right now, for the progress line. */
  #liveRate(): number {
    const counts = this.#pool!.counts();
    const delivered = Object.values(counts.delivered).reduce((a, b) => a + b, 0);
    const now = preciseNow();
    const last = this.#lastCounts;
    this.#lastCounts = { at: now, delivered };
    if (!last || now - last.at < 1) return 0;
    return Math.max(0, ((delivered - last.delivered) * 1000) / (now - last.at));
  }

  /** Samples the workers' measured counts every TIMELINE_MS into deliveries-per-second points. */
  #timeline(transports: TransportName[], servedBy: ServedBy, from: number) {
    const pool = this.#pool!;
    const series = new Map<string, Array<{ t: number; perSecond: number }>>();
    const last = new Map<string, { at: number; n: number }>();
    const start = pool.counts().measured;
    for (const t of transports) {
      const g = groupOf(servedBy, t);
      series.set(g, []);
      last.set(g, { at: from, n: start[g] ?? 0 });
    }
    const timer = setInterval(() => {
      const now = preciseNow();
      const measured = pool.counts().measured;
      for (const [g, points] of series) {
        const prev = last.get(g)!;
        const n = measured[g] ?? prev.n;
        points.push({ t: Math.round(now - from), perSecond: ((n - prev.n) * 1000) / (now - prev.at) });
        last.set(g, { at: now, n });
      }
    }, TIMELINE_MS);
    timer.unref();
    return { stop: () => clearInterval(timer), points: (g: string) => series.get(g) ?? [] };
  }

  /** Split `count` clients (numbered from `first`) of one transport over workers and source addresses. */
  #specs(target: Target, servedBy: ServedBy, transport: TransportName, rooms: string[], first: number, count: number, storm: boolean) {
    const p = this.#p;
    const byKey = new Map<string, { worker: number; spec: ConnectSpec }>();
    for (let i = first; i < first + count; i++) {
      const worker = i % p.workers;
      const address = p.sourceAddresses[Math.floor(i / p.workers) % p.sourceAddresses.length]!;
      const baseUrl = target.urls[i % target.urls.length]!;
      const key = `${worker}|${address}|${baseUrl}`;
      let entry = byKey.get(key);
      if (!entry) {
        entry = {
          worker,
          spec: {
            servedBy,
            transport,
            baseUrl,
            token: target.token,
            rooms: [],
            sourceAddress: address,
            concurrency: storm ? 0 : p.connectConcurrency,
            pollIntervalMs: p.pollIntervalMs,
            longPollWaitMs: p.longPollWaitMs,
            backoff: p.backoff,
            timeoutMs: 60_000,
          },
        };
        byKey.set(key, entry);
      }
      entry.spec.rooms.push(rooms[i % rooms.length]!);
    }
    return [...byKey.values()];
  }
}

interface ClusterShape {
  instances: number;
  redisUrl: string | null;
}

/** Every instance on the same Redis under keys of this run only, with one session secret. */
function clusterEnv(cluster: ClusterShape): Record<string, string> {
  if (cluster.redisUrl === null) return {};
  return { WIRELAB_SECRET: randomBytes(32).toString("base64url"), WIRELAB_REDIS_PREFIX: `wirelab-bench-${randomBytes(4).toString("hex")}:` };
}

/** wirelab's server, or (checkout set) the server of another built checkout, with the same flags. */
async function startWirelab(profileDir: string | null, memoryStore: boolean, cluster: ClusterShape, checkout: string | null = null): Promise<Target> {
  // NODE_OPTIONS may not carry --cpu-prof: a preloaded module runs the profiler instead.
  const preload = fileURLToPath(new URL("./profilePreload.js", import.meta.url));
  const env: Record<string, string> = {
    ...(profileDir && { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${pathToFileURL(preload).href}`.trim(), WIRELAB_PROFILE_DIR: resolve(profileDir) }),
    ...clusterEnv(cluster),
  };
  // No network emulator: the clients talk to the server directly.
  const store = cluster.redisUrl !== null ? ["--redis", cluster.redisUrl] : memoryStore ? ["--memory"] : [];
  const servers: ServerProcess[] = [];
  const keeping: SessionKeeper[] = [];
  try {
    // --load-test: the bench sends from one session and connects thousands from a few addresses.
    for (let i = 0; i < cluster.instances; i++) servers.push(await ServerProcess.start(["--network-port", "off", "--load-test", ...store], env, checkout));
    let stopping = false;
    const unexpectedExits: string[] = [];
    servers.forEach((s, i) => watchExit(s, `instance ${i + 1} (pid ${s.pid})`, () => stopping, (exit) => unexpectedExits.push(exit)));
    const server = servers[0]!;
    // Tokens live 15 minutes and a long hold outlasts them: the bench's own sessions are kept
    // fresh like the dashboard's (the load clients refresh their own).
    const keepers = await Promise.all(["bench", "bench-sender"].map(async (name) => new SessionKeeper({ baseUrl: server.url, session: await FeedHttp.createSession(server.url, name) })));
    keepers.forEach((k) => k.start());
    keeping.push(...keepers);
    const [reader, sender] = keepers as [SessionKeeper, SessionKeeper];
    const apis = servers.map((s) => new WorkbenchApi(s.url, reader.tokenSource));
    return {
      servedBy: checkout === null ? "wirelab" : "baseline",
      pids: servers.map((s) => s.pid),
      metricsUrls: servers.map((s) => `${s.url}/metrics`),
      unexpectedExits,
      url: server.url,
      urls: servers.map((s) => s.url),
      get token() {
        return reader.token;
      },
      send: wirelabTarget(server.url, sender.tokenSource),
      // Each instance counts its own traffic: the cluster's is the sum.
      stats: async () => mergeStats(await Promise.all(apis.map((api) => api.stats().catch(() => null)))),
      // With several instances, the first one restarts; its clients come back to it or to another.
      restart: (downtimeMs) => apis[0]!.restartAndWait(downtimeMs),
      stop: async () => {
        stopping = true;
        keepers.forEach((k) => k.stop());
        await Promise.all(servers.map((s) => s.stop()));
        if (cluster.redisUrl !== null) await deleteRedisKeys(cluster.redisUrl, `${env.WIRELAB_REDIS_PREFIX}*`);
      },
    };
  } catch (error) {
    keeping.forEach((k) => k.stop());
    await Promise.all(servers.map((s) => s.stop()));
    throw error;
  }
}

/** Output kept per server for the report when it dies: the end of its log and any stack trace. */
const EXIT_TAIL_CHARS = 2_000;

/**
 * A server instance that exits while the run still uses it is a failure of the run, and its last
 * output says why; it is written at once too, since a run whose server died may never finish.
 */
function watchExit(server: ServerProcess, label: string, stopping: () => boolean, record: (exit: string) => void): void {
  let tail = "";
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-EXIT_TAIL_CHARS);
  };
  server.child.stdout?.on("data", keep);
  server.child.stderr?.on("data", keep);
  server.child.once("exit", (code, signal) => {
    if (stopping()) return;
    const exit = `${label} exited during the run (${signal ?? `code ${code}`}); its last output: ${tail.trim() || "(none)"}`;
    process.stderr.write(`\nwirelab bench: ${exit}\n`);
    record(exit);
  });
}

/** Several instances' counters as one server's; null when any instance did not answer. */
function mergeStats(all: Array<StatsResponse | null>): StatsResponse | null {
  if (all.some((s) => s === null)) return null;
  const [first, ...rest] = all as StatsResponse[];
  const merged: StatsResponse = structuredClone(first!);
  const add = (into: StatsResponse["api"], from: StatsResponse["api"]) => {
    for (const key of Object.keys(into) as Array<keyof StatsResponse["api"]>) into[key] += from[key];
  };
  for (const s of rest) {
    add(merged.api, s.api);
    for (const t of Object.keys(merged.transports) as TransportName[]) add(merged.transports[t], s.transports[t]);
  }
  return merged;
}

async function startPeer(name: PeerName, nodeFlags: string[], cluster: ClusterShape): Promise<Target> {
  // socket.io-redis: that many Socket.IO servers on one Redis Streams adapter; every other peer: one.
  const count = name === "socket.io-redis" ? cluster.instances : 1;
  const stream = `wirelab-bench-sio-${randomBytes(4).toString("hex")}`;
  const env = name === "socket.io-redis" ? { WIRELAB_PEER_REDIS: cluster.redisUrl ?? "redis://127.0.0.1:6379", WIRELAB_PEER_STREAM: stream } : {};
  const peers: PeerProcess[] = [];
  try {
    for (let i = 0; i < count; i++) peers.push(await PeerProcess.start(name, nodeFlags, env));
  } catch (error) {
    await Promise.all(peers.map((p) => p.stop()));
    throw error;
  }
  return {
    servedBy: name,
    pids: peers.map((p) => p.pid),
    url: peers[0]!.url,
    urls: peers.map((p) => p.url),
    token: "",
    send: peerTarget(peers[0]!.url),
    stats: async () => null,
    restart: async () => {
      throw new Error("the peer cannot restart in place");
    },
    stop: async () => {
      await Promise.all(peers.map((p) => p.stop()));
      if (env.WIRELAB_PEER_REDIS) await deleteRedisKeys(env.WIRELAB_PEER_REDIS, `${stream}*`);
    },
  };
}

interface UnitFacts {
  firstMeasuredSendAt: number;
  wire: BenchTransportResult["wire"];
  server: ServerUsage | null;
  samples: MemorySample[];
  connect: { ms: number[]; allMs: number; failed: number };
  timeline: Array<{ t: number; perSecond: number }>;
  instances: InstanceSeries[];
  sendFailures: number;
}

function transportResult(transport: TransportName, servedBy: ServedBy, groups: GroupResult[], facts: UnitFacts): BenchTransportResult {
  const sum = (f: (g: GroupResult) => number) => groups.reduce((total, g) => total + f(g), 0);
  const histogram = hdr.build({ numberOfSignificantValueDigits: 3, autoResize: true, useWebAssembly: false });
  for (const g of groups) if (g.histogram) histogram.add(hdr.decodeFromCompressedBase64(g.histogram, 64, false));
  const delivered = sum((g) => g.delivered);
  const expected = sum((g) => g.expected);
  const measured = sum((g) => g.measured);
  const lastMeasuredAt = Math.max(...groups.map((g) => g.lastMeasuredAt ?? 0));
  const requests = sum((g) => g.requests);
  const reconnectMs = groups.flatMap((g) => g.reconnectMs);
  const reconnectDistribution = distribution(reconnectMs);
  const memoryPerConnectionBytes = slope(facts.samples.map((s) => ({ x: s.connections, y: s.rssBytes })));
  return {
    transport,
    servedBy,
    clients: sum((g) => g.clients),
    expected,
    delivered,
    lost: Math.max(0, expected - delivered),
    duplicated: sum((g) => g.duplicated),
    measured,
    latency: latencyOf(histogram),
    deliveriesPerSecond: measured > 0 && lastMeasuredAt > facts.firstMeasuredSendAt ? (measured * 1000) / (lastMeasuredAt - facts.firstMeasuredSendAt) : null,
    requests,
    requestsPerMessage: perDelivered(requests, delivered),
    clientBytesIn: sum((g) => g.bytesIn),
    clientBytesOut: sum((g) => g.bytesOut),
    wire: facts.wire,
    bytesPerMessage: bytesPerMessage(facts.wire, delivered),
    reconnects: sum((g) => g.reconnects),
    reconnectedClients: sum((g) => g.reconnectedClients),
    movedClients: groups.some((g) => g.movedClients === null) ? null : sum((g) => g.movedClients ?? 0),
    reconnectMs: durationSummary(reconnectMs),
    reconnectDistribution,
    detectMs: null,
    connectMs: distribution(facts.connect.ms),
    connectAllMs: facts.connect.ms.length > 0 ? roundMs(facts.connect.allMs) : null,
    server: facts.server,
    memoryPerConnectionBytes: memoryPerConnectionBytes === null ? null : Math.round(memoryPerConnectionBytes),
    memorySamples: facts.samples,
    timeline: facts.timeline.map((p) => ({ t: p.t, perSecond: roundMs(p.perSecond) })),
    instances: facts.instances,
    sendFailures: facts.sendFailures,
  };
}

type Histogram = ReturnType<typeof hdr.build>;

function latencyOf(histogram: Histogram): BenchLatency {
  const ms = (us: number) => roundMs(us / 1000);
  if (histogram.totalCount === 0) return { count: 0, mean: null, p50: null, p90: null, p95: null, p99: null, p999: null, max: null, cdf: [] };
  const at = (percentile: number) => (percentile >= 100 ? ms(histogram.maxValue) : ms(histogram.getValueAtPercentile(percentile)));
  return {
    count: histogram.totalCount,
    mean: ms(histogram.mean),
    p50: at(50),
    p90: at(90),
    p95: at(95),
    p99: at(99),
    p999: at(99.9),
    max: at(100),
    cdf: CDF_PERCENTILES.map((percentile) => ({ percentile, ms: at(percentile) })),
  };
}


/**
 * The server's socket counters for one transport over the window. A restart starts the counters
 * afresh, so the part before it (read just before the restart) is added to the part after.
 */
function wireDelta(transport: TransportName, before: StatsResponse | null, atRestart: StatsResponse | null, after: StatsResponse | null): BenchTransportResult["wire"] {
  if (!before || !after) return null;
  const b = before.transports[transport];
  const a = after.transports[transport];
  if (atRestart) {
    const r = atRestart.transports[transport];
    return { requests: r.requests - b.requests + a.requests, bytesIn: r.bytesIn - b.bytesIn + a.bytesIn, bytesOut: r.bytesOut - b.bytesOut + a.bytesOut };
  }
  return { requests: a.requests - b.requests, bytesIn: a.bytesIn - b.bytesIn, bytesOut: a.bytesOut - b.bytesOut };
}

function serverUsage(before: ProcessSample | null, after: ProcessSample | null, seconds: number): ServerUsage | null {
  if (!before || !after) return null;
  const cpuSeconds = after.cpuSeconds - before.cpuSeconds;
  return { cpuSeconds: roundMs(cpuSeconds), cpuCores: roundMs(seconds > 0 ? cpuSeconds / seconds : 0), rssBytes: after.rssBytes, peakRssBytes: after.peakRssBytes };
}

function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    platform: process.platform,
    release: release(),
    arch: process.arch,
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? "unknown",
    memoryBytes: totalmem(),
    node: process.version,
    openFilesLimit: openFilesLimit(),
  };
}

function formatRate(perSecond: number): string {
  return perSecond >= 1000 ? `${(perSecond / 1000).toFixed(1)}k deliveries/s` : `${Math.round(perSecond)} deliveries/s`;
}


async function retry<T>(f: () => Promise<T>, attempts = 50): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (error) {
      if (i >= attempts) throw error;
      await sleep(100);
    }
  }
}
