/**
 * `wirelab cluster`: real instances (child processes) on one Redis behind the round-robin front
 * door. Clients of every transport that come in through the door land on different instances and
 * still share one feed.
 */
import { execFile } from "node:child_process";
import { afterAll, expect, test } from "vitest";
import { Cluster, parseClusterArgs } from "../../../server/commands/cluster.js";
import { UsageError } from "../../../server/UsageError.js";
import { FeedHttp } from "../../../web/src/isomorphic/kit/index.js";
import { TRANSPORTS } from "../../../web/src/isomorphic/protocol/index.js";
import { client, connected, until } from "../../helpers.js";
import { deleteKeys, redisForTests, testPrefix } from "../../redis.js";
import { packageRoot } from "../../../server/paths.js";
import { join } from "node:path";

const BIN = join(packageRoot(), "bin", "wirelab.js");
const prefix = testPrefix();
afterAll(async () => {
  const { url, stop } = await redisForTests();
  await deleteKeys(url, prefix);
  await stop();
});

test("a cluster's clients are spread over its instances and see one feed", async () => {
  const { url } = await redisForTests();
  const cluster = await Cluster.start({ instances: 2, redisUrl: url, port: 0, host: "127.0.0.1" }, { ...process.env, WIRELAB_REDIS_PREFIX: prefix });
  const clients: ReturnType<typeof client>[] = [];
  try {
    const { token } = await FeedHttp.createSession(cluster.door.url, "ada");
    const room = `cluster-${Date.now().toString(36)}`;
    // Round robin, no stickiness: two WebSockets opened one after the other (one new connection
    // each, nothing else connecting between them) land on different instances.
    const first = client({ url: cluster.door.url }, "websocket", token, { room, history: 0 });
    const second = client({ url: cluster.door.url }, "websocket", token, { room, history: 0 });
    clients.push(first, second);
    await connected(first);
    await connected(second);
    expect(first.instance).not.toBe(second.instance);
    for (const transport of TRANSPORTS) clients.push(client({ url: cluster.door.url }, transport, token, { room }));
    await Promise.all(clients.map(connected));
    for (const [i, c] of clients.entries()) await c.send(`from ${i}`);
    await until(() => clients.every((c) => c.received.length === clients.length), "every message everywhere", 15_000);
    const order = clients[0]!.received.map((m) => m.id);
    for (const c of clients) expect(c.received.map((m) => m.id)).toEqual(order);
  } finally {
    clients.forEach((c) => c.close());
    await cluster.stop();
  }
});

test("cluster options: defaults, limits, and a clear word when no Redis answers", async () => {
  expect(parseClusterArgs([], {})).toEqual({ instances: 2, port: 8080, host: "127.0.0.1", redisUrl: "redis://127.0.0.1:6379" });
  expect(parseClusterArgs(["--instances", "3", "--port", "9000"], { WIRELAB_REDIS: "redis://10.0.0.9:6379" })).toMatchObject({ instances: 3, port: 9000, redisUrl: "redis://10.0.0.9:6379" });
  expect(() => parseClusterArgs(["--instances", "0"])).toThrow(UsageError);
  expect(() => parseClusterArgs(["--instances", "many"])).toThrow(/--instances must be an integer from 1 to 16/);

  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(process.execPath, [BIN, "cluster", "--redis", "redis://127.0.0.1:1"], (error, _stdout, stderr) =>
      resolve({ code: error ? (error as { code?: number }).code ?? 1 : 0, stderr }),
    );
  });
  expect(code).toBe(2);
  expect(stderr).toMatch(/no Redis answers at redis:\/\/127\.0\.0\.1:1/);
  expect(stderr).toMatch(/redis-server/);
});
