import { afterAll, beforeAll, expect, test } from "vitest";
import { TRANSPORTS, client, connected, session, startServer, until } from "./helpers.js";
import type { Wirelab } from "../server/app.js";

let server: Wirelab;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

test("smoke", async () => {
  const { token } = await session(server);
  const clients = TRANSPORTS.map((t) => client(server, t, token));
  for (const c of clients) await connected(c);
  for (const c of clients) await c.send(`hi from ${c.transport}`);
  await until(() => clients.every((c) => c.received.length === 4), "4 messages everywhere");
  for (const c of clients) expect(c.received.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
  console.log(server.stats.snapshot());
  for (const c of clients) console.log(c.transport, c.stats.counters);
  for (const c of clients) c.close();
});
