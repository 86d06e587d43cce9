/**
 * `wirelab bench --quick` end to end, as CI runs it: the compiled bin in a child process, which
 * starts its own server and load workers. Then the report gate itself: a malformed report or a
 * lost or duplicated message must be refused. No timing is asserted.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { upgradeReport, validateReport, type BenchReport } from "../../../server/bench/BenchReport.js";
import { UsageError, parseBenchArgs } from "../../../server/bench/options.js";
import { TRANSPORTS } from "../../../web/src/isomorphic/protocol/index.js";
import { tempDir } from "../../helpers.js";
import { redisForTests } from "../../redis.js";
import { packageRoot } from "../../../server/paths.js";

const ROOT = `${packageRoot()}/`;
const BIN = join(ROOT, "bin", "wirelab.js");

function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, "bench", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return once(child, "exit").then(([code]) => ({ code: code as number | null, stdout, stderr }));
}



describe("wirelab bench --quick", () => {
  const { dir, cleanup } = tempDir();

  test("runs every scenario over all four transports and exits 0 with a clean, well-formed report", async () => {
    try {
      const jsonFile = join(dir, "report.json");
      const htmlFile = join(dir, "report.html");
      const run = await bench(["--quick", "--json", jsonFile, "--html", htmlFile]);
      expect(run.stderr + run.stdout).not.toMatch(/failed|✘/);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("no message lost or duplicated");

      const report = JSON.parse(await readFile(jsonFile, "utf8")) as BenchReport;
      expect(validateReport(report)).toEqual([]);
      expect(report.failures).toEqual([]);
      expect(report.parameters.quick).toBe(true);
      expect(report.machine.cpus).toBeGreaterThan(0);
      expect(report.scenarios.map((s) => s.name)).toEqual(["steady", "burst", "fanout", "connect-storm", "reconnect-storm"]);
      for (const scenario of report.scenarios) {
        expect(scenario.transports.map((t) => t.transport)).toEqual([...TRANSPORTS]);
        for (const t of scenario.transports) {
          expect(t.lost, `${scenario.name}/${t.transport} lost`).toBe(0);
          expect(t.duplicated, `${scenario.name}/${t.transport} duplicated`).toBe(0);
          expect(t.expected).toBeGreaterThan(0);
          expect(t.delivered).toBe(t.expected);
          expect(t.latency.count).toBeGreaterThan(0);
          expect(t.latency.p50).not.toBeNull();
          expect(t.latency.p999! >= t.latency.p50!).toBe(true);
          expect(t.connectMs.count).toBe(t.clients);
          expect(t.wire).not.toBeNull();
        }
      }
      // The reconnect storm: what a restart guarantees whatever the timing (nothing lost or
      // duplicated is checked above for every scenario). Every client ends on the restarted
      // instance; a held connection (SSE, WebSocket) cannot cross a restart, so each of those
      // clients reconnected. A poll client that sent nothing while the server was down crosses it
      // with its next request and need not reconnect: its count is reported, not asserted.
      const storm = report.scenarios.find((s) => s.name === "reconnect-storm")!;
      expect(storm.restarted).toBe(true);
      for (const t of storm.transports) {
        expect(t.movedClients, `${t.transport} clients on the restarted instance`).toBe(t.clients);
        expect(t.reconnectedClients).toBeLessThanOrEqual(t.clients);
        if (t.transport === "sse" || t.transport === "websocket") expect(t.reconnectedClients, `${t.transport} reconnected`).toBe(t.clients);
      }
      // No other scenario restarted anything, so nobody moved.
      for (const scenario of report.scenarios.filter((s) => !s.restarted)) {
        for (const t of scenario.transports) expect(t.movedClients, `${scenario.name}/${t.transport} moved`).toBe(0);
      }

      const html = await readFile(htmlFile, "utf8");
      expect(html).toContain("<canvas id=\"cdf-0\"");
      // Self-contained: Chart.js is inlined, nothing is loaded from anywhere.
      expect(html).toMatch(/Chart\.js v4/);
      expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    } finally {
      cleanup();
    }
  }, 120_000);

  test("two instances on Redis against two Socket.IO servers on its Redis adapter: nothing lost across instances", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const jsonFile = join(dir, "cluster.json");
      const redis = await redisForTests();
      const run = await bench(["--quick", "--instances", "2", "--redis", redis.url, "--peer", "socket.io-redis", "--scenario", "fanout", "--transports", "sse,websocket", "--json", jsonFile]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain(`2 instances on ${redis.url}, the sender on the first`);
      const cluster = JSON.parse(await readFile(jsonFile, "utf8")) as BenchReport;
      expect(validateReport(cluster)).toEqual([]);
      expect(cluster.parameters).toMatchObject({ instances: 2, peers: ["socket.io-redis"] });
      const fanout = cluster.scenarios[0]!;
      expect(fanout.peers.map((t) => t.servedBy)).toEqual(["socket.io-redis"]);
      for (const t of [...fanout.transports, ...fanout.peers]) {
        expect(t.delivered, `${t.servedBy}/${t.transport}`).toBe(t.expected);
        expect(t.lost + t.duplicated).toBe(0);
      }
    } finally {
      cleanup();
      await (await redisForTests()).stop();
    }
  }, 120_000);

  test("peers and a baseline in one run: a bare ws server, Socket.IO on long-polling, and this checkout's own server as the baseline", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const jsonFile = join(dir, "peers.json");
      // This checkout is a built checkout too: the baseline machinery runs without a second one.
      const run = await bench(["--quick", "--scenario", "steady", "--transports", "websocket,long-poll", "--peer", "ws,socket.io-polling", "--baseline", ROOT, "--json", jsonFile]);
      expect(run.code, run.stderr).toBe(0);
      const header = run.stdout.split("\n").find((line) => line.includes("ws (peer)"));
      expect(header).toBeDefined();
      expect(header!.trim().split(/\s{2,}/)).toEqual(["websocket", "websocket (baseline)", "long-poll", "long-poll (baseline)", "ws (peer)", "socket.io-polling (peer)"]);
      expect(run.stdout).toMatch(/websocket vs ws \(peer\): [\d.]+× the deliveries\/s/);
      expect(run.stdout).toMatch(/long-poll vs socket\.io-polling \(peer\): /);
      expect(run.stdout).toMatch(/websocket vs websocket \(baseline\): /);

      const peers = JSON.parse(await readFile(jsonFile, "utf8")) as BenchReport;
      expect(validateReport(peers)).toEqual([]);
      expect(peers.format).toBe(2);
      expect(peers.parameters).toMatchObject({ peers: ["ws", "socket.io-polling"], baseline: ROOT.replace(/\/$/, "") });
      const steady = peers.scenarios[0]!;
      expect(steady.peers.map((t) => [t.servedBy, t.transport])).toEqual([["ws", "websocket"], ["socket.io-polling", "long-poll"]]);
      expect(steady.baseline.map((t) => [t.servedBy, t.transport])).toEqual([["baseline", "websocket"], ["baseline", "long-poll"]]);
      for (const t of [...steady.baseline, ...steady.peers]) {
        expect(t.lost, `${t.servedBy}/${t.transport} lost`).toBe(0);
        expect(t.duplicated).toBe(0);
        expect(t.expected).toBeGreaterThan(0);
        expect(t.delivered).toBe(t.expected);
        expect(t.latency.count).toBeGreaterThan(0);
      }
    } finally {
      cleanup();
    }
  }, 120_000);

  test("a usage error exits 2 before anything starts", async () => {
    const run = await bench(["--transports", "carrier-pigeon"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown "carrier-pigeon"');
  });
});

/**
 * A report of a real `--quick` run (its time series shortened), so the checks of reports stand
 * alone instead of reading the run above. Refresh it with `wirelab bench --quick --json …` when
 * the format changes; the first test checks that a fresh run still validates.
 */
