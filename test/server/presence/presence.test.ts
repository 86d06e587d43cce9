/**
 * Presence: who is in a room, on which transport, on which instance — on one instance, and over
 * two instances sharing Redis, where an instance that dies without a goodbye drops out once its
 * last renewal expires.
 */
import { Redis } from "ioredis";
import { afterAll, expect, test } from "vitest";
import { LocalPresenceStore, PresenceTracker, type PresenceStore } from "../../../server/presence/PresenceTracker.js";
import { RedisPresenceStore } from "../../../server/presence/RedisPresenceStore.js";
import { TRANSPORTS, type PresenceResponse, type StatsResponse } from "../../../web/src/isomorphic/protocol/index.js";
import { client, connected, session, startServer, stopsAfterEach } from "../../helpers.js";
import { deleteKeys, redisForTests, testPrefix } from "../../redis.js";

const prefix = testPrefix();
const stops = stopsAfterEach();
afterAll(async () => {
  const { url, stop } = await redisForTests();
  await deleteKeys(url, prefix);
  await stop();
});

async function presenceOf(url: string, token: string, room: string): Promise<PresenceResponse> {
  return (await fetch(`${url}/v1/rooms/${room}/presence`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<PresenceResponse>;
}

test("the room's members on every transport, and who left", async () => {
  const server = await startServer();
  stops.push(() => server.close());
  const [ada, bob] = await Promise.all([session(server, "ada"), session(server, "bob")]);
  const clients = TRANSPORTS.map((t, i) => client(server, t, (i % 2 ? bob : ada).token, { room: "study" }));
  stops.push(() => clients.forEach((c) => c.close()));
  await Promise.all(clients.map(connected));

  const present = await presenceOf(server.url, ada.token, "study");
  expect(present.room).toBe("study");
  expect(present.members.map((m) => `${m.user.name}/${m.transport}`)).toEqual(["ada/short-poll", "ada/sse", "bob/long-poll", "bob/websocket"]);
  expect(new Set(present.members.map((m) => m.instance))).toEqual(new Set([server.instance]));
  expect((await presenceOf(server.url, ada.token, "elsewhere")).members).toEqual([]);

  const stats = (await (await fetch(`${server.url}/v1/stats`, { headers: { authorization: `Bearer ${ada.token}` } })).json()) as StatsResponse;
  expect(stats).toMatchObject({ instance: server.instance, presence: { members: 4 } });

  // A stream that closes leaves with it; a poller stays a while after its last poll.
  clients[2]!.close();
  clients[3]!.close();
  let after = present;
  for (const deadline = Date.now() + 5_000; after.members.length !== 2 && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 20));
    after = await presenceOf(server.url, ada.token, "study");
  }
  expect(after.members.map((m) => `${m.user.name}/${m.transport}`)).toEqual(["ada/short-poll", "bob/long-poll"]);
});

/** A clock the test moves; the trackers' renewals are driven by hand. */
function trackers(store: () => PresenceStore) {
  let now = Date.now();
  const clock = () => now;
  const make = (instance: string) => {
    const tracker = new PresenceTracker(instance, store(), () => {}, { ttlMs: 1_000, renewMs: 3_600_000, pollerMs: 5_000, clock });
    stops.push(() => tracker.close());
    return tracker;
  };
  return { make, advance: (ms: number) => (now += ms) };
}

const ada = { id: "u-ada", name: "ada" };
const bob = { id: "u-bob", name: "bob" };
const settle = () => new Promise((r) => setTimeout(r, 50));

test.each(["memory", "redis"] as const)("presence in %s: a poller drops out after its last poll, an instance that dies drops out when its renewal expires", async (kind) => {
  let shared: PresenceStore = new LocalPresenceStore();
  if (kind === "redis") {
    const redis = new Redis((await redisForTests()).url);
    stops.push(() => redis.disconnect());
    await redis.ping();
    shared = new RedisPresenceStore(redis, prefix);
  }
  const { make, advance } = trackers(() => shared);
  const one = make("i-one");
  const two = make("i-two");
  one.touch("r", ada, "short-poll");
  two.join("r", bob, "websocket");
  await settle();
  expect((await one.list("r")).map((m) => `${m.user.name}/${m.transport}@${m.instance}`)).toEqual(["ada/short-poll@i-one", "bob/websocket@i-two"]);

  // Instance two dies: no goodbye, no more renewals. One keeps renewing its poller.
  two.close();
  advance(1_500);
  one.touch("r", ada, "short-poll");
  one.renew();
  await settle();
  expect((await one.list("r")).map((m) => m.instance)).toEqual(["i-one"]);

  // The poller stops polling: gone once its time is up.
  advance(5_000);
  one.renew();
  await settle();
  expect(await one.list("r")).toEqual([]);
});
