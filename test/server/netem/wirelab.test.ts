/**
 * The emulator in front of a real wirelab server, with the kit's clients of all four transports:
 * they all cross the same emulated network, each is recognised, and a drop aimed at one transport
 * makes only that client reconnect.
 */
import { performance } from "node:perf_hooks";
import { afterEach, expect, test } from "vitest";
import { TRANSPORTS, type TransportName } from "../../../web/src/isomorphic/protocol/index.js";
import { client, connected, session, startServer } from "../../helpers.js";
import { cleanup, emulator, until } from "./netHelpers.js";

const stops: Array<() => unknown> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  await cleanup();
});

async function setup() {
  const server = await startServer();
  stops.push(() => server.close());
  const emu = await emulator({ port: Number(new URL(server.url).port), conditions: { up: { latencyMs: 100 }, down: { latencyMs: 100 } } });
  stops.push(() => emu.close());
  const viaEmulator = { ...server, url: emu.url } as typeof server;
  const { token } = await session(viaEmulator, "ada");
  const clients = TRANSPORTS.map((t) => client(viaEmulator, t, token, { waitMs: 2_000 }));
  stops.push(() => clients.forEach((c) => c.close()));
  await Promise.all(clients.map(connected));
  return { emu, clients };
}

test("all four transports cross the emulated network and are told apart", async () => {
  const { emu, clients } = await setup();
  const seen = new Set<string>();
  await until(() => {
    for (const c of emu.connections()) if (c.transport) seen.add(c.transport);
    return (["long-poll", "sse", "websocket"] as TransportName[]).every((t) => seen.has(t));
  }, "the long-lived transports to be recognised");

  const sender = clients.find((c) => c.transport === "websocket")!;
  const started = performance.now();
  await sender.send("through the emulator");
  // One frame up and its ack down: at least 100 ms each way.
  expect(performance.now() - started).toBeGreaterThanOrEqual(200);
  await until(() => clients.every((c) => c.received.some((m) => m.text === "through the emulator")), "every client to get it");
});

test("a reset aimed at WebSocket connections makes only the WebSocket client reconnect", async () => {
  const { emu, clients } = await setup();
  const states = new Map<TransportName, string[]>();
  for (const c of clients) {
    states.set(c.transport, []);
    c.on("state", (state) => states.get(c.transport)!.push(state));
  }
  await until(() => emu.connections().some((c) => c.transport === "websocket"), "the WebSocket connection");

  // The upgraded connection, and any keep-alive HTTP connection whose last request the WebSocket
  // client made (its history load declares x-wirelab-transport: websocket).
  expect(emu.drop({ transport: "websocket", mode: "reset" })).toBeGreaterThanOrEqual(1);
  const ws = clients.find((c) => c.transport === "websocket")!;
  await until(() => states.get("websocket")!.includes("reconnecting") && ws.state === "open", "the WebSocket client to come back");
  for (const t of TRANSPORTS.filter((t) => t !== "websocket")) expect(states.get(t), t).toEqual([]);

  await clients[0]!.send("after the drop");
  await until(() => clients.every((c) => c.received.some((m) => m.text === "after the drop")), "every client to get the next message");
});
