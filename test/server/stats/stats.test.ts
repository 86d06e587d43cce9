/** /v1/stats counts at the socket: headers and framing included, per transport. */
import { request } from "node:http";
import { EventSource } from "eventsource";
import { WebSocket } from "ws";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Wirelab } from "../../../server/app.js";
import type { StatsResponse } from "../../../web/src/isomorphic/protocol/index.js";
import { session, startServer, until } from "../../helpers.js";

let server: Wirelab;
let token: string;
beforeAll(async () => {
  server = await startServer();
  token = (await session(server)).token;
});
afterAll(() => server.close());

async function stats(): Promise<StatsResponse> {
  const response = await fetch(`${server.url}/v1/stats`, { headers: { authorization: `Bearer ${token}` } });
  return response.json();
}

/** A raw HTTP GET that reports exactly how many bytes crossed the socket each way. */
function rawGet(path: string): Promise<{ sent: number; received: number; status: number }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, server.url);
    const req = request(url, { headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
      res.resume();
      res.on("end", () => {
        const socket = req.socket!;
        resolve({ sent: socket.bytesWritten, received: socket.bytesRead, status: res.statusCode ?? 0 });
        socket.destroy();
      });
    });
    req.on("error", reject);
    req.end();
  });
}

test("needs a token", async () => {
  expect((await fetch(`${server.url}/v1/stats`)).status).toBe(401);
});

test("a short poll is one request, and its bytes are counted with headers", async () => {
  await fetch(`${server.url}/v1/rooms/lobby/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ id: "s1", text: "counted" }),
  });
  const before = (await stats()).transports["short-poll"];
  const exchange = await rawGet("/v1/rooms/lobby/messages?since=0");
  expect(exchange.status).toBe(200);
  const after = (await stats()).transports["short-poll"];
  expect(after.requests - before.requests).toBe(1);
  expect(after.bytesIn - before.bytesIn).toBe(exchange.sent);
  expect(after.bytesOut - before.bytesOut).toBe(exchange.received);
  expect(after.delivered - before.delivered).toBe(1);
});

test("a send is counted under the transport named in its header", async () => {
  const before = (await stats()).transports.sse.requests;
  const response = await fetch(`${server.url}/v1/rooms/lobby/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "x-wirelab-transport": "sse" },
    body: JSON.stringify({ id: "s2", text: "via sse" }),
  });
  expect(response.status).toBe(201);
  expect((await stats()).transports.sse.requests).toBe(before + 1);
});

test("a GET that names its transport (a WebSocket client's history load) counts there", async () => {
  const before = (await stats()).transports;
  const exchange = await rawGet("/v1/rooms/lobby/messages?limit=5&transport=websocket");
  expect(exchange.status).toBe(200);
  const after = (await stats()).transports;
  expect(after.websocket.requests - before.websocket.requests).toBe(1);
  expect(after.websocket.bytesOut - before.websocket.bytesOut).toBe(exchange.received);
  expect(after["short-poll"].requests).toBe(before["short-poll"].requests);
});

test("open streams and sockets show as connections, with live byte counts", async () => {
  const es = new EventSource(`${server.url}/v1/rooms/stats-room/events?token=${token}`);
  const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/rooms/stats-room/ws?token=${token}`);
  const wsFrames: string[] = [];
  ws.on("message", (d) => wsFrames.push(d.toString()));
  const sseMessages: string[] = [];
  es.addEventListener("message", (e) => sseMessages.push(e.data));
  await until(() => wsFrames.length === 1, "the hello frame");

  let s = await stats();
  expect(s.transports.websocket.connections).toBe(1);
  await until(() => es.readyState === EventSource.OPEN, "the SSE stream to open");
  s = await stats();
  expect(s.transports.sse.connections).toBe(1);

  const wsBefore = s.transports.websocket;
  ws.send(JSON.stringify({ type: "send", id: "w1", text: "frame" }));
  await until(() => wsFrames.length === 3 && sseMessages.length === 1, "ack, message and the SSE event");
  s = await stats();
  expect(s.transports.websocket.bytesIn).toBeGreaterThan(wsBefore.bytesIn);
  expect(s.transports.websocket.bytesOut - wsBefore.bytesOut).toBeGreaterThanOrEqual(Buffer.byteLength(wsFrames[1]! + wsFrames[2]!));
  expect(s.transports.websocket.delivered).toBeGreaterThanOrEqual(1);
  expect(s.transports.sse.delivered).toBeGreaterThanOrEqual(1);

  es.close();
  ws.close();
  for (let i = 0; i < 200; i++) {
    s = await stats();
    if (s.transports.sse.connections === 0 && s.transports.websocket.connections === 0) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(s.transports.websocket.connections).toBe(0);
  expect(s.transports.sse.connections).toBe(0);
  expect(s.transports.websocket.requests).toBeGreaterThanOrEqual(1);
});

test("a history load or gap fill is counted under the transport it names, not under short poll", async () => {
  const room = "history-counted";
  for (let i = 0; i < 3; i++) {
    await fetch(`${server.url}/v1/rooms/${room}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ id: `h${i}`, text: "history" }),
    });
  }
  const before = (await stats()).transports;
  // What a joining SSE and WebSocket client, and a long poller's first (wait=0) page, ask for.
  for (const transport of ["sse", "websocket", "long-poll"]) {
    expect((await rawGet(`/v1/rooms/${room}/messages?limit=50&transport=${transport}`)).status).toBe(200);
  }
  const after = (await stats()).transports;
  for (const transport of ["sse", "websocket", "long-poll"] as const) {
    expect(after[transport].delivered - before[transport].delivered, transport).toBe(3);
  }
  expect(after["short-poll"].delivered - before["short-poll"].delivered).toBe(0);
});
