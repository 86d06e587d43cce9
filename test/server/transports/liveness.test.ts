/**
 * Liveness on both sides: the server terminates a WebSocket peer that stops answering pings and
 * tells idle streams it is alive (heartbeat events and frames); the kit of every transport notices a
 * silent link (the emulator's black hole) within its bound, counts a zombie and comes back.
 */
import { WebSocket } from "ws";
import { describe, expect, test } from "vitest";
import type { Wirelab } from "../../../server/app.js";
import { ConfigError, resolveConfig } from "../../../server/config.js";
import { TRANSPORTS } from "../../../web/src/isomorphic/protocol/index.js";
import { client, connected, session, startServer, startSupervisor, stopsAfterEach, until } from "../../helpers.js";

const stops = stopsAfterEach();

const INTERVAL_MS = 200;

function wsOf(server: Wirelab, token: string, options: { autoPong?: boolean } = {}): WebSocket {
  const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/rooms/lobby/ws?token=${token}`, options);
  stops.push(() => ws.terminate());
  return ws;
}

describe("server side", () => {
  test("WIRELAB_HEARTBEAT_MS sets the SSE heartbeat and the WebSocket ping interval together; a wrong one is refused", () => {
    expect(resolveConfig({}, {})).toMatchObject({ sseHeartbeatMs: 15_000, wsPingIntervalMs: 25_000 });
    expect(resolveConfig({}, { WIRELAB_HEARTBEAT_MS: "1000" })).toMatchObject({ sseHeartbeatMs: 1_000, wsPingIntervalMs: 1_000 });
    expect(() => resolveConfig({}, { WIRELAB_HEARTBEAT_MS: "soon" })).toThrow(ConfigError);
  });

  test("a WebSocket that does not answer pings is terminated and counted; one that answers stays", async () => {
    const server = await startServer({ wsPingIntervalMs: INTERVAL_MS });
    stops.push(() => server.close());
    const { token } = await session(server);
    const zombie = wsOf(server, token, { autoPong: false });
    const healthy = wsOf(server, token);
    let healthyPings = 0;
    healthy.on("ping", () => (healthyPings += 1));
    let zombieClosed = false;
    zombie.once("close", () => (zombieClosed = true));
    await Promise.all([zombie, healthy].map((ws) => new Promise((r) => ws.once("open", r))));

    await until(() => zombieClosed, "the zombie to be terminated");
    expect(server.connections.terminated("zombie")).toBe(1);
    // Over the same span and well beyond it, the peer that answers is kept.
    const pingsAtTermination = healthyPings;
    await until(() => healthyPings >= pingsAtTermination + 3, "three more pings to the healthy peer");
    expect(healthy.readyState).toBe(WebSocket.OPEN);
    expect(server.connections.terminated("zombie")).toBe(1);
  });

  test("idle streams get heartbeats, announced in their hello", async () => {
    const server = await startServer({ wsPingIntervalMs: INTERVAL_MS, sseHeartbeatMs: INTERVAL_MS });
    stops.push(() => server.close());
    const { token } = await session(server);
    const ws = wsOf(server, token);
    const frames: Array<{ type: string; heartbeatMs?: number }> = [];
    ws.on("message", (data) => frames.push(JSON.parse(data.toString())));
    await until(() => frames.filter((f) => f.type === "heartbeat").length >= 2, "two heartbeat frames");
    expect(frames[0]).toMatchObject({ type: "hello", heartbeatMs: INTERVAL_MS });

    const response = await fetch(`${server.url}/v1/rooms/lobby/events`, { headers: { authorization: `Bearer ${token}` } });
    const reader = response.body!.getReader();
    let text = "";
    while ((text.match(/event:heartbeat\ndata:\{\}\n\n/g) ?? []).length < 2) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the stream ended");
      text += Buffer.from(value).toString();
    }
    await reader.cancel();
    expect(text).toContain(`"heartbeatMs":${INTERVAL_MS}`);
    // A heartbeat carries no id: the stream's cursor stays where it was.
    expect(text).not.toMatch(/event:heartbeat\nid:/);
  });
});

describe("client side", () => {
  test("on a black-holed link every transport notices within its bound, counts a zombie, and recovers without loss", async () => {
    const supervisor = await startSupervisor({ wsPingIntervalMs: INTERVAL_MS, sseHeartbeatMs: INTERVAL_MS });
    stops.push(() => supervisor.close());
    const { token } = await session(supervisor);
    const via = { url: supervisor.network!.url };
    const clients = TRANSPORTS.map((t) =>
      client(via, t, token, { history: 0, livenessMarginMs: 300, requestTimeoutMs: 1_000, waitMs: 500 }),
    );
    stops.push(() => clients.forEach((c) => c.close()));
    await Promise.all(clients.map(connected));
    const sender = client(supervisor, "short-poll", token);
    stops.push(() => sender.close());
    await sender.send("before");
    await until(() => clients.every((c) => c.received.length === 1), "everyone to get the first message");

    supervisor.network!.blackhole({ on: true });
    // No close, no reset: each client has to find out from the silence.
    await until(() => clients.every((c) => c.stats.counters.zombies >= 1), "every transport to count a zombie", 30_000);
    await sender.send("during");
    supervisor.network!.blackhole({ on: false });

    await until(() => clients.every((c) => c.state === "open" && c.received.length === 2), "everyone back with the message sent meanwhile", 30_000);
    for (const c of clients) {
      expect(c.received.map((m) => m.text), c.transport).toEqual(["before", "during"]);
      expect(c.stats.counters.reconnects, c.transport).toBeGreaterThanOrEqual(1);
    }
  });
});
