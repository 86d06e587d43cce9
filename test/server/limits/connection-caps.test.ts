/**
 * The per-process and per-address connection caps, seen from raw TCP sockets: under the soft cap a
 * connection is served as ever; between the soft and the hard cap only the health endpoints are
 * answered (everything else 503 + Connection: close); past the hard cap a connection is cut at
 * once, so the process never runs out of file descriptors and /healthz keeps answering.
 */
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import type { Wirelab } from "../../../server/app.js";
import { openFilesLimit } from "../../../server/limits/ConnectionCaps.js";
import { resolveConfig } from "../../../server/config.js";
import { startServer, until, openConnections } from "../../helpers.js";

const sockets: Socket[] = [];
let server: Wirelab | undefined;
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await server?.close();
  server = undefined;
});

function portOf(wirelab: Wirelab): number {
  return Number(new URL(wirelab.url).port);
}

/** A raw TCP connection that sends nothing; resolves once connected. */
function idle(wirelab: Wirelab, localAddress = "127.0.0.1"): Promise<Socket & { ended: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: portOf(wirelab), localAddress }) as Socket & { ended: boolean };
    socket.ended = false;
    sockets.push(socket);
    socket.on("data", () => {});
    socket.once("close", () => (socket.ended = true));
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Bytes received before the server closed (0: cut without an answer). */
  bytes: number;
}

/** One HTTP/1.1 request on a fresh raw connection; resolves with what came back before the close. */
function raw(wirelab: Wirelab, path: string, options: { localAddress?: string; extra?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port: portOf(wirelab), localAddress: options.localAddress ?? "127.0.0.1" });
    sockets.push(socket);
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => {});
    socket.once("connect", () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${options.extra ?? ""}\r\n`);
    });
    socket.once("close", () => {
      const text = Buffer.concat(chunks).toString();
      const [head = "", ...rest] = text.split("\r\n\r\n");
      const [statusLine = "", ...lines] = head.split("\r\n");
      const headers = Object.fromEntries(
        lines.map((line) => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]),
      );
      resolve({ status: Number(statusLine.split(" ")[1] ?? 0), headers, body: rest.join("\r\n\r\n"), bytes: text.length });
    });
  });
}

/** Wait until the server has accepted `count` connections. */
async function untilOpen(wirelab: Wirelab, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await openConnections(wirelab)) < count) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} connections`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("the per-process connection cap", () => {
  test("past the soft cap only /healthz and /readyz are answered; past the hard cap connections are cut; /healthz answers again once the idle ones are reaped", async () => {
    server = await startServer({ connectionsSoftCap: 4, maxConnections: 8, shedIdleMs: 1_000 });
    const wirelab = server;
    const underCap = [];
    for (let i = 0; i < 4; i++) underCap.push(await idle(wirelab));
    await untilOpen(wirelab, 4);

    const refused = await raw(wirelab, "/v1/stats");
    expect(refused.status).toBe(503);
    expect(refused.headers.connection).toBe("close");
    expect(refused.headers["retry-after"]).toMatch(/^\d+$/);
    expect(JSON.parse(refused.body).error.code).toBe("unavailable");

    const health = await raw(wirelab, "/healthz");
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body).status).toBe("ok");
    const ready = await raw(wirelab, "/readyz");
    expect(ready.status).toBe(200);

    // Fill up to the hard cap with idle connections; the next one is cut without a byte.
    const shed: Array<{ ended: boolean }> = [];
    while ((await openConnections(wirelab)) < 8) shed.push(await idle(wirelab));
    const cut = await raw(wirelab, "/healthz");
    expect(cut.bytes).toBe(0);

    // The connections under the cap were never touched.
    expect(underCap.every((s) => !s.ended)).toBe(true);
    // Idle connections past the soft cap are reaped; then /healthz answers again.
    await until(() => shed.every((s) => s.ended), "the idle connections past the soft cap to be closed by the server");
    expect(underCap.every((s) => !s.ended)).toBe(true);
    expect((await raw(wirelab, "/healthz")).status).toBe(200);
  });

  test("a connection under the cap is served as before (401 without a token, not 503)", async () => {
    server = await startServer({ connectionsSoftCap: 4, maxConnections: 8 });
    const response = await raw(server, "/v1/stats");
    expect(response.status).toBe(401);
  });

  test("a WebSocket upgrade past the soft cap is refused with 503 and the JSON body", async () => {
    server = await startServer({ connectionsSoftCap: 1, maxConnections: 8, shedIdleMs: 5_000 });
    const wirelab = server;
    await idle(wirelab);
    await untilOpen(wirelab, 1);
    const response = await raw(wirelab, "/v1/rooms/lobby/ws", {
      extra: "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    });
    expect(response.status).toBe(503);
    expect(JSON.parse(response.body).error.code).toBe("unavailable");
  });

  test("the default caps come from the open-files limit, minus a reserve", () => {
    const limit = openFilesLimit();
    const config = resolveConfig({ port: 0 });
    if (limit !== null) {
      expect(config.maxConnections).toBe(limit - config.openFilesReserve);
      expect(config.maxConnections).toBeLessThan(limit);
    }
    expect(config.connectionsSoftCap).toBeLessThan(config.maxConnections);
    expect(() => resolveConfig({ connectionsSoftCap: 10, maxConnections: 5 })).toThrow(/connectionsSoftCap/);
  });
});

describe("the per-address connection cap", () => {
  test("one address past its cap gets 429 too_many_connections; another address is served", async () => {
    server = await startServer({ maxConnectionsPerIp: 2, shedIdleMs: 5_000 });
    const wirelab = server;
    await idle(wirelab, "127.0.0.1");
    await idle(wirelab, "127.0.0.1");
    await untilOpen(wirelab, 2);

    const refused = await raw(wirelab, "/v1/stats", { localAddress: "127.0.0.1" });
    expect(refused.status).toBe(429);
    expect(refused.headers.connection).toBe("close");
    expect(refused.headers["retry-after"]).toMatch(/^\d+$/);
    expect(JSON.parse(refused.body).error.code).toBe("too_many_connections");

    const other = await raw(wirelab, "/v1/stats", { localAddress: "127.0.0.2" });
    expect(other.status).toBe(401);
  });
});
