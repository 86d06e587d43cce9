/**
 * Every server option and its default, merged in one place.
 * The CLI, tests and (later) the benchmark all build a config through resolveConfig().
 */
import { randomBytes } from "node:crypto";
import { DEFAULT_MAX_CONNECTIONS, openFilesLimit } from "./limits/ConnectionCaps.js";
import { UsageError } from "./UsageError.js";

/** An option or environment value that cannot be used: the CLI reports it as a usage error (exit 2). */
export class ConfigError extends UsageError {
  override name = "ConfigError";
}

/** How a fan-out's writes leave (WirelabConfig.fanoutFlush). */
export const FANOUT_FLUSH_POLICIES = ["adaptive", "message", "turn"] as const;
export type FanoutFlush = (typeof FANOUT_FLUSH_POLICIES)[number];

export interface WirelabConfig {
  /** TCP port to listen on; 0 picks a free one. Defaults to 8080 (or env PORT). */
  port: number;
  /** Address to bind. Defaults to 127.0.0.1 (or env HOST). */
  host: string;
  /**
   * Port of the built-in network emulator, a TCP proxy in front of the server that the dashboard's
   * clients can cross; null turns it off. Defaults to port + 1 (any free port when port is 0).
   */
  networkPort: number | null;
  /** SQLite file for the feed, or ":memory:" to keep history in memory only. Defaults to "wirelab.db". */
  dataFile: string;
  /** Messages kept per room; older ones are pruned. Defaults to 10,000. */
  historyLimit: number;
  /**
   * Redis URL of a shared feed (history, seqs, idempotency, fan-out) for several instances; null
   * keeps the embedded SQLite store. Defaults to env WIRELAB_REDIS, else null.
   */
  redisUrl: string | null;
  /** Prefix of every Redis key and channel, so several workbenches can share one Redis. Defaults to env WIRELAB_REDIS_PREFIX, else "wirelab:". */
  redisPrefix: string;
  /**
   * HMAC secret for session tokens. Defaults to env WIRELAB_SECRET; when unset (null) it is kept
   * beside the data so tokens survive a restart (see sessionSecret.ts): `<data file>.secret`
   * (0600), a key in Redis, or random per process for a memory-only feed.
   */
  secret: string | null;
  /** Key that grants the instructor role at POST /v1/session. Defaults to env WIRELAB_INSTRUCTOR_KEY, else random per start (printed). */
  instructorKey: string;
  /**
   * Give every session the instructor role, for a learner's own workbench. Defaults to true when the
   * server binds a loopback address (only this machine can reach it), false otherwise (a class server).
   */
  autoInstructor: boolean;
  /**
   * Browser origins allowed to call the API and open streams, besides the server's own pages
   * (loopback names and, bound to every address, this machine's addresses, on the server's or the
   * emulator's port). Exact origins like "https://wirelab.school.example"; they may call, but never
   * get the instructor role without the key. Defaults to env WIRELAB_ALLOWED_ORIGINS
   * (comma-separated), else none.
   */
  allowedOrigins: string[];
  /**
   * Host names accepted in the Host header besides localhost, *.localhost, loopback and this
   * machine's addresses (the rest is refused against DNS rebinding). Exact names, or "*.name" for
   * its subdomains. Defaults to env WIRELAB_ALLOWED_HOSTS (comma-separated), else none.
   */
  allowedHosts: string[];
  /**
   * Ports of TCP proxies on this machine that forward to this server (the cluster's front door):
   * a page opened there is the server's own, like one opened at the emulator's port. Defaults to
   * env WIRELAB_PROXY_PORTS (comma-separated), else none.
   */
  proxyPorts: number[];
  /**
   * Lifetime of a session token in seconds; POST /v1/session/refresh renews it for the same user,
   * and a stream whose token runs out is closed (WebSocket 1008, SSE `event:expired`). Defaults to 900 (15 min).
   */
  tokenTtlSeconds: number;
  /** Largest WebSocket frame and HTTP JSON body accepted, in bytes. Defaults to 64 KiB. */
  maxPayloadBytes: number;
  /** `retry:` hint sent to SSE clients, in ms. Defaults to 2,000. */
  sseRetryMs: number;
  /**
   * Interval of SSE heartbeats, in ms: an idle stream gets an `event:heartbeat` (announced as
   * `heartbeatMs` in the hello), so clients can tell a quiet room from a dead link. Defaults to 15,000.
   */
  sseHeartbeatMs: number;
  /**
   * Interval of WebSocket pings; a peer that has not answered one by the next is terminated (a
   * zombie). An idle socket also gets a `{"type":"heartbeat"}` frame each interval (browsers do
   * not expose pings), announced as `heartbeatMs` in the hello. Defaults to 25,000.
   */
  wsPingIntervalMs: number;
  /** A stream whose unsent output exceeds this many bytes is cut (it resumes on reconnect). Defaults to 8 MiB. */
  maxBufferedBytes: number;
  /**
   * Backpressure: a WebSocket or SSE stream whose unsent output passes this many bytes stops taking
   * messages; once its socket drains it reads what it missed from the room's history (a reset if
   * that was pruned meanwhile). A slow reader costs this much, not a queue of every later message.
   * Defaults to 64 KiB.
   */
  pauseBufferedBytes: number;
  /**
   * When a message fanned out to WebSocket and SSE subscribers leaves for each socket, trading
   * latency for syscalls (see docs/benchmarks.md, "Fan-out flush"). "message" writes it to every
   * socket as the fan-out reaches it, so the first subscribers have it while the loop still runs
   * (one write per message per socket); "turn" holds every socket written to until the event-loop
   * turn ends, so the messages of one turn leave in one write per socket, but every subscriber
   * waits for the whole fan-out; "adaptive" writes a socket's first message of a turn at once and
   * holds it from its second (from its first after a turn that brought it several), so a server
   * keeping up sends as "message" does and a backlog leaves coalesced as with "turn". Defaults to env WIRELAB_FANOUT_FLUSH, else "adaptive".
   */
  fanoutFlush: FanoutFlush;
  /**
   * Long-lived connections (SSE streams, WebSockets, parked long polls) one session may hold at
   * once; over it a new one gets 429. Defaults to 100 (a dashboard holds 4, a lab a few dozen).
   */
  maxConnectionsPerUser: number;
  /**
   * Rate limits on (sends, stream opens, sessions, instructor keys). Off only for a load test
   * (`wirelab serve --load-test`, which the benchmark uses). Defaults to true.
   */
  rateLimits: boolean;
  /**
   * Sends (HTTP or WebSocket) one session may make per second, sustained; over it (and its burst)
   * a send is refused with 429 / a `rate_limited` error frame and not stored. Defaults to 50 (a
   * lab's fastest sender sends 50 a second; a fast human far fewer).
   */
  sendsPerSecond: number;
  /** Sends one session may make beyond sendsPerSecond in any 10 seconds. Defaults to 250 (a lab's burst is 200). */
  sendBurst: number;
  /** Refused sends within 10 seconds after which a WebSocket is closed with 1008 (policy violation). Defaults to 200. */
  wsRefusalsBeforeClose: number;
  /** SSE stream and WebSocket opens one client address may make per minute; over it 429. Defaults to 300. */
  connectsPerMinute: number;
  /** Sessions (POST /v1/session) one client address may create per minute; over it 429. Defaults to 60. */
  sessionsPerMinute: number;
  /** Wrong instructor keys one client address may give per minute; then every key attempt gets 429. Defaults to 5. */
  instructorKeyFailuresPerMinute: number;
  /** Open files kept free of client connections, for files, the store, Redis, logs. Defaults to 100. */
  openFilesReserve: number;
  /**
   * TCP connections past which a new one is cut at once, so file descriptors never run out.
   * Defaults to the open-files soft limit (Linux: /proc/self/limits) minus openFilesReserve,
   * read at start; 10,000 where the limit cannot be read.
   */
  maxConnections: number;
  /**
   * TCP connections past which a new one is answered only at /healthz, /readyz and /metrics
   * (everything else 503 + `Connection: close`), and cut if idle for shedIdleMs. Defaults to
   * maxConnections minus 200 (minus a tenth when that is smaller).
   */
  connectionsSoftCap: number;
  /** TCP connections one client address may hold; past it its new ones get 429 too_many_connections. Defaults to 5,000. */
  maxConnectionsPerIp: number;
  /** A connection past a cap that sends no request within this many ms is closed. Defaults to 2,000. */
  shedIdleMs: number;
  /** Messages sent per page when replaying history to a stream. Defaults to 500. */
  replayPageSize: number;
  /**
   * Budget of the shared history-page cache, in bytes: each cached page counts twice its JSON's
   * UTF-8 length (the JSON and the objects it was made from) plus bookkeeping; the least recently
   * used pages of any room go first; a page costing more than the whole budget is not cached.
   * Defaults to 32 MiB.
   */
  pageCacheBytes: number;
  /**
   * A poll answer or a stream's replay page stops adding messages once their JSON reaches this
   * many bytes (always at least one message, so a reader progresses); `next` is the last one
   * included. Defaults to 1 MiB.
   */
  maxPageBytes: number;
  /**
   * Rooms the feed holds (a room is created when first sent to or read). A send that would create
   * one more is refused with 507 too_many_rooms; existing rooms keep working. Defaults to 1,000.
   */
  maxRooms: number;
  /**
   * Bytes of message JSON kept per room, beside historyLimit: past it the oldest messages are
   * pruned (a reader behind them gets a reset). Defaults to 8 MiB.
   */
  maxRoomHistoryBytes: number;
  /** Long polls parked at once in this process; one more is answered 503 with Retry-After. Defaults to 10,000. */
  maxParkedPolls: number;
  /**
   * A code learners must give to join (POST /v1/session `classCode`); the instructor key joins
   * without it. Defaults to env WIRELAB_CLASS_CODE, else null (no code).
   */
  classCode: string | null;
  /** A learner's page not heard from (it checks in every 2 s) for this many ms leaves the roster. Defaults to 600,000 (10 min). */
  classRosterWindowMs: number;
  /** Pages (browser tabs) a class holds at once; one more is refused with 507 class_full. Defaults to 500. */
  maxClassPages: number;
  /** Lab submissions kept (a resubmission of the same lab replaces a learner's earlier one); then 507. Defaults to 5,000. */
  maxSubmissions: number;
  /** Largest lab submission (its result and answers) in bytes. Defaults to 512 KiB. */
  maxSubmissionBytes: number;
  /** Directory of the lab files. Defaults to labs/ beside the package. */
  labsDir: string | null;
  /** Directory with the built dashboard, served at "/". Defaults to dist/web beside the package. */
  webRoot: string | null;
  /** pino log level. Defaults to "info" (env LOG_LEVEL). */
  logLevel: string;
  /**
   * Serve Prometheus metrics at GET /metrics (outside /v1, without a token, as Prometheus scrapes).
   * Defaults to true.
   */
  metrics: boolean;
}