const fixture: BenchReport = JSON.parse(readFileSync(join(packageRoot(), "test", "fixtures", "bench-report.json"), "utf8")) as BenchReport;

describe("validateReport", () => {
  const sample = (): BenchReport => structuredClone(fixture);

  test("accepts the recorded report as it is", () => {
    expect(validateReport(sample())).toEqual([]);
  });

  test("refuses a report that lost or duplicated a message", () => {
    const lost = sample();
    const t = lost.scenarios[0]!.transports[1]!;
    t.delivered -= 1;
    t.lost = 1;
    expect(validateReport(lost)).toEqual([`steady/${t.transport}: 1 message(s) lost`]);

    const duplicated = sample();
    duplicated.scenarios[2]!.transports[3]!.duplicated = 2;
    expect(validateReport(duplicated)).toEqual(["fanout/websocket: 2 message(s) duplicated"]);
  });

  test("refuses malformed reports", () => {
    const missing = sample() as Partial<BenchReport>;
    delete missing.machine;
    expect(validateReport(missing)[0]).toMatch(/^malformed report: machine/);

    const noLost = sample();
    delete (noLost.scenarios[0]!.transports[0] as Partial<BenchReport["scenarios"][0]["transports"][0]>).lost;
    expect(validateReport(noLost)[0]).toMatch(/^malformed report: scenarios\.0\.transports\.0\.lost/);

    const inconsistent = sample();
    inconsistent.scenarios[1]!.transports[0]!.expected += 5;
    expect(validateReport(inconsistent)[0]).toMatch(/delivered \+ lost .* is not expected/);

    expect(validateReport({ format: 2 })[0]).toMatch(/^malformed report/);
    expect(validateReport({ ...sample(), format: 3 })[0]).toMatch(/^malformed report/);
    expect(validateReport("not a report")[0]).toMatch(/^malformed report/);
  });

  test("refuses a restart that left a client on the stopped server or a held connection unbroken", () => {
    const storm = sample();
    const scenario = storm.scenarios.find((s) => s.restarted)!;
    const ws = scenario.transports.find((t) => t.transport === "websocket")!;
    ws.reconnectedClients -= 1;
    const shortPoll = scenario.transports.find((t) => t.transport === "short-poll")!;
    shortPoll.movedClients! -= 2;
    // A poll client that crossed the restart between requests is fine.
    shortPoll.reconnectedClients = 0;
    expect(validateReport(storm)).toEqual([
      "reconnect-storm/short-poll: 2 client(s) never reached the restarted server",
      "reconnect-storm/websocket: 1 client(s) kept a connection through the restart without reconnecting",
    ]);
  });
});

