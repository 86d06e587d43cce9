/**
 * Assembles a wirelab server: feed, auth, stats, the four transports and the HTTP API on one
 * port. startWirelab() is what the CLI, the tests and the benchmark all run.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import express from "express";
import type { Logger } from "pino";
import { ERROR_CODES, INSTANCE_HEADER, type TransportName } from "../web/src/isomorphic/protocol/index.js";
import { TokenIssuer } from "./auth.js";
import { sessionSecret } from "./sessionSecret.js";
import { resolveConfig, type WirelabConfig, type WirelabOptions } from "./config.js";
import { WirelabError, refuseUpgrade, sendError } from "./errors.js";
import { Feed } from "./feed/Feed.js";
import { RedisFeedBackend, openFeedBackend, type FeedBackendInfo } from "./feed/backends.js";
import { ConnectionCaps } from "./limits/ConnectionCaps.js";
import { RateLimits } from "./limits/RateLimits.js";
import { PresenceTracker } from "./presence/PresenceTracker.js";
import { InstanceDirectory } from "./cluster/InstanceDirectory.js";
import { adminRoutes } from "./http/admin.js";
import { apiRoutes, authenticate, errorHandler, notFound, sessionRoutes, toWirelabError } from "./http/api.js";
import { FaultController } from "./FaultController.js";
import type { NetworkEmulator } from "./netem/index.js";
import { setSpan, spanOf } from "./http/locals.js";
import { OriginPolicy, admitHost, checkOrigin, logRefusal } from "./http/OriginPolicy.js";
import { PollRoute } from "./http/PollRoute.js";
import { EventsRoute } from "./http/EventsRoute.js";
import { createLogger } from "./logger.js";
import { studentLinks } from "./classBanner.js";
import { LabLibrary } from "./LabLibrary.js";
import { WirelabMetrics } from "./metrics/WirelabMetrics.js";
import { labRoutes, loadLab } from "./http/labs.js";
import { classRoutes } from "./http/class.js";
import { Classroom } from "./class/Classroom.js";
import { RedisClassStore } from "./class/RedisClassStore.js";
import { SqliteClassStore } from "./class/SqliteClassStore.js";
import { packageRoot } from "./paths.js";
import { TrafficStats } from "./stats/TrafficStats.js";
import { createTransports, type Transport } from "./transports/index.js";
import { ConnectionRegistry, type CloseReason } from "./transports/ConnectionRegistry.js";

export interface Wirelab {
  readonly url: string;
  /** This start's id, new at every start (an in-place restart is a new instance). */
  readonly instance: string;
  readonly config: WirelabConfig;
  readonly server: Server;
  readonly feed: Feed;
  /** Which backend holds the feed (SQLite or Redis), and where. */
  readonly feedInfo: FeedBackendInfo;
  readonly stats: TrafficStats;
  /** Prometheus metrics (served at GET /metrics unless config.metrics is false); rate limits report refusals here. */
  readonly metrics: WirelabMetrics;
  readonly transports: Record<TransportName, Transport>;
  readonly faults: FaultController;
  /** The class: roster, assignment, submissions. */
  readonly classroom: Classroom;
  readonly logger: Logger;
  /** Every transport's open connections. */
  readonly connections: ConnectionRegistry;
  /** The rate limits; `limits.onLimited(name => …)` hears of every refusal (rate limits and connection caps). */
  readonly limits: RateLimits;
  /** The per-process and per-address TCP connection caps. */
  readonly caps: ConnectionCaps;
  /**
   * Stop accepting, tell open clients why ("shutdown", the default, says the server goes for
   * good; "restart" — SIGTERM, an in-place restart — asks them to come back), finish in-flight
   * work, close the store.
   */
  close(reason?: CloseReason): Promise<void>;
}

/**
 * The URL of a request target, or null when it is none. Node hands on any target its parser takes;
 * an origin-form one ("/…") is a path, so "//a/b" is the path //a/b, not the host a (which is what
 * `new URL("//a/b", base)` would make of it — and `new URL("//", base)` throws).
 */
