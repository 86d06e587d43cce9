/**
 * Assembles a wirelab server: feed, auth, stats, the four transports and the HTTP API on one
 * port. startWirelab() is what the CLI, the tests and the benchmark all run.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import express from "express";
import type { Logger } from "pino";
import { ERROR_CODES, INSTANCE_HEADER, type TransportName } from "../web/src/protocol/index.js";
import { TokenIssuer } from "./auth.js";
import { resolveConfig, type WirelabConfig, type WirelabOptions } from "./config.js";
import { WirelabError, refuseUpgrade } from "./errors.js";
import { Feed } from "./feed/Feed.js";
import { openFeedBackend, type FeedBackendInfo } from "./feed/backends.js";
import { PresenceTracker } from "./presence/PresenceTracker.js";
import { InstanceDirectory } from "./cluster/InstanceDirectory.js";
import { adminRoutes } from "./http/admin.js";
import { apiRoutes, authenticate, errorHandler, notFound, sessionRoutes } from "./http/api.js";
import { FaultController } from "./FaultController.js";
import type { NetworkEmulator } from "./netem/index.js";
import { setSpan } from "./http/locals.js";
import { OriginPolicy, checkHost, checkOrigin, logRefusal } from "./http/OriginPolicy.js";
import { createLogger } from "./logger.js";
import { LabLibrary } from "./LabLibrary.js";
import { labRoutes } from "./http/labs.js";
import { packageRoot } from "./paths.js";
import { TrafficStats } from "./stats/TrafficStats.js";
import { createTransports, type Transport } from "./transports/index.js";

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
  readonly transports: Record<TransportName, Transport>;
  readonly faults: FaultController;
  readonly logger: Logger;
  /** Stop accepting, tell open clients to go away, then close the store. */
  close(): Promise<void>;
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
  const feed = new Feed(backend, { replayPageSize: config.replayPageSize });
  const auth = new TokenIssuer(config.secret, config.tokenTtlSeconds);
  const stats = new TrafficStats();
  const instance = randomBytes(4).toString("hex");
  const presence = new PresenceTracker(instance, backend.presence, (error) => log.warn({ err: error }, "presence could not be written"));
  const transports = createTransports({ feed, auth, stats, config, logger: log, instance, presence });

  // The emulator starts after this server, on a port of its own: ask for it at each check.
  const origins = new OriginPolicy({ ...config, emulatorPort: () => hooks.network?.()?.port ?? config.networkPort });

  let closing: Promise<void> | undefined;
  const app = express();
  app.disable("x-powered-by");
  // Feed answers change with every message: no ETags, no caching (and fewer header bytes per poll).
  app.set("etag", false);
  app.set("query parser", "simple");
  app.use((req, res, next) => {
    const span = stats.begin(req.socket);
    setSpan(res, span);
    res.once("close", () => stats.end(span));
    res.setHeader(INSTANCE_HEADER, instance);
    next();
  });
  app.use(checkHost(origins, log));
  // Liveness: the process answers. Readiness: it can also store what it is sent.
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok", instance });
  });
  app.get("/readyz", (_req, res) => {
    const reason = closing ? "shutting down" : feed.ready ? null : `the feed's store (${backend.info.kind}) is unreachable`;
    res.status(reason ? 503 : 200).json({ status: reason ? "not_ready" : "ready", instance, feed: backend.info.kind, ...(reason && { reason }) });
  });

  const v1 = express.Router();
  v1.use((_req, res, next) => {
    res.setHeader("cache-control", "no-store");
    next();
  });
  // Only the server's own pages (the dashboard, on its port or the emulator's) and allowed origins.
  v1.use(checkOrigin(origins, log));
  sessionRoutes(v1, auth, config, (req) => req.headers.origin === undefined || origins.isOwnOrigin(req.headers.origin));
  v1.use(authenticate(auth));
  apiRoutes(v1, { feed, stats, presence, maxBodyBytes: config.maxPayloadBytes });
  labRoutes(v1, new LabLibrary(config.labsDir ?? join(packageRoot(), "labs")));
  adminRoutes(v1, {
    faults: () => faults,
    network: hooks.network ?? (() => null),
    instances: () => directory,
    clustered: backend.info.kind === "redis",
    maxBodyBytes: config.maxPayloadBytes,
  });
  for (const transport of Object.values(transports)) transport.mount(v1);
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

  const server = createServer(app);
  const faults: FaultController = new FaultController({
    server,
    transports,
    listen: { port: config.port, host: config.host },
    logger: log,
    ...(hooks.restart && { restart: hooks.restart }),
  });
  server.on("upgrade", (req, socket, head) => {
    // A WebSocket is not bound by CORS: without this, any page could open one (and read it).
    const refusal = origins.refusal(req);
    if (refusal) {
      logRefusal(log, req, refusal);
      refuseUpgrade(socket, refusal);
      return;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    for (const transport of Object.values(transports)) {
      if (transport.upgrade?.(req, socket, head, url)) return;
    }
    refuseUpgrade(socket, new WirelabError(404, ERROR_CODES.notFound, `no WebSocket endpoint at ${url.pathname}`));
  });
  // A client that sends garbage instead of HTTP gets a 400 and is cut; the server lives on.
  server.on("clientError", (_error, socket: Socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
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
    await feed.close();
    throw error;
  }
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  faults.listenOn(port);
  origins.listenOn(port);
  const directory: InstanceDirectory = new InstanceDirectory(
    { id: instance, url, pid: process.pid, startedAt: Date.now() },
    backend.presence,
    backend.control,
    hooks.kill,
    (error) => log.warn({ err: error }, "the instance directory could not be written"),
  );

  const close = () =>
    (closing ??= (async () => {
      faults.close();
      // The listener may already be closed (a refuse fault); close() then reports that, harmlessly.
      const stopped = new Promise<void>((done) => server.close(() => done()));
      await Promise.all(Object.values(transports).map((t) => t.close()));
      server.closeIdleConnections();
      // Streams were ended above; anything still open after a grace period is cut.
      const grace = setTimeout(() => server.closeAllConnections(), 2_000).unref();
      await stopped;
      clearTimeout(grace);
      presence.close();
      await directory.close();
      await feed.close();
    })());

  return { url, instance, config: { ...config, port }, server, feed, feedInfo: backend.info, stats, transports, faults, logger: log, close };
}
