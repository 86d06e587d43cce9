/**
 * Every server option and its default, merged in one place.
 * The CLI, tests and (later) the benchmark all build a config through resolveConfig().
 */
import { randomBytes } from "node:crypto";

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
  /** HMAC secret for session tokens. Defaults to env WIRELAB_SECRET, else random per start. */
  secret: string;
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
  /** Lifetime of a session token in seconds. Defaults to 12 hours. */
  tokenTtlSeconds: number;
  /** Largest WebSocket frame and HTTP JSON body accepted, in bytes. Defaults to 64 KiB. */
  maxPayloadBytes: number;
  /** `retry:` hint sent to SSE clients, in ms. Defaults to 2,000. */
  sseRetryMs: number;
  /** Interval of SSE comment heartbeats, in ms. Defaults to 15,000. */
  sseHeartbeatMs: number;
  /** Interval of WebSocket pings; a peer that misses one is dropped. Defaults to 30,000. */
  wsPingIntervalMs: number;
  /** A stream whose unsent output exceeds this many bytes is cut (it resumes on reconnect). Defaults to 8 MiB. */
  maxBufferedBytes: number;
  /** Messages sent per page when replaying history to a stream. Defaults to 500. */
  replayPageSize: number;
  /** Directory of the lab files. Defaults to labs/ beside the package. */
  labsDir: string | null;
  /** Directory with the built dashboard, served at "/". Defaults to dist/web beside the package. */
  webRoot: string | null;
  /** pino log level. Defaults to "info" (env LOG_LEVEL). */
  logLevel: string;
}

export type WirelabOptions = Partial<WirelabConfig> & { memory?: boolean };

const defaults = (env: NodeJS.ProcessEnv): WirelabConfig => ({
  port: env.PORT !== undefined ? Number(env.PORT) : 8080,
  host: env.HOST ?? "127.0.0.1",
  networkPort: null,
  dataFile: "wirelab.db",
  historyLimit: 10_000,
  redisUrl: env.WIRELAB_REDIS || null,
  redisPrefix: env.WIRELAB_REDIS_PREFIX || "wirelab:",
  secret: env.WIRELAB_SECRET ?? randomBytes(32).toString("base64url"),
  instructorKey: env.WIRELAB_INSTRUCTOR_KEY ?? randomBytes(9).toString("base64url"),
  autoInstructor: true,
  allowedOrigins: commaList(env.WIRELAB_ALLOWED_ORIGINS),
  allowedHosts: commaList(env.WIRELAB_ALLOWED_HOSTS),
  proxyPorts: commaList(env.WIRELAB_PROXY_PORTS).map(Number),
  tokenTtlSeconds: 12 * 60 * 60,
  maxPayloadBytes: 64 * 1024,
  sseRetryMs: 2_000,
  sseHeartbeatMs: 15_000,
  wsPingIntervalMs: 30_000,
  maxBufferedBytes: 8 * 1024 * 1024,
  replayPageSize: 500,
  labsDir: null,
  webRoot: null,
  logLevel: env.LOG_LEVEL ?? "info",
});

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
    throw new TypeError(`an allowed origin must be scheme://host[:port] (http or https, no path), got "${text}"`);
  }
  return url.origin;
}

/** A DNS name (optionally "*." for its subdomains) or a bracketed IPv6 literal, as URL.hostname gives it. */
const HOST_NAME = /^((\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])$/;

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

export function resolveConfig(options: WirelabOptions = {}, env: NodeJS.ProcessEnv = process.env): WirelabConfig {
  const { memory, ...rest } = options;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  const config: WirelabConfig = { ...defaults(env), ...defined };
  if (options.autoInstructor === undefined) config.autoInstructor = isLoopback(config.host);
  if (options.networkPort === undefined) config.networkPort = config.port === 0 ? 0 : config.port + 1;
  if (memory) {
    if (options.dataFile !== undefined && options.dataFile !== ":memory:") {
      throw new TypeError("--memory and --data cannot be combined");
    }
    config.dataFile = ":memory:";
  }
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    throw new TypeError(`port must be an integer from 0 to 65535, got ${config.port}`);
  }
  for (const key of ["historyLimit", "tokenTtlSeconds", "maxPayloadBytes", "sseRetryMs", "sseHeartbeatMs", "wsPingIntervalMs", "maxBufferedBytes", "replayPageSize"] as const) {
    if (!Number.isInteger(config[key]) || config[key] <= 0) {
      throw new TypeError(`${key} must be a positive integer, got ${config[key]}`);
    }
  }
  if (config.networkPort !== null && (!Number.isInteger(config.networkPort) || config.networkPort < 0 || config.networkPort > 65535)) {
    throw new TypeError(`networkPort must be an integer from 0 to 65535, got ${config.networkPort}`);
  }
  if (config.redisUrl !== null && !/^rediss?:\/\//.test(config.redisUrl)) {
    throw new TypeError(`the Redis URL must start with redis:// or rediss://, got "${config.redisUrl}"`);
  }
  if (config.redisUrl !== null && memory) {
    throw new TypeError("--redis and --memory cannot be combined: with Redis the history lives in Redis");
  }
  config.allowedOrigins = config.allowedOrigins.map(parseOrigin);
  for (const proxyPort of config.proxyPorts) {
    if (!Number.isInteger(proxyPort) || proxyPort < 1 || proxyPort > 65535) throw new TypeError(`a proxy port must be an integer from 1 to 65535, got ${proxyPort}`);
  }
  config.allowedHosts = config.allowedHosts.map((name) => {
    const lower = name.toLowerCase();
    if (!HOST_NAME.test(lower)) throw new TypeError(`an allowed host must be a host name or *.name (no port), got "${name}"`);
    return lower;
  });
  if (config.secret.length < 16) throw new TypeError("the token secret must be at least 16 characters");
  if (config.instructorKey.length < 8) throw new TypeError("the instructor key must be at least 8 characters");
  return config;
}