/**
 * `loadTest` lifts the limits a benchmark's load would hit (rate limits, per-user and per-address
 * connection caps), keeping the per-process cap that protects the file descriptors.
 */
export type WirelabOptions = Partial<WirelabConfig> & { memory?: boolean; loadTest?: boolean };

const defaults = (env: NodeJS.ProcessEnv): WirelabConfig => ({
  port: env.PORT !== undefined ? Number(env.PORT) : 8080,
  host: env.HOST ?? "127.0.0.1",
  networkPort: null,
  dataFile: "wirelab.db",
  historyLimit: 10_000,
  redisUrl: env.WIRELAB_REDIS || null,
  redisPrefix: env.WIRELAB_REDIS_PREFIX || "wirelab:",
  secret: env.WIRELAB_SECRET || null,
  instructorKey: env.WIRELAB_INSTRUCTOR_KEY ?? randomBytes(9).toString("base64url"),
  autoInstructor: true,
  allowedOrigins: commaList(env.WIRELAB_ALLOWED_ORIGINS),
  allowedHosts: commaList(env.WIRELAB_ALLOWED_HOSTS),
  proxyPorts: commaList(env.WIRELAB_PROXY_PORTS).map(Number),
  tokenTtlSeconds: 15 * 60,
  maxPayloadBytes: 64 * 1024,
  sseRetryMs: 2_000,
  // One env variable for both: a soak or a demo that wants dead links noticed in seconds.
  sseHeartbeatMs: env.WIRELAB_HEARTBEAT_MS ? Number(env.WIRELAB_HEARTBEAT_MS) : 15_000,
  wsPingIntervalMs: env.WIRELAB_HEARTBEAT_MS ? Number(env.WIRELAB_HEARTBEAT_MS) : 25_000,
  maxBufferedBytes: 8 * 1024 * 1024,
  pauseBufferedBytes: 64 * 1024,
  // An empty value is "unset", like the other WIRELAB_ variables; a wrong one is refused below.
  fanoutFlush: (env.WIRELAB_FANOUT_FLUSH || "adaptive") as FanoutFlush,
  maxConnectionsPerUser: 100,
  rateLimits: true,
  sendsPerSecond: 50,
  sendBurst: 250,
  wsRefusalsBeforeClose: 200,
  connectsPerMinute: 300,
  sessionsPerMinute: 60,
  instructorKeyFailuresPerMinute: 5,
  openFilesReserve: 100,
  maxConnections: 0, // derived in resolveConfig
  connectionsSoftCap: 0, // derived in resolveConfig
  maxConnectionsPerIp: 5_000,
  shedIdleMs: 2_000,
  replayPageSize: 500,
  pageCacheBytes: 32 * 1024 * 1024,
  maxPageBytes: 1024 * 1024,
  maxRooms: 1_000,
  maxRoomHistoryBytes: 8 * 1024 * 1024,
  maxParkedPolls: 10_000,
  classCode: env.WIRELAB_CLASS_CODE || null,
  classRosterWindowMs: 10 * 60_000,
  maxClassPages: 500,
  maxSubmissions: 5_000,
  maxSubmissionBytes: 512 * 1024,
  labsDir: null,
  webRoot: null,
  logLevel: env.LOG_LEVEL ?? "info",
  metrics: true,
});

