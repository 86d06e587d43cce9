/**
 * A remote bus (Redis SUBSCRIBE) takes effect some time after subscribe() is called. A reader
 * that reads history in that window and then relies on the bus misses what is stored meanwhile.
 * These tests hold the subscription back, store a message in the window, and check that the
 * follower and the long poll still deliver it: they read only once the subscription is ready.
 */
import { ConnectionRegistry } from "../../../server/transports/ConnectionRegistry.js";
import { RateLimits } from "../../../server/limits/RateLimits.js";
import { createServer, type Server } from "node:http";
import { parse as parseQueryString } from "node:querystring";
import { pino } from "pino";
import { afterEach, describe, expect, test } from "vitest";
import { resolveConfig } from "../../../server/config.js";
import { Feed } from "../../../server/feed/Feed.js";
import { LocalFeedBus } from "../../../server/feed/LocalFeedBus.js";
import { embeddedBackend } from "../../../server/feed/backends.js";
import type { FeedBus, FeedEvent, FeedListener, FeedSubscription } from "../../../server/feed/types.js";
import { TokenIssuer } from "../../../server/auth.js";
import { TrafficStats } from "../../../server/stats/TrafficStats.js";
import { WirelabMetrics } from "../../../server/metrics/WirelabMetrics.js";
import { LongPollTransport } from "../../../server/transports/LongPollTransport.js";
import { setUser } from "../../../server/http/locals.js";
import { parsePollQuery } from "../../../server/http/params.js";
import { LocalPresenceStore, PresenceTracker } from "../../../server/presence/PresenceTracker.js";
import type { PollResponse } from "../../../web/src/isomorphic/protocol/index.js";
import { TEST_SECRET, until } from "../../helpers.js";

/** An in-process bus whose subscriptions take effect only when the test admits them. */
class LateSubscribingBus implements FeedBus {
  readonly inner = new LocalFeedBus();
  readonly #admissions: Array<() => void> = [];

  publish(event: FeedEvent): void {
    this.inner.publish(event);
  }

  subscribe(room: string, listener: FeedListener): FeedSubscription {
    let subscription: FeedSubscription | null = null;
    let closed = false;
    const ready = new Promise<void>((resolve) => {
      this.#admissions.push(() => {
        if (!closed) subscription = this.inner.subscribe(room, listener);
        resolve();
      });
    });
    return {
      ready,
      close: () => {
        closed = true;
        subscription?.close();
      },
    };
  }

  get waiting(): number {
    return this.#admissions.length;
  }

  admitAll(): void {
    for (const admit of this.#admissions.splice(0)) admit();
  }

  async close(): Promise<void> {}
}

const ada = { id: "u-ada", name: "ada" };
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function lateFeed() {
  const bus = new LateSubscribingBus();
  const feed = new Feed(embeddedBackend(":memory:", 100, bus));
  cleanups.push(() => feed.close());
  return { bus, feed };
}

/** Give a reader that does not wait for readiness the chance to read now, before the message. */
const aTurnLater = () => new Promise((resolve) => setTimeout(resolve, 30));

describe("subscription readiness", () => {
  test("a follower reads history only once its subscription is in effect", async () => {
    const { bus, feed } = lateFeed();
    const seen: number[] = [];
    const follower = feed.follow("a", 0, { start: () => {}, reset: () => {}, deliver: (e) => void seen.push(e.message.seq), fail: () => {} });
    cleanups.push(() => follower.close());
    await until(() => bus.waiting === 1, "the follower to subscribe");
    await aTurnLater();

    // Stored while the subscription is not yet in effect: the bus cannot carry it to the follower.
    await feed.publish("a", ada, { id: "in-the-window", text: "stored before SUBSCRIBE took effect" });
    bus.admitAll();
    await until(() => seen.length === 1, "the message stored in the window");
    expect(seen).toEqual([1]);
  });

  test("a parked long poll is woken by a message stored before its subscription took effect", async () => {
    const { bus, feed } = lateFeed();
    const config = resolveConfig({ port: 0, memory: true, secret: TEST_SECRET });
    const stats = new TrafficStats();
    const transport = new LongPollTransport({
      feed,
      auth: new TokenIssuer(TEST_SECRET, 60),
      stats,
      metrics: new WirelabMetrics(stats),
      config,
      logger: pino({ level: "silent" }),
      instance: "test",
      presence: new PresenceTracker("test", new LocalPresenceStore()),
      limits: new RateLimits(config, null),
      connections: new ConnectionRegistry({ maxPerUser: 10, maxBufferedBytes: config.maxBufferedBytes, logger: pino({ level: "silent" }) }),
    });
    // In the server, PollRoute authenticates and parses before the transport sees the poll.
    const server: Server = createServer((req, res) => {
      setUser(res, { id: "u-ada", name: "ada", role: "learner" });
      const query = parseQueryString((req.url ?? "").split("?")[1] ?? "");
      void transport.poll({ req, res, room: "a", query: parsePollQuery(query), declared: undefined });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    cleanups.push(() => transport.close());
    const { port } = server.address() as { port: number };

    let page: PollResponse | undefined;
    const poll = fetch(`http://127.0.0.1:${port}/rooms/a/messages?since=0&wait=30000`)
      .then((r) => r.json() as Promise<PollResponse>)
      .then((body) => (page = body));
    await until(() => bus.waiting === 1, "the poll to subscribe");
    await aTurnLater();
    await feed.publish("a", ada, { id: "in-the-window", text: "stored before SUBSCRIBE took effect" });
    bus.admitAll();

    // Read after readiness, the poll finds the message and answers without parking. A poll that
    // read too early would park, never hear of the message, and sit out its whole wait.
    await until(() => page !== undefined || transport.parked > 0, "the poll to answer or park");
    expect(transport.parked).toBe(0);
    await poll;
    expect(page!.messages.map((m) => m.text)).toEqual(["stored before SUBSCRIBE took effect"]);
  });
});
