/**
 * The fan-out flush policy (config.fanoutFlush): "message" writes each fanned-out frame to the
 * socket at once, "turn" holds the socket (corked) until the event-loop turn ends, "adaptive"
 * writes the first frame of a turn at once and holds the socket from its second. Whichever,
 * every subscriber gets every message once, in order. Behaviour only; no timing.
 */
import type { Socket } from "node:net";
import { describe, expect, test } from "vitest";
import { FANOUT_FLUSH_POLICIES, resolveConfig, type FanoutFlush } from "../../../server/config.js";
import type { Wirelab } from "../../../server/app.js";
import { client, connected, session, startServer, stopsAfterEach, until } from "../../helpers.js";

const stops = stopsAfterEach();

const ada = { id: "u-ada", name: "ada" };
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("fanoutFlush", () => {
  test("defaults to adaptive, WIRELAB_FANOUT_FLUSH sets it, anything else is refused", () => {
    expect(resolveConfig({}, {}).fanoutFlush).toBe("adaptive");
    expect(resolveConfig({}, { WIRELAB_FANOUT_FLUSH: "" }).fanoutFlush).toBe("adaptive");
    expect(resolveConfig({}, { WIRELAB_FANOUT_FLUSH: "turn" }).fanoutFlush).toBe("turn");
    expect(resolveConfig({}, { WIRELAB_FANOUT_FLUSH: "message" }).fanoutFlush).toBe("message");
    expect(resolveConfig({ fanoutFlush: "message" }, { WIRELAB_FANOUT_FLUSH: "turn" }).fanoutFlush).toBe("message");
    expect(() => resolveConfig({}, { WIRELAB_FANOUT_FLUSH: "batch" })).toThrow(/fanoutFlush must be one of adaptive, message, turn.*"batch"/);
    expect(() => resolveConfig({ fanoutFlush: "Turn" as FanoutFlush }, {})).toThrow(/fanoutFlush/);
  });
});

/** The server-side sockets of the streams opened from now on: WebSocket upgrades and SSE requests. */
function serverSockets(server: Wirelab): { websocket: Socket[]; sse: Socket[] } {
  const seen = { websocket: [] as Socket[], sse: [] as Socket[] };
  server.server.on("upgrade", (_req, socket: Socket) => seen.websocket.push(socket));
  server.server.on("request", (req) => {
    if (req.url?.includes("/events")) seen.sse.push(req.socket as Socket);
  });
  return seen;
}

describe.each(FANOUT_FLUSH_POLICIES)("with fanoutFlush %s", (policy) => {
  test("every WebSocket and SSE subscriber gets every message once, in order, many per turn or one", async () => {
    const server = await startServer({ fanoutFlush: policy });
    stops.push(() => server.close());
    const { token } = await session(server);
    const subscribers = [...range(1, 4).map(() => client(server, "websocket", token, { room: "room" })), ...range(1, 4).map(() => client(server, "sse", token, { room: "room" }))];
    stops.push(() => subscribers.forEach((c) => c.close()));
    await Promise.all(subscribers.map((c) => connected(c)));

    // 150 stored in one turn (fanned out before the turn ends), then 50 one turn each.
    await Promise.all(range(1, 150).map((i) => server.feed.publish("room", ada, { id: `m${i}`, text: `text ${i}` })));
    for (const i of range(151, 200)) {
      await server.feed.publish("room", ada, { id: `m${i}`, text: `text ${i}` });
      await nextTurn();
    }

    await until(() => subscribers.every((c) => c.received.length >= 200), "200 messages at every subscriber");
    for (const c of subscribers) {
      expect(c.received.map((m) => m.seq)).toEqual(range(1, 200));
      expect(c.received.map((m) => m.text)).toEqual(range(1, 200).map((i) => `text ${i}`));
    }
  });

  test("how the frames of one turn leave each socket", async () => {
    const server = await startServer({ fanoutFlush: policy });
    stops.push(() => server.close());
    const sockets = serverSockets(server);
    const { token } = await session(server);
    const subscribers = [client(server, "websocket", token, { room: "room" }), client(server, "sse", token, { room: "room" })];
    stops.push(() => subscribers.forEach((c) => c.close()));
    await Promise.all(subscribers.map((c) => connected(c)));
    const both = [sockets.websocket.at(-1)!, sockets.sse.at(-1)!];
    const corked = () => both.map((s) => s.writableCorked);
    /** Nothing left in Node's buffer: what was written went to the kernel with the write. */
    const sent = () => both.every((s) => s.writableLength === 0);
    expect(corked()).toEqual([0, 0]);

    // publish() resolves once the message is stored and fanned out, within this turn.
    await server.feed.publish("room", ada, { id: "m1", text: "first of the turn" });
    expect(corked()).toEqual(policy === "turn" ? [1, 1] : [0, 0]);
    expect(sent()).toBe(policy !== "turn");
    await server.feed.publish("room", ada, { id: "m2", text: "second of the turn" });
    expect(corked()).toEqual(policy === "message" ? [0, 0] : [1, 1]);
    expect(sent()).toBe(policy === "message");

    await nextTurn();
    expect(corked()).toEqual([0, 0]);
    // The next turn: "message" writes at once; "adaptive" holds from the first write, since the
    // sockets got two in the last turn (the server is behind).
    await server.feed.publish("room", ada, { id: "m3", text: "first of the next turn" });
    expect(corked()).toEqual(policy === "message" ? [0, 0] : [1, 1]);
    await nextTurn();
    // One message in the last turn: "adaptive" writes at once again.
    await server.feed.publish("room", ada, { id: "m4", text: "alone in its turn" });
    expect(corked()).toEqual(policy === "turn" ? [1, 1] : [0, 0]);
    await until(() => subscribers.every((c) => c.received.length === 4), "the four messages at both subscribers");
    for (const c of subscribers) expect(c.received.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
  });
});
