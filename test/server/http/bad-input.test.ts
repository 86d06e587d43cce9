/**
 * Every kind of bad input, sent to every transport: each gets its documented error (HTTP 4xx
 * with a JSON body, or a WebSocket error frame / close code), and the server keeps serving.
 */
import { SignJWT } from "jose";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../../server/app.js";
import { TEST_SECRET, session, startServer } from "../../helpers.js";

let server: Wirelab;
let token: string;
let forged: string;
let expired: string;

beforeAll(async () => {
  server = await startServer();
  token = (await session(server)).token;
  const sign = (secret: string, exp: number) =>
    new SignJWT({ name: "mallory" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("u-mallory")
      .setIssuer("wirelab")
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(secret));
  forged = await sign("some-other-secret-of-enough-length", Math.floor(Date.now() / 1000) + 600);
  expired = await sign(TEST_SECRET, Math.floor(Date.now() / 1000) - 60);
});
afterAll(() => server.close());

type Endpoint = "short-poll" | "long-poll" | "sse" | "send";

/** An HTTP request of one transport, with query additions and an optional token. */
async function http(endpoint: Endpoint, opts: { room?: string; query?: string; token?: string | null; body?: string }) {
  const room = opts.room ?? "lobby";
  const path = {
    "short-poll": `/v1/rooms/${room}/messages?wait=0`,
    "long-poll": `/v1/rooms/${room}/messages?wait=100`,
    sse: `/v1/rooms/${room}/events?x=1`,
    send: `/v1/rooms/${room}/messages?x=1`,
  }[endpoint];
  const headers: Record<string, string> = { "content-type": "application/json" };
  const auth = opts.token === undefined ? token : opts.token;
  if (auth !== null) headers.authorization = `Bearer ${auth}`;
  const response = await fetch(`${server.url}${path}${opts.query ?? ""}`, {
    method: endpoint === "send" ? "POST" : "GET",
    headers,
    ...(endpoint === "send" && { body: opts.body ?? JSON.stringify({ id: "ok", text: "ok" }) }),
    signal: AbortSignal.timeout(5_000),
  });
  const streaming = endpoint === "sse" && response.ok;
  const text = streaming ? "" : await response.text();
  if (streaming) await response.body?.cancel();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** A WebSocket upgrade: either refused (status + JSON body) or open. */
function upgrade(opts: { room?: string; query?: string; token?: string | null }) {
  const auth = opts.token === undefined ? token : opts.token;
  const qs = new URLSearchParams(auth === null ? {} : { token: auth });
  const url = `${server.url.replace("http", "ws")}/v1/rooms/${opts.room ?? "lobby"}/ws?${qs}${opts.query ?? ""}`;
  return new Promise<{ status: number; body?: unknown }>((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on("unexpected-response", (_req, res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    ws.on("open", () => {
      ws.close();
      resolve({ status: 101 });
    });
    ws.on("error", (e) => (e.message.includes("Unexpected server response") ? undefined : reject(e)));
  });
}

const HTTP_ENDPOINTS: Endpoint[] = ["short-poll", "long-poll", "sse", "send"];

const cases: Array<{ name: string; room?: string; query?: string; token?: () => string | null; status: number; code: string; on?: Endpoint[] }> = [
  { name: "missing token", token: () => null, status: 401, code: "unauthorized" },
  { name: "forged token", token: () => forged, status: 401, code: "unauthorized" },
  { name: "expired token", token: () => expired, status: 401, code: "unauthorized" },
  { name: "garbage token", token: () => "not.a.jwt", status: 401, code: "unauthorized" },
  { name: "missing token beats a bad room (401 before 400)", room: "BAD_ROOM", token: () => null, status: 401, code: "unauthorized" },
  { name: "bad room: upper case", room: "Lobby", status: 400, code: "bad_room" },
  { name: "bad room: too long", room: "a".repeat(33), status: 400, code: "bad_room" },
  { name: "bad room: punctuation", room: "lob.by", status: 400, code: "bad_room" },
  { name: "bad since: negative", query: "&since=-1", status: 400, code: "bad_query", on: ["short-poll", "long-poll", "sse"] },
  { name: "bad since: not a number", query: "&since=abc", status: 400, code: "bad_query", on: ["short-poll", "long-poll", "sse"] },
  { name: "bad since: fraction", query: "&since=1.5", status: 400, code: "bad_query", on: ["short-poll", "long-poll", "sse"] },
  { name: "bad since: given twice", query: "&since=1&since=2", status: 400, code: "bad_query", on: ["short-poll", "long-poll", "sse"] },
  { name: "bad epoch: punctuation", query: "&since=1&epoch=a.b", status: 400, code: "bad_query", on: ["short-poll", "long-poll", "sse"] },
  { name: "bad epoch: too long", query: `&since=1&epoch=${"e".repeat(65)}`, status: 400, code: "bad_query", on: ["short-poll", "long-poll", "sse"] },
  { name: "bad epoch: given twice", query: "&since=1&epoch=a&epoch=b", status: 400, code: "bad_query", on: ["short-poll", "long-poll", "sse"] },
  { name: "bad wait: above 30,000", query: "&wait=30001", status: 400, code: "bad_query", on: ["short-poll"] },
  { name: "bad wait: not a number", query: "&wait=soon", status: 400, code: "bad_query", on: ["short-poll"] },
  { name: "bad limit: above 1,000", query: "&limit=1001", status: 400, code: "bad_query", on: ["short-poll", "long-poll"] },
  { name: "bad limit: negative", query: "&limit=-5", status: 400, code: "bad_query", on: ["short-poll", "long-poll"] },
];

describe.each(cases)("$name", (c) => {
  const endpoints = c.on ?? HTTP_ENDPOINTS;
  test.each(endpoints)("over %s: documented HTTP error", async (endpoint) => {
    const response = await http(endpoint, { room: c.room, query: c.query, token: c.token?.() });
    expect(response.status).toBe(c.status);
    expect(response.body.error.code).toBe(c.code);
    expect(typeof response.body.error.message).toBe("string");
  });

  const wsApplies = !c.on || c.query?.startsWith("&since");
  if (wsApplies) test("over websocket: the upgrade is refused with the same status, no 101", async () => {
    const response = await upgrade({ room: c.room, query: c.query, token: c.token?.() });
    expect(response.status).toBe(c.status);
    expect((response.body as { error: { code: string } }).error.code).toBe(c.code);
  });
});

describe("sending over HTTP", () => {
  test.each([
    ["bad JSON", "{not json", 400, "invalid_json"],
    ["not an object", '"text"', 400, "invalid_json"],
    ["missing id", JSON.stringify({ text: "hi" }), 400, "invalid_body"],
    ["empty text", JSON.stringify({ id: "a", text: "" }), 400, "invalid_body"],
    ["oversize text", JSON.stringify({ id: "a", text: "x".repeat(2001) }), 400, "invalid_body"],
    // The limit counts UTF-16 code units (docs/protocol.md): 1,001 emoji are 2,002 units.
    ["oversize text in emoji", JSON.stringify({ id: "a", text: "😀".repeat(1001) }), 400, "invalid_body"],
    ["oversize id", JSON.stringify({ id: "i".repeat(65), text: "hi" }), 400, "invalid_body"],
    ["bad sentAt", JSON.stringify({ id: "a", text: "hi", sentAt: "yesterday" }), 400, "invalid_body"],
    ["oversize body", JSON.stringify({ id: "a", text: "x".repeat(70_000) }), 413, "payload_too_large"],
  ])("%s → %i %s", async (_name, body, status, code) => {
    const response = await http("send", { body });
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
  });

  test("a missing token on a bad body is still a 401", async () => {
    const response = await http("send", { token: null, body: "{not json" });
    expect(response.status).toBe(401);
  });
});

describe("over a WebSocket", () => {
  async function open() {
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/rooms/bad-input/ws?token=${token}`);
    const frames: Array<Record<string, unknown>> = [];
    ws.on("message", (data) => frames.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    const next = async (type: string) => {
      for (let i = 0; i < 500; i++) {
        const index = frames.findIndex((f) => f.type === type);
        if (index >= 0) return frames.splice(index, 1)[0]!;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`no ${type} frame`);
    };
    const closed = new Promise<{ code: number }>((resolve) => ws.once("close", (code) => resolve({ code })));
    await next("hello");
    return { ws, next, closed };
  }

  test.each([
    ["not JSON", "{oops", "invalid_json"],
    ["an unknown command", JSON.stringify({ type: "shout", id: "a", text: "hi" }), "invalid_command"],
    ["a send without text", JSON.stringify({ type: "send", id: "a" }), "invalid_command"],
    ["oversize text", JSON.stringify({ type: "send", id: "big", text: "x".repeat(2001) }), "invalid_command"],
    ["a JSON array", "[1,2]", "invalid_command"],
  ])("%s gets an error frame and the connection lives on", async (_name, frame, code) => {
    const { ws, next } = await open();
    ws.send(frame);
    const error = await next("error");
    expect(error.code).toBe(code);
    ws.send(JSON.stringify({ type: "send", id: `after-${code}-${frame.length}`, text: "still here" }));
    expect((await next("ack")).seq).toBeGreaterThan(0);
    ws.close();
  });

  test("an invalid command echoes its id so the sender can match the error", async () => {
    const { ws, next } = await open();
    ws.send(JSON.stringify({ type: "send", id: "mine", text: "" }));
    expect(await next("error")).toMatchObject({ code: "invalid_command", id: "mine" });
    ws.close();
  });

  test("a binary frame gets an error frame", async () => {
    const { ws, next } = await open();
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await next("error")).code).toBe("binary_frame");
    ws.close();
  });

  test("a frame over the size limit closes with 1009", async () => {
    const { ws, closed } = await open();
    ws.send(JSON.stringify({ type: "send", id: "huge", text: "x".repeat(70 * 1024) }));
    expect((await closed).code).toBe(1009);
  });

  test("invalid UTF-8 closes with 1007", async () => {
    const { ws, closed } = await open();
    ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await closed).code).toBe(1007);
  });

  test("a plain GET of the WebSocket endpoint gets 426", async () => {
    const response = await fetch(`${server.url}/v1/rooms/lobby/ws`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(426);
    expect((await response.json()).error.code).toBe("upgrade_required");
  });
});

describe("everything else", () => {
  test("unknown routes get a JSON 404, behind authentication", async () => {
    expect((await fetch(`${server.url}/v1/nope`)).status).toBe(401);
    const response = await fetch(`${server.url}/v1/nope`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(404);
    expect((await response.json()).error.code).toBe("not_found");
  });

  test("a session needs a name", async () => {
    for (const body of ["{}", JSON.stringify({ name: "" }), JSON.stringify({ name: "n".repeat(33) }), "nope"]) {
      const response = await fetch(`${server.url}/v1/session`, { method: "POST", body, headers: { "content-type": "application/json" } });
      expect(response.status).toBe(400);
      expect((await response.json()).error.code).toMatch(/invalid_(json|body)/);
    }
  });

  test("a WebSocket upgrade to an unknown path is refused with 404", async () => {
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/elsewhere`);
    const status = await new Promise<number>((resolve) => ws.on("unexpected-response", (_q, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(404);
  });

  test("the dashboard's cross-origin calls (e.g. across the emulator) get a cached preflight and readable answers", async () => {
    // Another port on this machine: the server's own origin when the page came through localhost.
    const own = `http://localhost:${new URL(server.url).port}`;
    const preflight = await fetch(`${server.url}/v1/rooms/lobby/messages`, {
      method: "OPTIONS",
      headers: { origin: own, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")).toContain("authorization");
    expect(Number(preflight.headers.get("access-control-max-age"))).toBeGreaterThan(0);
    const poll = await fetch(`${server.url}/v1/rooms/lobby/messages?token=${token}`, { headers: { origin: own } });
    // Reflected for that origin alone, never "*" (test/server/http/origins.test.ts refuses the others).
    expect(poll.headers.get("access-control-allow-origin")).toBe(own);
  });

  test("a URL or headers larger than the server reads get a JSON error, not a bare status line", async () => {
    const { request } = await import("node:http");
    const { port } = new URL(server.url);
    const answer = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path: `/v1/rooms/lobby/messages?since=0&pad=${"p".repeat(100_000)}` }, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }));
      });
      req.on("error", reject);
      req.end();
    });
    expect(answer.status).toBe(431);
    expect(answer.type).toMatch(/^application\/json/);
    expect(JSON.parse(answer.body).error.code).toBe("headers_too_large");
  });

  test("a request that is not HTTP gets a JSON 400", async () => {
    const { connect } = await import("node:net");
    const { port } = new URL(server.url);
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), "127.0.0.1", () => socket.write("HELLO THERE\r\n\r\n"));
      let text = "";
      socket.on("data", (chunk) => (text += chunk));
      socket.on("close", () => resolve(text));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(reply.slice(reply.indexOf("\r\n\r\n") + 4)).error.code).toBe("bad_request");
  });

  test("after all of the above, the server still serves", async () => {
    const sent = await http("send", { body: JSON.stringify({ id: "survivor", text: "still up" }) });
    expect(sent.status).toBe(201);
    const polled = await http("short-poll", { query: "&since=0" });
    expect(polled.status).toBe(200);
    expect(polled.body.messages.map((m: { id: string }) => m.id)).toContain("survivor");
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
