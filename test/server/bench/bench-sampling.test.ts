/**
 * The bench samples every server instance over the measured window: its RSS (from /proc) and its
 * event-loop lag (from its /metrics). A tiny hold run on two instances sharing the real Redis, the
 * compiled bin in a child process as CI runs it; and an instance killed mid-run must be named in
 * the failures. Counts and shapes only, no timing.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { validateReport, type BenchReport } from "../../../server/bench/BenchReport.js";
import { gaugeMs } from "../../../server/bench/InstanceSampler.js";
import { parseBenchArgs } from "../../../server/bench/options.js";
import { tempDir } from "../../helpers.js";
import { redisForTests } from "../../redis.js";
import { packageRoot } from "../../../server/paths.js";

const ROOT = packageRoot();
const BIN = join(ROOT, "bin", "wirelab.js");

/** Run the bench; `watch` sees its pid and its progress (stderr) as it comes. */
function bench(args: string[], watch?: (pid: number, stderr: string) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, "bench", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => {
    stderr += d;
    watch?.(child.pid!, stderr);
  });
  return once(child, "exit").then(([code]) => ({ code: code as number | null, stdout, stderr }));
}

/** The `wirelab serve` children of a process, from /proc (Linux, as the bench's figures). */
async function serverChildren(parent: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === parent && cmdline.split("\0").includes("serve")) pids.push(Number(entry));
  }
  return pids.sort((a, b) => a - b);
}

let report: BenchReport;

describe("bench: the server instances over a run", () => {
  test("a hold run on two instances reports each instance's RSS series and event-loop lag", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const jsonFile = join(dir, "hold.json");
      const redis = await redisForTests();
      const run = await bench([
        "--scenario", "hold", "--instances", "2", "--redis", redis.url,
        "--transports", "websocket,sse,long-poll", "--clients", "8", "--rooms", "2",
        "--duration", "1.5", "--warmup", "0.2", "--sample-interval", "0.5", "--json", jsonFile,
      ]);
      expect(run.code, run.stderr).toBe(0);
      report = JSON.parse(await readFile(jsonFile, "utf8")) as BenchReport;
      expect(validateReport(report)).toEqual([]);
      expect(report.parameters.sampleIntervalMs).toBe(500);

      const hold = report.scenarios[0]!;
      const [first, ...others] = hold.transports;
      // One server for every transport: one set of instance series, shared.
      for (const t of others) expect(t.instances).toEqual(first!.instances);
      const instances = first!.instances;
      expect(instances.map((i) => i.instance)).toEqual([1, 2]);
      expect(new Set(instances.map((i) => i.pid)).size).toBe(2);
      for (const { instance, samples } of instances) {
        // At least the window's start and its end.
        expect(samples.length, `instance ${instance} samples`).toBeGreaterThanOrEqual(2);
        // The first sample only resets the lag histogram (its figures covered the connecting).
        expect(samples[0]).toMatchObject({ eventLoopLagP99Ms: null, eventLoopLagMaxMs: null });
        for (const s of samples) expect(s.rssBytes, `instance ${instance} RSS`).toBeGreaterThan(0);
        for (const s of samples.slice(1)) {
          expect(s.eventLoopLagP99Ms, `instance ${instance} lag p99`).toEqual(expect.any(Number));
          expect(s.eventLoopLagMaxMs! >= s.eventLoopLagP99Ms!).toBe(true);
        }
        const ts = samples.map((s) => s.t);
        expect(ts).toEqual([...ts].sort((a, b) => a - b));
      }
      expect(run.stdout).toMatch(/instance 1: RSS first \/ last \/ max [\d.]+ \/ [\d.]+ \/ [\d.]+ MB; event-loop lag p99 [\d.]+ ms/);
      expect(run.stdout).toMatch(/instance 2: RSS first/);
    } finally {
      cleanup();
      await (await redisForTests()).stop();
    }
  }, 120_000);

  test("a report whose instance series is malformed is refused; the interval defaults to 10 s", () => {
    const broken = structuredClone(report);
    broken.scenarios[0]!.transports[0]!.instances[0]!.samples[0]!.rssBytes = -1;
    expect(validateReport(broken)).toEqual([expect.stringMatching(/^malformed report: .*instances/)]);
    const missing = structuredClone(report) as unknown as { scenarios: Array<{ transports: Array<Record<string, unknown>> }> };
    delete missing.scenarios[0]!.transports[0]!.instances;
    expect(validateReport(missing)).toEqual([expect.stringMatching(/^malformed report: .*instances/)]);

    const parsed = parseBenchArgs(["--scenario", "hold"], 2);
    if (parsed === "help") throw new Error("unexpected help");
    expect(parsed.parameters.sampleIntervalMs).toBe(10_000);
    expect(() => parseBenchArgs(["--sample-interval", "0"], 2)).toThrow(/--sample-interval takes a number of at least 0.1/);
  });

  test("an instance that dies during the run is a failure naming it, with its last output", async () => {
    const redis = await redisForTests();
    try {
      let killing = false;
      let killed: number | null = null;
      const run = await bench(
        ["--scenario", "hold", "--instances", "2", "--redis", redis.url, "--transports", "websocket", "--clients", "4", "--rooms", "1", "--duration", "4", "--warmup", "0.2"],
        (pid, progress) => {
          // Once every client is connected and the window runs, kill the second instance.
          if (killing || !progress.includes("measuring")) return;
          killing = true;
          void serverChildren(pid).then((servers) => {
            killed = servers[1]!;
            process.kill(killed, "SIGKILL");
          });
        },
      );
      expect(killed).not.toBeNull();
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`instance 2 (pid ${killed}) exited during the run (SIGKILL); its last output:`);
      expect(run.stdout).toMatch(new RegExp(`hold/websocket: instance 2 \\(pid ${killed}\\) exited during the run`));
    } finally {
      await redis.stop();
    }
  }, 120_000);

  test("the lag gauges are read from Prometheus text, labelled or not", () => {
    const text = "# HELP nodejs_eventloop_lag_p99_seconds x\nnodejs_eventloop_lag_p99_seconds 0.012206079\nnodejs_eventloop_lag_max_seconds{instance=\"a\"} 0.5\n";
    expect(gaugeMs(text, "nodejs_eventloop_lag_p99_seconds")).toBe(12.206);
    expect(gaugeMs(text, "nodejs_eventloop_lag_max_seconds")).toBe(500);
    expect(gaugeMs(text, "nodejs_eventloop_lag_p50_seconds")).toBeNull();
  });
});
