/**
 * The connection registry seen from outside: the per-user cap on long-lived connections, and the
 * documented goodbye of each transport when the server restarts or goes away for good.
 */
import { EventSource } from "eventsource";
import { WebSocket } from "ws";
import { afterEach, describe, expect, test } from "vitest";
import type { Wirelab } from "../../../server/app.js";
import { session, startServer, startSupervisor, until } from "../../helpers.js";

const open: Array<{ close(): void }> = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

function wsUrl(server: { url: string }, token: string): string {
  return `${server.url.replace("http", "ws")}/v1/rooms/lobby/ws?token=${token}`;
}

/** Open a raw WebSocket; resolves with it once open, or with the HTTP status of a refused upgrade. */
function openWs(url: string): Promise<{ ws: WebSocket; status?: undefined; body?: undefined } | { ws?: undefined; status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("open", () => {
      open.push(ws);
      resolve({ ws });
    });
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once("error", (error) => reject(error));
  });
}

describe("per-user cap on long-lived connections", () => {
  let server: Wirelab;
  afterEach(() => server?.close());

  test("one connection past the cap is refused with 429 on every long-lived transport; another user is unaffected", async () => {
    server = await startServer({ maxConnectionsPerUser: 2 });
    const { token } = await session(server, "ada");
    for (let i = 0; i < 2; i++) {
      const opened = await openWs(wsUrl(server, token));
      expect(opened.ws).toBeDefined();
    }
    await until(() => server.connections.heldBy((JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { sub: string }).sub) === 2, "two sockets tracked");

    const ws = await openWs(wsUrl(server, token));
    expect(ws.status).toBe(429);
    expect(JSON.parse(ws.body ?? "{}").error.code).toBe("too_many_connections");

    const sse = await fetch(`${server.url}/v1/rooms/lobby/events`, { headers: { authorization: `Bearer ${token}` } });
    expect(sse.status).toBe(429);
    expect(sse.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await sse.json()).error.code).toBe("too_many_connections");

    const poll = await fetch(`${server.url}/v1/rooms/lobby/messages?since=0&wait=1000`, { headers: { authorization: `Bearer ${token}` } });
    expect(poll.status).toBe(429);

    // Short polls are answered at once and hold nothing: they stay allowed.
    const short = await fetch(`${server.url}/v1/rooms/lobby/messages?since=0`, { headers: { authorization: `Bearer ${token}` } });
    expect(short.status).toBe(200);

    const other = await session(server, "grace");
    expect((await openWs(wsUrl(server, other.token))).ws).toBeDefined();
  });

  test("a closed connection gives its place back", async () => {
    server = await startServer({ maxConnectionsPerUser: 1 });
    const { token } = await session(server, "ada");
    const first = await openWs(wsUrl(server, token));
    expect((await openWs(wsUrl(server, token))).status).toBe(429);
    first.ws!.close();
    await until(() => server.connections.count("websocket") === 0, "the socket to leave the registry");
    expect((await openWs(wsUrl(server, token))).ws).toBeDefined();
  });
});

describe("goodbye: each transport's documented close", () => {
  test("close() (going away for good) closes WebSockets with 1001; SSE gets a goodbye event naming the reason", async () => {
    const server = await startServer();
    const { token } = await session(server);
    const { ws } = await openWs(wsUrl(server, token));
    const code = new Promise<number>((resolve) => ws!.once("close", (c) => resolve(c)));
    const es = new EventSource(`${server.url}/v1/rooms/lobby/events?token=${token}`);
    open.push(es);
    const goodbye = new Promise<{ reason: string; retryMs: number }>((resolve) =>
      es.addEventListener("goodbye", (event) => resolve(JSON.parse((event as MessageEvent).data))),
    );
    await new Promise((resolve) => es.addEventListener("hello", resolve));
    await server.close();
    expect(await code).toBe(1001);
    expect(await goodbye).toEqual({ reason: "shutdown", retryMs: server.config.sseRetryMs });
  });

  test("an in-place restart closes WebSockets with 1012 (service restart) and tells SSE it is a restart", async () => {
    const supervisor = await startSupervisor();
    try {
      const { token } = await session(supervisor);
      const { ws } = await openWs(wsUrl(supervisor, token));
      const closed = new Promise<{ code: number; reason: string }>((resolve) => ws!.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
      const es = new EventSource(`${supervisor.url}/v1/rooms/lobby/events?token=${token}`);
      open.push(es);
      const goodbye = new Promise<{ reason: string }>((resolve) =>
        es.addEventListener("goodbye", (event) => resolve(JSON.parse((event as MessageEvent).data))),
      );
      await new Promise((resolve) => es.addEventListener("hello", resolve));
      await supervisor.restart(10);
      expect(await closed).toEqual({ code: 1012, reason: "server restarting" });
      expect((await goodbye).reason).toBe("restart");
    } finally {
      await supervisor.close();
    }
  });
});
