/**
 * The workbench's own clients through the built-in network emulator: conditions set for one
 * transport reach that transport's connections and no other.
 */
import { expect, test } from "vitest";
import { TRANSPORTS } from "../../../web/src/isomorphic/protocol/index.js";
import type { WirelabSupervisor } from "../../../server/WirelabSupervisor.js";
import { client, connected, session, startSupervisor, stopsAfterEach, until } from "../../helpers.js";

const stops = stopsAfterEach();

async function throughEmulator() {
  const supervisor = await startSupervisor();
  stops.push(() => supervisor.close());
  const { token } = await session(supervisor);
  const via = { url: supervisor.network!.url };
  return { supervisor, token, via };
}

async function timedSend(c: ReturnType<typeof client>, text: string): Promise<number> {
  const before = c.received.length;
  const started = Date.now();
  await c.send(text);
  await until(() => c.received.length > before, `${text} to come back`);
  return Date.now() - started;
}

test("200 ms each way on the WebSocket's connections: its round trip through the emulator takes at least 400 ms", async () => {
  const { supervisor, token, via } = await throughEmulator();
  const ws = client(via, "websocket", token);
  const sse = client(via, "sse", token);
  stops.push(() => [ws, sse].forEach((c) => c.close()));
  await Promise.all([ws, sse].map(connected));
  supervisor.network!.setConditions({ up: { latencyMs: 200 }, down: { latencyMs: 200 } }, { transport: "websocket" });

  expect(await timedSend(ws, "slow ws")).toBeGreaterThanOrEqual(400);
  // The emulator told the transports apart by their first request line.
  const connections = supervisor.network!.connections();
  expect(connections.some((c) => c.transport === "websocket")).toBe(true);
  expect(connections.some((c) => c.transport === "sse")).toBe(true);
  await until(() => sse.received.length === 1, "the SSE copy");
});

test("black-holing one transport stalls it without a close; lifting it lets the backlog through", async () => {
  const { supervisor, token, via } = await throughEmulator();
  const clients = TRANSPORTS.map((t) => client(via, t, token));
  stops.push(() => clients.forEach((c) => c.close()));
  await Promise.all(clients.map(connected));
  const sseClient = clients[2]!;

  expect(supervisor.network!.blackhole({ transport: "sse", on: true })).toBeGreaterThanOrEqual(1);
  const sender = client(supervisor, "websocket", token);
  stops.push(() => sender.close());
  await connected(sender);
  await sender.send("into the void");
  await until(() => clients.filter((c) => c !== sseClient).every((c) => c.received.length === 1), "the others to get it");
  await new Promise((r) => setTimeout(r, 300));
  expect(sseClient.received).toHaveLength(0);
  expect(sseClient.state).toBe("open"); // nobody told it: a zombie connection

  supervisor.network!.blackhole({ transport: "sse", on: false });
  await until(() => sseClient.received.length === 1, "the backlog after the black hole lifts");
  expect(sseClient.stats.counters.reconnects).toBe(0);
});

test("an emulated reset of the long-poll connections leaves the others untouched", async () => {
  const { supervisor, token, via } = await throughEmulator();
  const clients = TRANSPORTS.map((t) => client(via, t, token));
  stops.push(() => clients.forEach((c) => c.close()));
  await Promise.all(clients.map(connected));
  await until(() => supervisor.network!.connections().some((c) => c.transport === "long-poll"), "a long-poll connection");

  expect(supervisor.network!.drop({ transport: "long-poll", mode: "reset" })).toBeGreaterThanOrEqual(1);
  await until(() => clients[1]!.stats.counters.reconnects >= 1 && clients[1]!.state === "open", "the long poller to come back");
  expect(clients[2]!.stats.counters.reconnects).toBe(0);
  expect(clients[3]!.stats.counters.reconnects).toBe(0);
  await clients[3]!.send("after the reset");
  await until(() => clients.every((c) => c.received.length === 1), "everyone to get it");
});
