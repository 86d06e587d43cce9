/**
 * The FeedClient contract, the same for each of the four implementations (one suite per
 * transport): its states, its cursor and instance, its own sends, its listeners, and that close()
 * really stops it. Delivery across faults is test/server/transports/delivery.test.ts.
 */
import { beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../server/app.js";
import type { ConnectionState } from "../../web/src/isomorphic/kit/index.js";
import { TRANSPORTS, client, connected, session, startServer, stopsAfterEach, until } from "../helpers.js";

const stops = stopsAfterEach();
let server: Wirelab;
let token: string;
beforeAll(async () => {
  server = await startServer();
  token = (await session(server)).token;
  return () => server.close();
});

describe.each(TRANSPORTS)("a %s FeedClient", (transport) => {
  test("goes idle → connecting → open, and closed on close(), each state once", async () => {
    const c = client(server, transport, token, { room: `fc-states-${transport}` });
    stops.push(() => c.close());
    const states: ConnectionState[] = [];
    c.on("state", (state) => states.push(state));
    expect(c.state).toBe("idle");
    await connected(c);
    c.close();
    expect(states).toEqual(["connecting", "open", "closed"]);
  });

  test("its own send comes back once, acknowledged with the seq it arrives with; the cursor and instance follow", async () => {
    const room = `fc-send-${transport}`;
    const c = client(server, transport, token, { room });
    stops.push(() => c.close());
    await connected(c);
    const ack = await c.send("hello from the kit");
    await until(() => c.received.length === 1, "its own message");
    expect(c.received[0]).toMatchObject({ id: ack.id, seq: ack.seq, text: "hello from the kit" });
    expect(c.cursor).toBe(ack.seq);
    expect(c.instance).toBe(server.instance);
  });

  test("a listener it handed back stops hearing once removed", async () => {
    const room = `fc-off-${transport}`;
    const c = client(server, transport, token, { room });
    stops.push(() => c.close());
    let heard = 0;
    const off = c.on("message", () => heard++);
    await connected(c);
    await c.send("one");
    await until(() => heard === 1, "the first message");
    off();
    await c.send("two");
    await until(() => c.received.length === 2, "the second message");
    expect(heard).toBe(1);
  });

  test("after close() it makes no more requests and receives nothing", async () => {
    const room = `fc-closed-${transport}`;
    const c = client(server, transport, token, { room });
    const other = client(server, "short-poll", token, { room });
    stops.push(() => c.close(), () => other.close());
    await connected(c);
    c.close();
    const requests = c.stats.counters.requests;
    await other.send("after the close");
    // Longer than the test clients' poll interval (50 ms): a poller still running would have asked again.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(c.stats.counters.requests).toBe(requests);
    expect(c.received).toEqual([]);
    expect(c.state).toBe("closed");
  });
});

describe.each(["sse", "websocket"] as const)("a %s FeedClient asked to connect twice", (transport) => {
  test("opens one stream: it costs what connecting once does", async () => {
    const once = client(server, transport, token, { room: `fc-once-${transport}` });
    const twice = client(server, transport, token, { room: `fc-twice-${transport}` });
    stops.push(() => once.close(), () => twice.close());
    await connected(once);
    twice.connect();
    await connected(twice); // the second connect()
    expect(twice.stats.counters.requests).toBe(once.stats.counters.requests);
    expect(twice.stats.counters.reconnects).toBe(0);
  });
});
