/**
 * What a held connection (an open event stream, a parked long poll) keeps on the server, and that
 * it lets go of all of it when it ends. Counts, not memory: registry entries, bus listeners,
 * waiting polls. Real server, real HTTP.
 */
import { request, type IncomingMessage } from "node:http";
import { describe, expect, test } from "vitest";
import type { Wirelab } from "../../../server/app.js";
import type { LongPollTransport } from "../../../server/transports/LongPollTransport.js";
import type { SseTransport } from "../../../server/transports/SseTransport.js";
import { session, startServer, stopsAfterEach, until } from "../../helpers.js";

const stops = stopsAfterEach();

async function serve(): Promise<Wirelab> {
  const server = await startServer();
  stops.push(() => server.close());
  return server;
}

/** A raw GET whose response is kept open; `text` grows as bytes arrive. */
function open(server: Wirelab, path: string, token: string, headers: Record<string, string> = {}) {
  const url = new URL(path, server.url);
  const state = { response: null as IncomingMessage | null, text: "", ended: false };
  const req = request(url, { headers: { authorization: `Bearer ${token}`, ...headers } }, (res) => {
    state.response = res;
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => (state.text += chunk));
    res.on("end", () => (state.ended = true));
  });
  req.on("error", () => {});
  req.end();
  return Object.assign(state, { close: () => req.destroy() });
}

async function send(server: Wirelab, token: string, room: string, id: string): Promise<void> {
  const response = await fetch(`${server.url}/v1/rooms/${room}/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ id, text: `text ${id}` }),
  });
  expect(response.status).toBe(201);
}

/** The events of an SSE text: name, id and data of each. */
function events(text: string): Array<{ event?: string; id?: string; data?: string; retry?: string }> {
  return text
    .split("\n\n")
    .filter((block) => block.length > 0)
    .map((block) => Object.fromEntries(block.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1)])));
}

describe("an event stream", () => {
  test("speaks the same wire: head, retry first, hello with the cursor as id, then every message once, in order", async () => {
    const server = await serve();
    const { token } = await session(server);
    const stream = open(server, "/v1/rooms/wire/events", token);
    await until(() => stream.text.includes("event:hello"), "the hello");
    const head = stream.response!.headers;
    expect(head["content-type"]).toBe("text/event-stream");
    expect(head["cache-control"]).toBe("no-store");
    expect(head["x-accel-buffering"]).toBe("no");
    expect(head["wirelab-instance"]).toBe(server.instance);
    for (let i = 0; i < 120; i++) await send(server, token, "wire", `m${i}`);
    await until(() => events(stream.text).filter((e) => e.event === "message").length === 120, "120 message events");
    const all = events(stream.text);
    expect(all[0]).toEqual({ retry: String(server.config.sseRetryMs) });
    expect(all[1]).toMatchObject({ event: "hello", id: "0" });
    expect(JSON.parse(all[1]!.data!)).toMatchObject({ next: 0, instance: server.instance, heartbeatMs: server.config.sseHeartbeatMs });
    const messages = all.slice(2);
    expect(messages.map((e) => e.id)).toEqual(Array.from({ length: 120 }, (_, i) => String(i + 1)));
    expect(messages.map((e) => JSON.parse(e.data!).seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    stream.close();
  });

  test("a resumed stream starts at Last-Event-ID; a closed one leaves the registry, the heartbeat and the bus", async () => {
    const server = await serve();
    const sse = server.transports.sse as SseTransport;
    const { token, user } = await session(server);
    for (let i = 0; i < 5; i++) await send(server, token, "gone", `m${i}`);
    const streams = [0, 1, 2].map(() => open(server, "/v1/rooms/gone/events", token, { "last-event-id": "3" }));
    await until(() => streams.every((s) => events(s.text).filter((e) => e.event === "message").length === 2), "the replay after seq 3");
    expect(events(streams[0]!.text).filter((e) => e.event === "message").map((e) => e.id)).toEqual(["4", "5"]);
    expect(server.connections.count("sse")).toBe(3);
    expect(sse.streams.size).toBe(3);
    expect(server.feed.subscribers("gone")).toBe(3);
    for (const stream of streams) stream.close();
    await until(() => server.connections.count("sse") === 0, "the streams to leave the registry");
    expect(sse.streams.size).toBe(0);
    expect(server.feed.subscribers("gone")).toBe(0);
    expect(server.connections.heldBy(user.id)).toBe(0);
  });
});

describe("parked long polls", () => {
  test("of one room share one bus listener, are all answered by one message, and let go of it", async () => {
    const server = await serve();
    const longPoll = server.transports["long-poll"] as LongPollTransport;
    const { token } = await session(server);
    const polls = [0, 1, 2, 3, 4].map(() => open(server, "/v1/rooms/herd/messages?since=0&wait=30000", token));
    await until(() => server.connections.count("long-poll") === 5, "five parked polls");
    expect(longPoll.watching("herd")).toBe(5);
    expect(server.feed.subscribers("herd")).toBe(1);
    await send(server, token, "herd", "wake");
    await until(() => polls.every((p) => p.ended), "every poll answered");
    for (const poll of polls) expect(JSON.parse(poll.text).messages.map((m: { seq: number }) => m.seq)).toEqual([1]);
    expect(server.connections.count("long-poll")).toBe(0);
    expect(longPoll.watching("herd")).toBe(0);
    expect(server.feed.subscribers("herd")).toBe(0);
  });

  test("a poll whose client goes away leaves the registry, its room and the bus; the others stay parked", async () => {
    const server = await serve();
    const longPoll = server.transports["long-poll"] as LongPollTransport;
    const { token } = await session(server);
    const leaving = open(server, "/v1/rooms/leave/messages?since=0&wait=30000", token);
    const staying = open(server, "/v1/rooms/leave/messages?since=0&wait=30000", token);
    await until(() => server.connections.count("long-poll") === 2, "two parked polls");
    leaving.close();
    await until(() => server.connections.count("long-poll") === 1, "the poll to leave the registry");
    expect(longPoll.watching("leave")).toBe(1);
    staying.close();
    await until(() => server.connections.count("long-poll") === 0, "the last poll to leave");
    expect(longPoll.watching("leave")).toBe(0);
    expect(longPoll.watchedRooms).toBe(0);
    expect(server.feed.subscribers("leave")).toBe(0);
  });
});