/** What a load test lifts: a benchmark sends from one session and connects thousands from a few addresses. */
const LOAD_TEST_LIMITS: Partial<WirelabConfig> = {
  rateLimits: false,
  maxConnectionsPerUser: 1_000_000,
  maxConnectionsPerIp: 1_000_000,
};

function commaList(text: string | undefined): string[] {
  return (text ?? "").split(",").map((item) => item.trim()).filter((item) => item !== "");
}

/** An origin as a browser sends it (scheme://host[:port], nothing else), normalised; throws otherwise. */
function parseOrigin(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    // reported below
  }
  const bare = url && url.pathname === "/" && !url.search && !url.hash && !url.username && !url.password;
  if (!url || !bare || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new ConfigError(`an allowed origin must be scheme://host[:port] (http or https, no path), got "${text}"`);
  }
  return url.origin;
}

/** A DNS name (optionally "*." for its subdomains) or a bracketed IPv6 literal, as URL.hostname gives it. */
const HOST_NAME = /^((\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])$/;

/**
 * The network emulator runs in the server's process and holds two file descriptors per connection it
 * carries (one to the client, one to the server; the server-side end is already in the server's own
 * count). Both draw on one open-files budget, so with the emulator running it may carry at most a
 * quarter of maxConnections, and the server's caps shrink by the emulator's two descriptors per
 * connection: however the connections split, the process stays below its open-files limit.
 */
