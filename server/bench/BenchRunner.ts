/**
 * Runs the benchmark: for each scenario, a fresh server child process (wirelab, the --baseline
 * checkout's, or a peer), the clients opened in the load workers, warm-up, the measured window,
 * the drain, and the figures gathered into one BenchReport. The coordinator itself only sends
 * messages and keeps time.
 */
import { cpus, release, totalmem } from "node:os";
import { resolve } from "node:path";
import type { StatsResponse, TransportName } from "../../web/src/isomorphic/protocol/index.js";
import { Emitter } from "../../web/src/isomorphic/kit/Emitter.js";
import { sleep } from "../../web/src/isomorphic/kit/backoff.js";
import type { BenchReport, BenchTransportResult, MachineInfo, MemorySample, ScenarioResult, ServedBy } from "./BenchReport.js";
import { validateReport } from "./BenchReport.js";
import { PEER_SCENARIOS, PEER_TRANSPORT, type BenchParameters, type PeerName, type ScenarioInfo, type ScenarioName } from "./parameters.js";
import { InstanceSampler } from "./InstanceSampler.js";
import { openFilesLimit, sampleProcesses } from "./ProcessProbe.js";
import { MEASURED_MARK, WARMUP_MARK, groupOf, preciseNow, type ConnectSpec } from "./protocol.js";
import { Publisher } from "./Publisher.js";
import { WorkerPool } from "./WorkerPool.js";
import { startPeer, startWirelab, type Target } from "./targets.js";
import { serverUsage, transportResult } from "./unitFigures.js";
import { wireDelta } from "../../web/src/isomorphic/stats/figures.js";

export interface BenchProgress {
  /** 0–1 over the whole run. */
  fraction: number;
  label: string;
}

export interface BenchRunnerEvents {
  [name: string]: (...args: never[]) => void;
  progress: (progress: BenchProgress) => void;
}

const SHORT: Record<TransportName, string> = { "short-poll": "sp", "long-poll": "lp", sse: "sse", websocket: "ws" };
const TIMELINE_MS = 500;

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
