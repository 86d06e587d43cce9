/**
 * Instance death: two `wirelab serve --redis` processes behind a round-robin front door (no
 * sticky sessions). A client's instance is killed with SIGKILL — no goodbye, no close frame — and
 * the client must come back through the front door on the other instance and resume from its
 * cursor, with nothing lost and nothing seen twice, on every transport.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { FrontDoor } from "../../../server/cluster/FrontDoor.js";
import { ServerProcess } from "../../../server/ServerProcess.js";
import { TRANSPORTS, type TransportName } from "../../../web/src/isomorphic/protocol/index.js";
import { FeedHttp } from "../../../web/src/isomorphic/kit/index.js";
import { client, connected, stopsAfterEach, TEST_SECRET, until } from "../../helpers.js";
import { deleteKeys, redisForTests, testPrefix } from "../../redis.js";

let redisUrl: string;
const prefix = testPrefix();
const stops = stopsAfterEach();
beforeAll(async () => {
  redisUrl = (await redisForTests()).url;
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

test("an instructor kills one instance through the front door: it dies with SIGKILL, the other serves on", async () => {
  // A cluster of its own: the instances killed above stay listed until their entries expire.
  const env = { WIRELAB_SECRET: TEST_SECRET, WIRELAB_REDIS_PREFIX: `${prefix}kill:` };
  const servers = await Promise.all([0, 1].map(() => ServerProcess.start(["--redis", redisUrl], env)));
  stops.push(() => Promise.all(servers.map((s) => s.stop())));
  const ids = await Promise.all(servers.map(instanceOf));
  const door = await FrontDoor.start(servers.map((s) => ({ host: "127.0.0.1", port: Number(new URL(s.url).port) })));
  stops.push(() => door.close());
  const { token } = await FeedHttp.createSession(door.url, "ms-lee");
  const admin = (path: string, method = "GET") =>
    fetch(`${door.url}/v1/admin${path}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, ...(method === "POST" && { body: "{}" }) });

  // Any instance lists both (the directory is shared through Redis).
  const listed = (await (await admin("/instances")).json()) as { clustered: boolean; instances: Array<{ id: string; pid: number }> };
  expect(listed.clustered).toBe(true);
  expect(listed.instances.map((i) => i.id).sort()).toEqual([...ids].sort());
  expect(listed.instances.find((i) => i.id === ids[0])?.pid).toBe(servers[0]!.pid);

  const exited = new Promise<NodeJS.Signals | null>((resolve) => servers[0]!.child.once("exit", (_code, signal) => resolve(signal)));
  const answer = await admin(`/instances/${ids[0]}/kill`, "POST");
  expect(answer.status).toBe(202);
  expect(await exited).toBe("SIGKILL");
  expect((await admin("/instances/nobody/kill", "POST")).status).toBe(404);
  // The survivor serves every new connection through the door.
  expect(((await (await fetch(`${door.url}/healthz`)).json()) as { instance: string }).instance).toBe(ids[1]);
});
