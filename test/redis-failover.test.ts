/**
 * Instance death: two `wirelab serve --redis` processes behind a round-robin front door (no
 * sticky sessions). A client's instance is killed with SIGKILL — no goodbye, no close frame — and
 * the client must come back through the front door on the other instance and resume from its
 * cursor, with nothing lost and nothing seen twice, on every transport.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import { FrontDoor } from "../server/cluster/FrontDoor.js";
import { ServerProcess } from "../server/ServerProcess.js";
import { TRANSPORTS, type TransportName } from "../web/src/protocol/index.js";
import { FeedHttp } from "../web/src/kit/index.js";
import { TEST_SECRET, client, connected, until } from "./helpers.js";
import { deleteKeys, redisForTests, testPrefix } from "./redis.js";

let redisUrl: string;
const prefix = testPrefix();
const stops: Array<() => unknown> = [];
beforeAll(async () => {
  redisUrl = (await redisForTests()).url;
});
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});
afterAll(async () => {
  await deleteKeys(redisUrl, prefix);
  await (await redisForTests()).stop();
});

async function instanceOf(server: ServerProcess): Promise<string> {
  return ((await (await fetch(`${server.url}/healthz`)).json()) as { instance: string }).instance;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test.each(TRANSPORTS)("a %s client whose instance is killed fails over to the other and resumes, nothing lost or duplicated", async (transport: TransportName) => {
  // The same secret on both: a session from one instance is good on the other.
  const env = { WIRELAB_SECRET: TEST_SECRET, WIRELAB_REDIS_PREFIX: prefix };
  const servers = await Promise.all([0, 1].map(() => ServerProcess.start(["--redis", redisUrl], env)));
  stops.push(() => Promise.all(servers.map((s) => s.stop())));
  const ids = await Promise.all(servers.map(instanceOf));
  const door = await FrontDoor.start(servers.map((s) => ({ host: "127.0.0.1", port: Number(new URL(s.url).port) })));
  stops.push(() => door.close());

  const room = `failover-${transport}-${Date.now().toString(36)}`;
  const { token } = await FeedHttp.createSession(door.url, "ada");
  const subscriber = client({ url: door.url }, transport, token, { room });
  stops.push(() => subscriber.close());
  await connected(subscriber);
  const victim = ids.indexOf(subscriber.instance!);
  expect(victim, "the client knows which instance serves it").toBeGreaterThanOrEqual(0);
  const survivor = servers[1 - victim]!;
  const writer = client(survivor, "websocket", token, { room });
  stops.push(() => writer.close());
  await connected(writer);

  for (let i = 1; i <= 5; i++) await writer.send(`before ${i}`);
  await until(() => subscriber.received.length === 5, "five before the kill");

  servers[victim]!.child.kill("SIGKILL");
  for (let i = 6; i <= 10; i++) await writer.send(`while failing over ${i}`);

  await until(() => subscriber.received.length === 10 && subscriber.instance === ids[1 - victim], "the client on the survivor with all ten", 20_000);
  await writer.send("after");
  await until(() => subscriber.received.length === 11, "the message after the failover");
  expect(subscriber.received.map((m) => m.seq)).toEqual(range(1, 11));
  expect(subscriber.stats.counters.duplicates).toBe(0);
  expect(subscriber.state).toBe("open");
});