export function requestUrl(target: string | undefined): URL | null {
  try {
    return new URL(target?.startsWith("/") ? `http://localhost${target}` : (target ?? "/"), "http://localhost");
  } catch {
    return null;
  }
}

function webRootOf(config: WirelabConfig): string | null {
  const root = config.webRoot ?? join(packageRoot(), "dist", "web");
  return existsSync(join(root, "index.html")) ? resolve(root) : null;
}

/** What a supervisor lends the instance it runs: the network in front of it and a way to restart. */
export interface WirelabHooks {
  network?: () => NetworkEmulator | null;
  restart?: (downtimeMs: number) => Promise<void>;
  /** What an instructor's kill order does to this instance. Defaults to SIGKILL of this process. */
  kill?: () => void;
}

export async function startWirelab(options: WirelabOptions = {}, logger?: Logger, hooks: WirelabHooks = {}): Promise<Wirelab> {
  const config = resolveConfig(options);
  const log = logger ?? createLogger(config.logLevel);
  const backend = await openFeedBackend(config, log);
  const feed = new Feed(backend, { replayPageSize: config.replayPageSize, pageCacheBytes: config.pageCacheBytes, maxPageBytes: config.maxPageBytes });
  const auth = new TokenIssuer(await sessionSecret(config), config.tokenTtlSeconds);
  const stats = new TrafficStats();
  const metrics = new WirelabMetrics(stats);
  metrics.watchPageCache(() => feed.pageCacheBytes);
  const instance = randomBytes(4).toString("hex");
  const presence = new PresenceTracker(instance, backend.presence, (error) => log.warn({ err: error }, "presence could not be written"));
  const connections = new ConnectionRegistry({
    maxPerUser: config.maxConnectionsPerUser,
    maxBufferedBytes: config.maxBufferedBytes,
    logger: log,
  });
  // With the Redis feed the limits are counted in Redis, so they hold across instances.
  const limits = new RateLimits(config, backend instanceof RedisFeedBackend ? backend.redis : null);
  const caps = new ConnectionCaps({
    maxConnections: config.maxConnections,
    softCap: config.connectionsSoftCap,
    maxPerIp: config.maxConnectionsPerIp,
    shedIdleMs: config.shedIdleMs,
    limited: (name) => limits.limited(name),
  });
  limits.onLimited((name) => metrics.rateLimited(name));
  metrics.watchUnsent((transport) => connections.unsentBytes(transport));
  connections.onEvent((event) => {
    if (event.kind === "slow") metrics.dropped(event.transport, "slow_consumer");
    else if (event.kind === "expired") metrics.dropped(event.transport, "token_expired");
    else if (event.kind === "zombie") metrics.zombieTerminated(event.transport);
    else if (event.kind === "refused") metrics.rateLimited("connections-user");
    // "dropped" (an instructor's drop) is counted by the fault controller, which names the cause.
  });
  const transports = createTransports({ feed, auth, stats, config, logger: log, instance, presence, connections, limits, metrics });

  // The emulator starts after this server, on a port of its own: ask for it at each check.
  const origins = new OriginPolicy({ ...config, emulatorPort: () => hooks.network?.()?.port ?? config.networkPort });

  let closing: Promise<void> | undefined;
  const app = express();
  app.disable("x-powered-by");
  // Feed answers change with every message: no ETags, no caching (and fewer header bytes per poll).
  app.set("etag", false);
  app.set("query parser", "simple");
  // Liveness: the process answers. Readiness: it can also store what it is sent.
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok", instance });
  });
  app.get("/readyz", (_req, res) => {
    const reason = closing ? "shutting down" : feed.ready ? null : `the feed's store (${backend.info.kind}) is unreachable`;
    res.status(reason ? 503 : 200).json({ status: reason ? "not_ready" : "ready", instance, feed: backend.info.kind, ...(reason && { reason }) });
  });
  // Public, like /healthz: Prometheus scrapes without a token. config.metrics turns it off.
  if (config.metrics) {
    app.get("/metrics", async (_req, res) => {
      const body = await metrics.metrics();
      res.setHeader("cache-control", "no-store");
      res.type(metrics.contentType).send(body);
    });
  }

  const v1 = express.Router();
  v1.use((_req, res, next) => {
    res.setHeader("cache-control", "no-store");
    next();
  });
  // Only the server's own pages (the dashboard, on its port or the emulator's) and allowed origins.
  v1.use(checkOrigin(origins, log));
  // The port is known once listening; a loopback workbench has no class to join.
  let listeningPort = config.port;
  const joinUrls = () => (config.autoInstructor ? [] : studentLinks(config.host, listeningPort));
  sessionRoutes(v1, auth, config, limits, (req) => req.headers.origin === undefined || origins.isOwnOrigin(req.headers.origin), joinUrls);
  v1.use(authenticate(auth));
  apiRoutes(v1, { feed, stats, metrics, presence, limits, maxBodyBytes: config.maxPayloadBytes });
  const library = new LabLibrary(config.labsDir ?? join(packageRoot(), "labs"));
  labRoutes(v1, library);
  // A cluster keeps its class in Redis, so every instance sees all of it; one instance in its SQLite file.
  const classStore = backend instanceof RedisFeedBackend ? new RedisClassStore(backend.redis, config.redisPrefix) : new SqliteClassStore(config.dataFile);
  const classroom = new Classroom(classStore, (id) => loadLab(library, id), instance, {
    rosterWindowMs: config.classRosterWindowMs,
    maxPages: config.maxClassPages,
    maxSubmissions: config.maxSubmissions,
    maxTimeline: 5_000,
  });
  classRoutes(v1, { classroom, maxBodyBytes: config.maxPayloadBytes, maxSubmissionBytes: config.maxSubmissionBytes });
  adminRoutes(v1, {
    faults: () => faults,
    network: hooks.network ?? (() => null),
    instances: () => directory,
    clustered: backend.info.kind === "redis",
    maxBodyBytes: config.maxPayloadBytes,
  });
  for (const transport of Object.values(transports)) transport.mount?.(v1);
  v1.use(notFound);
  app.use("/v1", v1);

  const webRoot = webRootOf(config);
  if (webRoot) {
    app.use(express.static(webRoot, { index: "index.html" }));
  } else {
    app.get("/", (_req, res) => {
      res
        .type("text/plain")
        .send("wirelab is running, but the dashboard is not built: run `npm run build` (npm start does it for you).\n");
    });
  }
  app.use(notFound);
  app.use(errorHandler(log));

  const polls = new PollRoute({ origins, auth, logger: log, shortPoll: transports["short-poll"], longPoll: transports["long-poll"] });
  const streams = new EventsRoute({ origins, auth, logger: log, sse: transports.sse });
  // A connection past a connection cap is answered before anything else sees it (only health passes).
  // Every other request is counted, names this instance and must name an allowed Host; then polls
  // and event streams take their routes below express, and express serves the rest.
  /** A response closed (once): its span ends and it is counted. One function for every request: a held stream keeps no closure. */
  function requestClosed(this: ServerResponse): void {
    const span = spanOf(this);
    if (!span) return;
    stats.end(span);
    metrics.httpRequest(span.bucket, this.headersSent ? this.statusCode : null);
  }
  /**
   * What express gives up on before any route sees it — a target it cannot parse as a URL ("GET
   * http://[/…") — or an error that escaped the error handler: JSON, like every other answer, not
   * express's HTML page.
   */
  const serveExpress = app as unknown as (req: IncomingMessage, res: ServerResponse, done: (error?: unknown) => void) => void;
  const unrouted = (res: ServerResponse) => (error?: unknown) =>
    sendError(res, error ? toWirelabError(error, log) : new WirelabError(400, ERROR_CODES.badRequest, "the request target is not a URL"));
  // Node's own answer to an HTTP/1.1 request without Host is an empty 400: admitHost gives the JSON one.
  const server = createServer({ requireHostHeader: false }, (req, res) => {
    if (caps.refuseRequest(req, res)) return;
    const span = stats.begin(req.socket);
    setSpan(res, span);
    res.on("close", requestClosed);
    res.setHeader(INSTANCE_HEADER, instance);
    if (!admitHost(origins, log, req, res)) return;
    if (!polls.serve(req, res) && !streams.serve(req, res)) serveExpress(req, res, unrouted(res));
  });
  // Node answers an Expect other than 100-continue with an empty 417, and drops a CONNECT: JSON for both.
  server.on("checkExpectation", (req, res: ServerResponse) => {
    sendError(res, new WirelabError(417, ERROR_CODES.badRequest, `the server meets no expectation but 100-continue, got "${String(req.headers.expect).slice(0, 40)}"`));
  });
  server.on("connect", (_req, socket: Socket) => {
    refuseUpgrade(socket, new WirelabError(405, ERROR_CODES.badRequest, "this server is not a proxy: CONNECT is not served"), { Allow: "GET, HEAD, POST, PUT, DELETE, OPTIONS" });
  });
  caps.attach(server);
  const faults: FaultController = new FaultController({
    server,
    transports,
    metrics,
    listen: { port: config.port, host: config.host },
    logger: log,
    ...(hooks.restart && { restart: hooks.restart }),
  });
  server.on("upgrade", (req, socket, head) => {
    // A WebSocket is not bound by CORS: without this, any page could open one (and read it).
    const refusal = origins.refusal(req);
    if (refusal) {
      if (refusal.status === 403) logRefusal(log, req, refusal);
      refuseUpgrade(socket, refusal);
      return;
    }
    if (caps.refuseUpgrade(req, socket)) return;
    const url = requestUrl(req.url);
    if (!url) {
      refuseUpgrade(socket, new WirelabError(400, ERROR_CODES.badRequest, "the request target is not a URL"));
      return;
    }
    for (const transport of Object.values(transports)) {
      if (transport.upgrade?.(req, socket, head, url)) return;
    }
    refuseUpgrade(socket, new WirelabError(404, ERROR_CODES.notFound, `no WebSocket endpoint at ${url.pathname}`));
  });
  // A client that sends garbage instead of HTTP, or more header than the server reads, gets the
  // JSON error body like every other refusal, and is cut; the server lives on.
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    refuseUpgrade(socket, error.code === "HPE_HEADER_OVERFLOW"
      ? new WirelabError(431, ERROR_CODES.headersTooLarge, "the request line and headers are larger than the server reads (16 KiB)")
      : new WirelabError(400, ERROR_CODES.badRequest, "the request is not valid HTTP"));
  });

  try {
    await new Promise<void>((resolveListen, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => {
        server.off("error", reject);
        resolveListen();
      });
    });
  } catch (error) {
    // The port is taken (or the like): let go of what was opened, Redis connections included.
    presence.close();
    await Promise.all(Object.values(transports).map((t) => t.close()));
    await classroom.close();
    await feed.close();
    throw error;
  }
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  faults.listenOn(port);
  origins.listenOn(port);
  listeningPort = port;
  const directory: InstanceDirectory = new InstanceDirectory(
    { id: instance, url, pid: process.pid, startedAt: Date.now() },
    backend.presence,
    backend.control,
    hooks.kill,
    (error) => log.warn({ err: error }, "the instance directory could not be written"),
  );

  const close = (reason: CloseReason = "shutdown") =>
    (closing ??= (async () => {
      faults.close();
      connections.startClosing();
      // The listener may already be closed (a refuse fault); close() then reports that, harmlessly.
      const stopped = new Promise<void>((done) => server.close(() => done()));
      await Promise.all(Object.values(transports).map((t) => t.close(reason)));
      server.closeIdleConnections();
      // Streams were ended above; anything still open after a grace period is cut.
      const grace = setTimeout(() => server.closeAllConnections(), 2_000).unref();
      await stopped;
      clearTimeout(grace);
      presence.close();
      await directory.close();
      await classroom.close();
      await feed.close();
      metrics.close();
    })());

  return { url, instance, config: { ...config, port }, server, feed, feedInfo: backend.info, stats, metrics, transports, connections, limits, caps, faults, classroom, logger: log, close };
}