export function shareWithEmulator(config: WirelabConfig): { server: WirelabConfig; emulatorMaxConnections: number } {
  const emulatorMaxConnections = Math.max(1, Math.floor(config.maxConnections / 4));
  const maxConnections = Math.max(1, config.maxConnections - 2 * emulatorMaxConnections);
  const connectionsSoftCap = Math.max(1, Math.min(config.connectionsSoftCap, maxConnections - Math.min(200, Math.ceil(maxConnections / 10))));
  return { server: { ...config, maxConnections, connectionsSoftCap }, emulatorMaxConnections };
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

export function resolveConfig(options: WirelabOptions = {}, env: NodeJS.ProcessEnv = process.env): WirelabConfig {
  const { memory, loadTest, ...rest } = options;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  const config: WirelabConfig = { ...defaults(env), ...(loadTest && LOAD_TEST_LIMITS), ...defined };
  if (options.maxConnections === undefined) {
    const limit = openFilesLimit();
    config.maxConnections = limit === null ? DEFAULT_MAX_CONNECTIONS : Math.max(1, limit - config.openFilesReserve);
  }
  if (options.connectionsSoftCap === undefined) {
    config.connectionsSoftCap = Math.max(1, config.maxConnections - Math.min(200, Math.ceil(config.maxConnections / 10)));
  }
  if (options.autoInstructor === undefined) config.autoInstructor = isLoopback(config.host);
  if (options.networkPort === undefined) config.networkPort = config.port === 0 ? 0 : config.port + 1;
  if (memory) {
    if (options.dataFile !== undefined && options.dataFile !== ":memory:") {
      throw new ConfigError("--memory and --data cannot be combined");
    }
    config.dataFile = ":memory:";
  }
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    throw new ConfigError(`port must be an integer from 0 to 65535, got ${config.port}`);
  }
  for (const key of ["historyLimit", "tokenTtlSeconds", "maxPayloadBytes", "sseRetryMs", "sseHeartbeatMs", "wsPingIntervalMs", "maxBufferedBytes", "pauseBufferedBytes", "maxConnectionsPerUser", "replayPageSize",
    "sendsPerSecond", "sendBurst", "wsRefusalsBeforeClose", "connectsPerMinute", "sessionsPerMinute", "instructorKeyFailuresPerMinute",
    "openFilesReserve", "maxConnections", "connectionsSoftCap", "maxConnectionsPerIp", "shedIdleMs",
    "pageCacheBytes", "maxPageBytes", "maxRooms", "maxRoomHistoryBytes", "maxParkedPolls",
    "classRosterWindowMs", "maxClassPages", "maxSubmissions", "maxSubmissionBytes"] as const) {
    if (!Number.isInteger(config[key]) || config[key] <= 0) {
      throw new ConfigError(`${key} must be a positive integer, got ${config[key]}`);
    }
  }
  if (config.connectionsSoftCap > config.maxConnections) {
    throw new ConfigError(`connectionsSoftCap (${config.connectionsSoftCap}) must not exceed maxConnections (${config.maxConnections})`);
  }
  if (config.networkPort !== null && (!Number.isInteger(config.networkPort) || config.networkPort < 0 || config.networkPort > 65535)) {
    throw new ConfigError(`networkPort must be an integer from 0 to 65535, got ${config.networkPort}`);
  }
  if (config.redisUrl !== null && !/^rediss?:\/\//.test(config.redisUrl)) {
    throw new ConfigError(`the Redis URL must start with redis:// or rediss://, got "${config.redisUrl}"`);
  }
  if (config.redisUrl !== null && memory) {
    throw new ConfigError("--redis and --memory cannot be combined: with Redis the history lives in Redis");
  }
  config.allowedOrigins = config.allowedOrigins.map(parseOrigin);
  for (const proxyPort of config.proxyPorts) {
    if (!Number.isInteger(proxyPort) || proxyPort < 1 || proxyPort > 65535) throw new ConfigError(`a proxy port must be an integer from 1 to 65535, got ${proxyPort}`);
  }
  config.allowedHosts = config.allowedHosts.map((name) => {
    const lower = name.toLowerCase();
    if (!HOST_NAME.test(lower)) throw new ConfigError(`an allowed host must be a host name or *.name (no port), got "${name}"`);
    return lower;
  });
  if (!(FANOUT_FLUSH_POLICIES as readonly string[]).includes(config.fanoutFlush)) {
    throw new ConfigError(`fanoutFlush must be one of ${FANOUT_FLUSH_POLICIES.join(", ")} (env WIRELAB_FANOUT_FLUSH), got "${String(config.fanoutFlush)}"`);
  }
  if (typeof config.metrics !== "boolean") throw new ConfigError(`metrics must be true or false, got ${String(config.metrics)}`);
  if (config.secret !== null && config.secret.length < 16) throw new ConfigError("the token secret must be at least 16 characters");
  if (config.classCode !== null && (config.classCode.length < 3 || config.classCode.length > 64)) {
    throw new ConfigError("the class code must be 3 to 64 characters");
  }
  if (config.instructorKey.length < 8) throw new ConfigError("the instructor key must be at least 8 characters");
  return config;
}
