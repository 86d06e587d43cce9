/**
 * Test helpers: a real wirelab server on port 0, real Node clients of each transport, and
 * small waiting utilities (polling a condition, not sleeping for a fixed time).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { EventSource } from "eventsource";
import { WebSocket } from "ws";
import { pino } from "pino";
import { startWirelab, type Wirelab } from "../server/app.js";
import type { WirelabOptions } from "../server/config.js";
import { WirelabSupervisor } from "../server/WirelabSupervisor.js";
import { TRANSPORTS, type Message, type SessionResponse, type TransportName } from "../web/src/isomorphic/protocol/index.js";
import { FeedHttp, createClient, type AnyClientOptions, type FeedClient } from "../web/src/isomorphic/kit/index.js";

export const TEST_SECRET = "test-secret-that-is-long-enough";

export async function startServer(options: WirelabOptions = {}): Promise<Wirelab> {
  return startWirelab(
    { port: 0, memory: options.dataFile === undefined && options.redisUrl === undefined, secret: TEST_SECRET, ...options },
    pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }),
  );
}

/** A supervised server (restartable in place) with the network emulator in front of it. */
export async function startSupervisor(options: WirelabOptions = {}): Promise<WirelabSupervisor> {
  return WirelabSupervisor.start(
    { port: 0, memory: options.dataFile === undefined && options.redisUrl === undefined, secret: TEST_SECRET, ...options },
    pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }),
  );
}

export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "wirelab-test-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function session(server: { url: string }, name = "ada"): Promise<SessionResponse> {
  return FeedHttp.createSession(server.url, name);
}

/** A client of the given transport with fast test timings (short backoff, short polls). */
export function client(
  server: { url: string },
  transport: TransportName,
  token: string,
  options: Partial<AnyClientOptions> = {},
): FeedClient & { received: Message[] } {
  const c = createClient(transport, {
    baseUrl: server.url,
    token,
    EventSource: EventSource as never,
    WebSocket: WebSocket as never,
    intervalMs: 50,
    waitMs: 5_000,
    backoff: { baseMs: 50, capMs: 200 },
    ...options,
  });
  const received: Message[] = [];
  c.on("message", (m) => received.push(m));
  return Object.assign(c, { received });
}

/** Wait until `condition` (which may be async) holds, checking every few ms; fails with `what` after `timeoutMs`. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function connected(c: FeedClient): Promise<void> {
  c.connect();
  await until(() => c.state === "open", `${c.transport} to open`);
}

export { TRANSPORTS };

/**
 * What a test started (servers, clients, sockets), stopped after it in reverse order: push a stop
 * function as each thing starts. One list per test file; every afterEach empties it.
 */
export function stopsAfterEach(): Array<() => unknown> {
  const stops: Array<() => unknown> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });
  return stops;
}

/** The TCP connections a server holds now: a refusal or a closed stream must let go of its socket. */
export function openConnections(wirelab: Pick<Wirelab, "server">): Promise<number> {
  return new Promise((resolve, reject) => wirelab.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
}
