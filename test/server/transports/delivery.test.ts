/**
 * End to end over real sockets: every transport delivers every message to every other, in
 * order, exactly once — also across connections cut by the server and a server restart.
 */
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { Wirelab } from "../../../server/app.js";
import { TRANSPORTS, type TransportName } from "../../../web/src/isomorphic/protocol/index.js";
import { client, connected, session, startServer, stopsAfterEach, tempDir, until } from "../../helpers.js";

const stops = stopsAfterEach();

async function serverForTest(options: Parameters<typeof startServer>[0] = {}): Promise<Wirelab> {
  const server = await startServer(options);
  stops.push(() => server.close());
  return server;
}

function liveClients(server: Wirelab, token: string, options = {}) {
  const clients = TRANSPORTS.map((t) => client(server, t, token, options));
  stops.push(() => clients.forEach((c) => c.close()));
  return clients;
}

const seqs = (c: { received: { seq: number }[] }) => c.received.map((m) => m.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe.each(TRANSPORTS)("a message sent over %s", (sender: TransportName) => {
  test("reaches live subscribers of all four transports, in order, exactly once", async () => {
    const server = await serverForTest();
    const [ada, bob] = await Promise.all([session(server, "ada"), session(server, "bob")]);
    const receivers = liveClients(server, bob.token);
    const sending = client(server, sender, ada.token);
    stops.push(() => sending.close());
    await Promise.all([...receivers, sending].map(connected));

    const acks = [];
    for (let i = 1; i <= 5; i++) acks.push(await sending.send(`${sender} says ${i}`));
    expect(acks.map((a) => a.seq)).toEqual(range(1, 5));

    await until(() => receivers.every((c) => c.received.length === 5) && sending.received.length === 5, "five deliveries each");
    for (const c of [...receivers, sending]) {
      expect(seqs(c), c.transport).toEqual(range(1, 5));
      expect(c.received.map((m) => m.text)).toEqual(range(1, 5).map((i) => `${sender} says ${i}`));
      expect(c.received[0]!.from.name).toBe("ada");
      expect(c.stats.counters.duplicates).toBe(0);
      expect(c.stats.latencies.length).toBe(5);
    }
    // Nothing extra arrives later.
    await new Promise((r) => setTimeout(r, 200));
    for (const c of receivers) expect(c.received).toHaveLength(5);
  });
});

describe("resume", () => {
  test.each(TRANSPORTS)("a %s subscriber cut off by the server gets all 50 messages after it reconnects, none twice", async (transport) => {
    const server = await serverForTest();
    const { token } = await session(server);
    // A slow first retry leaves time to publish while the client is away.
    const subscriber = client(server, transport, token, { backoff: { baseMs: 400, capMs: 400 }, random: () => 0.99 });
    stops.push(() => subscriber.close());
    await connected(subscriber);
    await subscriber.send("before the cut");
    await until(() => subscriber.received.length === 1, "the first message");

    // A long poll is parked again only once the client's next request reaches the server: cut
    // the connection when there is one to cut, not whenever this test happens to look.
    if (transport === "short-poll") server.transports[transport].dropAll();
    else await until(() => server.transports[transport].dropAll() > 0, `an open ${transport} connection to cut`);
    const sender = client(server, "websocket", token);
    stops.push(() => sender.close());
    await connected(sender);
    await Promise.all(range(1, 50).map((i) => sender.send(`while away ${i}`)));

    await until(() => subscriber.received.length === 51, "all 51 messages", 15_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(seqs(subscriber)).toEqual(range(1, 51));
    expect(new Set(subscriber.received.map((m) => m.id)).size).toBe(51);
    if (transport !== "short-poll") expect(subscriber.stats.counters.reconnects).toBeGreaterThanOrEqual(1);
  });

  test("a resend with the same id creates no second message, on every transport", async () => {
    const server = await serverForTest();
    const { token } = await session(server);
    const clients = liveClients(server, token);
    await Promise.all(clients.map(connected));
    const first = await clients[0]!.send("once", { id: "fixed-id" });
    for (const c of clients) {
      expect(await c.send("once", { id: "fixed-id" })).toMatchObject({ seq: first.seq, id: "fixed-id" });
    }
    await until(() => clients.every((c) => c.received.length === 1), "one delivery each");
    await new Promise((r) => setTimeout(r, 300));
    for (const c of clients) expect(seqs(c)).toEqual([1]);
    expect((await server.feed.read("lobby", 0, 10)).messages).toHaveLength(1);
  });

  test("a restart with the SQLite store keeps history and seqs, and every client resumes without loss", async () => {
    const { dir, cleanup } = tempDir();
    stops.push(cleanup);
    const dataFile = join(dir, "wirelab.db");
    const first = await startServer({ dataFile });
    const port = Number(new URL(first.url).port);
    const { token } = await session(first);
    const clients = TRANSPORTS.map((t) => client(first, t, token));
    stops.push(() => clients.forEach((c) => c.close()));
    await Promise.all(clients.map(connected));
    for (let i = 1; i <= 3; i++) await clients[3]!.send(`before ${i}`);
    await until(() => clients.every((c) => c.received.length === 3), "three before the restart");
    // Each client knows which instance serves it: from the stream's hello or the response header.
    for (const c of clients) expect(c.instance, c.transport).toBe(first.instance);

    await first.close();
    const second = await startServer({ dataFile, port });
    stops.push(() => second.close());
    expect((await second.feed.read("lobby", 0, 10)).messages.map((m) => m.text)).toEqual(["before 1", "before 2", "before 3"]);

    // The token stays valid (same secret); clients come back on their own and resume.
    await until(() => clients.every((c) => c.state === "open"), "every client to reconnect", 15_000);
    const ack = await clients[0]!.send("after the restart");
    expect(ack.seq).toBe(4);
    await until(() => clients.every((c) => c.received.length === 4), "the message after the restart", 15_000);
    for (const c of clients) expect(seqs(c), c.transport).toEqual([1, 2, 3, 4]);
    // A restart is a new instance, and every client sees that it moved. The history is the same
    // run of seqs (one epoch), so nobody was reset.
    for (const c of clients) expect(c.stats.counters.resets, c.transport).toBe(0);
    expect(second.instance).not.toBe(first.instance);
    for (const c of clients) expect(c.instance, c.transport).toBe(second.instance);
  });

  test("a memory server restarted and refilled past the clients' cursors is a new epoch: every client resets and gets the new messages", async () => {
    const first = await startServer();
    const port = Number(new URL(first.url).port);
    const { token } = await session(first);
    const clients = TRANSPORTS.map((t) => client(first, t, token));
    stops.push(() => clients.forEach((c) => c.close()));
    await Promise.all(clients.map(connected));
    for (let i = 1; i <= 2; i++) await clients[3]!.send(`old ${i}`);
    await until(() => clients.every((c) => c.received.length === 2), "two before the restart");
    // Park the clients away from the server while it is replaced: they come back to a refilled room.
    clients.forEach((c) => c.close());
    await first.close();

    const second = await startServer({ port });
    stops.push(() => second.close());
    const writer = client(second, "websocket", token);
    stops.push(() => writer.close());
    await connected(writer);
    for (let i = 1; i <= 5; i++) await writer.send(`new ${i}`);

    clients.forEach((c) => c.connect());
    // Seq 2 exists in the new room too: only the epoch tells the cursor is from another history.
    await until(() => clients.every((c) => c.received.length === 7), "the new room's five messages", 15_000);
    for (const c of clients) {
      expect(c.stats.counters.resets, c.transport).toBe(1);
      expect(c.received.slice(2).map((m) => m.text), c.transport).toEqual(["new 1", "new 2", "new 3", "new 4", "new 5"]);
    }
  });
});
