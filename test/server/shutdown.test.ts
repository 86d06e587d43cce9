/** Graceful shutdown: streams are told to go away, parked polls are answered, nothing hangs. */
import { WebSocket } from "ws";
import { expect, test } from "vitest";
import { TRANSPORTS } from "../../web/src/isomorphic/protocol/index.js";
import { client, connected, session, startServer, until } from "../helpers.js";

test("close() ends every transport's connections and the clients start reconnecting", async () => {
  const server = await startServer();
  const { token } = await session(server);
  const clients = TRANSPORTS.map((t) => client(server, t, token));
  try {
    await Promise.all(clients.map(connected));
    await until(() => (server.transports["long-poll"] as unknown as { parked: number }).parked === 1, "a parked long poll");

    const raw = new WebSocket(`${server.url.replace("http", "ws")}/v1/rooms/lobby/ws?token=${token}`);
    await new Promise((r) => raw.once("open", r));
    const closeCode = new Promise<number>((resolve) => raw.once("close", (code) => resolve(code)));
    const parked = fetch(`${server.url}/v1/rooms/lobby/messages?since=0&wait=30000`, { headers: { authorization: `Bearer ${token}` } });
    await until(() => (server.transports["long-poll"] as unknown as { parked: number }).parked === 2, "our parked poll");

    await server.close();
    expect(await closeCode).toBe(1001);
    const answer = await parked;
    expect(answer.status).toBe(503);
    expect((await answer.json()).error.code).toBe("unavailable");
    await until(() => clients.every((c) => c.state === "reconnecting"), "every client to notice", 10_000);
  } finally {
    clients.forEach((c) => c.close());
  }
});
