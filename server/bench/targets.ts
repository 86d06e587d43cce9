/**
 * The servers a benchmark unit runs against: wirelab (this checkout's, or the --baseline's), as
 * one instance or several on one Redis, or a comparison peer — started, watched for an exit that
 * would spoil the run, and stopped. The bench's own sessions are kept fresh for long holds.
 */
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { StatsResponse, TransportName } from "../../web/src/isomorphic/protocol/index.js";
import { FeedHttp } from "../../web/src/isomorphic/kit/FeedHttp.js";
import { SessionKeeper } from "../../web/src/isomorphic/kit/SessionKeeper.js";
import { WorkbenchApi } from "../../web/src/isomorphic/kit/WorkbenchApi.js";
import { ServerProcess } from "../ServerProcess.js";
import { deleteRedisKeys } from "../cluster/redisChecks.js";
import type { ServedBy } from "./BenchReport.js";
import type { PeerName } from "./parameters.js";
import { PeerProcess } from "./peer/PeerProcess.js";
import { peerTarget, wirelabTarget, type SendTarget } from "./Publisher.js";

/** A server under test: wirelab's ServerProcess (ours or the baseline's) or a peer — or several instances of one, sharing Redis. */
export interface Target {
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

export interface ClusterShape {
  instances: number;
  redisUrl: string | null;
}

/** Every instance on the same Redis under keys of this run only, with one session secret. */
function clusterEnv(cluster: ClusterShape): Record<string, string> {
  if (cluster.redisUrl === null) return {};
  return { WIRELAB_SECRET: randomBytes(32).toString("base64url"), WIRELAB_REDIS_PREFIX: `wirelab-bench-${randomBytes(4).toString("hex")}:` };
}

/** wirelab's server, or (checkout set) the server of another built checkout, with the same flags. */
export async function startWirelab(profileDir: string | null, memoryStore: boolean, cluster: ClusterShape, checkout: string | null = null): Promise<Target> {
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
export function mergeStats(all: Array<StatsResponse | null>): StatsResponse | null {
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

export async function startPeer(name: PeerName, nodeFlags: string[], cluster: ClusterShape): Promise<Target> {
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