describe("format 1 reports (one peer field, no baseline)", () => {
  /** The recorded report as the previous format wrote it. */
  const formatOne = (peer: "none" | "socket.io") => {
    const old = structuredClone(fixture) as unknown as { format: number; scenarios: Array<Record<string, unknown>> };
    old.format = 1;
    for (const scenario of old.scenarios) {
      delete scenario.peers;
      delete scenario.baseline;
      const ws = (scenario.transports as BenchReport["scenarios"][0]["transports"]).find((t) => t.transport === "websocket")!;
      scenario.peer = peer === "none" ? null : { ...ws, servedBy: "socket.io" };
    }
    return old;
  };

  test("are still read: validated the same way, and upgraded to a list of peers", () => {
    // The current format reads back as it was written.
    expect(upgradeReport(structuredClone(fixture))).toEqual({ report: fixture, problems: [] });
    expect(validateReport(formatOne("none"))).toEqual([]);
    const withPeer = formatOne("socket.io");
    expect(validateReport(withPeer)).toEqual([]);
    const upgraded = upgradeReport(withPeer);
    expect(upgraded.problems).toEqual([]);
    expect(upgraded.report!.format).toBe(2);
    for (const scenario of upgraded.report!.scenarios) {
      expect(scenario.peers.map((t) => t.servedBy)).toEqual(["socket.io"]);
      expect(scenario.baseline).toEqual([]);
    }
    // A lost message of the old single peer still fails the report.
    const lost = formatOne("socket.io") as unknown as { scenarios: Array<{ peer: { delivered: number; lost: number } }> };
    lost.scenarios[0]!.peer.delivered -= 1;
    lost.scenarios[0]!.peer.lost = 1;
    expect(validateReport(lost)).toEqual(["steady/socket.io: 1 message(s) lost"]);
  });

  test("a format 2 report must hold the lists, not the old field", () => {
    const mixed = formatOne("none");
    mixed.format = 2;
    expect(validateReport(mixed)[0]).toMatch(/^malformed report: scenarios\.0\.(baseline|peers)/);
  });
});

describe("bench options", () => {
  test("--peer takes a comma-separated list of peers, each once, in the order given", () => {
    const parsed = parseBenchArgs(["--peer", "ws, socket.io,socket.io-polling,ws"], 2);
    if (parsed === "help") throw new Error("unexpected help");
    expect(parsed.parameters).toMatchObject({ peers: ["ws", "socket.io", "socket.io-polling"], baseline: null });
    const none = parseBenchArgs([], 2);
    if (none === "help") throw new Error("unexpected help");
    expect(none.parameters.peers).toEqual([]);
    expect(() => parseBenchArgs(["--peer", "ws,pusher"], 2)).toThrow(/--peer: unknown "pusher"/);
    expect(() => parseBenchArgs(["--peer", ","], 2)).toThrow(UsageError);
    expect(() => parseBenchArgs(["--peer", "ws,socket.io-redis"], 2)).toThrow(/needs --instances 2/);
    // A peer that would run nowhere: its transport, or every scenario it runs in, is not selected.
    expect(() => parseBenchArgs(["--peer", "socket.io-polling", "--transports", "websocket"], 2)).toThrow(/--peer socket.io-polling runs against long-poll in steady or fanout/);
    expect(() => parseBenchArgs(["--peer", "ws", "--scenario", "burst"], 2)).toThrow(UsageError);
  });

  test("--baseline needs a built checkout: the folder, its bin/wirelab.js and its compiled server", () => {
    const { dir, cleanup } = tempDir();
    try {
      expect(() => parseBenchArgs(["--baseline", join(dir, "missing")], 2)).toThrow(UsageError);
      expect(() => parseBenchArgs(["--baseline", join(dir, "missing")], 2)).toThrow(/--baseline: no such folder/);
      expect(() => parseBenchArgs(["--baseline", dir], 2)).toThrow(/not a built wirelab checkout \(missing bin\/wirelab\.js, dist\/node\/server\/cli\.js/);
      mkdirSync(join(dir, "bin"));
      writeFileSync(join(dir, "bin", "wirelab.js"), "");
      expect(() => parseBenchArgs(["--baseline", dir], 2)).toThrow(/missing dist\/node\/server\/cli\.js/);
      mkdirSync(join(dir, "dist", "node", "server"), { recursive: true });
      writeFileSync(join(dir, "dist", "node", "server", "cli.js"), "");
      const parsed = parseBenchArgs(["--baseline", dir], 2);
      if (parsed === "help") throw new Error("unexpected help");
      expect(parsed.parameters.baseline).toBe(dir);
    } finally {
      cleanup();
    }
  });


  test("per-transport client counts and scenario overrides", () => {
    const parsed = parseBenchArgs(["--clients", "websocket=20000,sse=5000", "--transports", "sse,websocket", "--scenario", "hold", "--rate", "2"], 2);
    if (parsed === "help") throw new Error("unexpected help");
    const p = parsed.parameters;
    expect(p.clients).toMatchObject({ websocket: 20_000, sse: 5_000 });
    expect(p.scenarioSettings.hold).toMatchObject({ together: true, rate: 2 });
    // 25,000 connections at once need two workers' worth and two loopback source addresses.
    expect(p.workers).toBe(5);
    expect(p.sourceAddresses).toEqual(["127.0.0.1", "127.0.0.2"]);
  });

  test("several instances share a Redis; the Redis peer needs them", () => {
    const parsed = parseBenchArgs(["--instances", "2", "--peer", "socket.io-redis", "--redis", "redis://127.0.0.1:6390"], 2);
    if (parsed === "help") throw new Error("unexpected help");
    expect(parsed.parameters).toMatchObject({ instances: 2, redisUrl: "redis://127.0.0.1:6390", peers: ["socket.io-redis"] });
    const single = parseBenchArgs([], 2);
    if (single === "help") throw new Error("unexpected help");
    expect(single.parameters).toMatchObject({ instances: 1, redisUrl: null });
    expect(() => parseBenchArgs(["--peer", "socket.io-redis"], 2)).toThrow(/needs --instances 2/);
    expect(() => parseBenchArgs(["--instances", "2", "--redis", "localhost"], 2)).toThrow(/--redis must start with redis:\/\//);
  });

  test("impossible values are usage errors", () => {
    expect(() => parseBenchArgs(["--size", "5000"], 2)).toThrow(UsageError);
    expect(() => parseBenchArgs(["--clients", "0"], 2)).toThrow(UsageError);
    expect(() => parseBenchArgs(["--clients", "websocket=10", "--transports", "sse"], 2)).toThrow(/not in --transports/);
    expect(() => parseBenchArgs(["--peer", "pusher"], 2)).toThrow(UsageError);
  });
});
