/**
 * WebSocket protocol conformance, a Node port of the Autobahn test-suite cases that apply to a
 * server (the Python fuzzingclient cannot be installed here). Every frame is written by hand
 * (ws-raw.ts) and every case asserts the exact close code the server sends — RFC 6455 and ws's
 * reading of it — and that the server then closes the TCP connection itself. Where Autobahn
 * expects an echo server, the answer checked is the documented one instead (docs/protocol.md,
 * "WebSocket"): a valid text message is a JSON command (acked) or earns an error frame
 * (invalid_json, invalid_command), a binary one earns binary_frame. Describe names carry the
 * Autobahn section numbers; after each section the server still answers and a fresh client works.
 */
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../../server/app.js";
import { session, startServer, openConnections, until } from "../../helpers.js";
import { describe as showHttp, expectDocumentedError, rawHttp } from "../http/rawHttp.js";
import { OP, RSV1, RSV2, RSV3, RawWebSocket, closeFrame, closePayload, frame, show, textFrame, type FrameSpec } from "./ws-raw.js";

const ROOM = "ws-conformance";

let server: Wirelab;
let token: string;
let port: number;
let maxPayload: number;

beforeAll(async () => {
  // Well over a hundred opens from one address: the per-address open rate is not under test here.
  server = await startServer({
    connectsPerMinute: 100_000,
    // The server's own pings would interleave with the pongs and answers these cases read frame by frame.
    wsPingIntervalMs: 600_000,
  });
  port = Number(new URL(server.url).port);
  maxPayload = server.config.maxPayloadBytes;
  token = (await session(server)).token;
  // session()'s fetch leaves a keep-alive socket: let it go, so that every section can count the server's connections down to none.
  server.server.closeIdleConnections();
  await until(async () => (await connections()) === 0, "the setup's sockets to close");
});
afterAll(() => server?.close());

const open = () => RawWebSocket.open(port, { token, room: ROOM });

let ids = 0;
/** A send command with a fresh id. */
function command(text = "hello"): { id: string; json: string } {
  const id = `c-${++ids}`;
  return { id, json: JSON.stringify({ type: "send", id, text }) };
}
/** A valid send command padded with JSON whitespace to exactly `bytes` bytes. */
function commandOfLength(bytes: number): { id: string; json: string } {
  const { id, json } = command("padded");
  return { id, json: json + " ".repeat(bytes - Buffer.byteLength(json)) };
}

async function expectAck(ws: RawWebSocket, id: string): Promise<void> {
  const ack = await ws.reply("ack");
  expect(ack, show(ws.received)).toMatchObject({ id, seq: expect.any(Number) });
}

async function expectError(ws: RawWebSocket, code: string): Promise<void> {
  const error = await ws.reply("error");
  expect(error.code, show(ws.received)).toBe(code);
}

/** The server's close frame carries `code` (null: an empty close payload), nothing follows it, and the server ends the TCP connection. */
async function expectClosed(ws: RawWebSocket, code: number | null, reason?: string): Promise<void> {
  const ending = await ws.ending();
  const context = show(ws.received);
  expect(ending.close, `no close frame: ${context}`).not.toBeNull();
  expect(ending.close!.code, context).toBe(code);
  if (reason !== undefined) expect(ending.close!.reason, context).toBe(reason);
  expect(ending.afterClose, `frames after the close: ${context}`).toEqual([]);
  expect(ending.serverEnded, context).toBe(true);
}

/** A connection that is still fine: a send is acked, and a clean close (1000) is echoed. */
async function expectUsableThenClose(ws: RawWebSocket): Promise<void> {
  const { id, json } = command("still here");
  ws.send(textFrame(json));
  await expectAck(ws, id);
  ws.send(closeFrame(1000));
  await expectClosed(ws, 1000);
}

/** The texts of the message frames received so far (the fan-out of this connection's own sends). */
const texts = (ws: RawWebSocket) =>
  ws.received.filter((f) => f.opcode === OP.text).map((f) => JSON.parse(f.payload.toString("utf8")) as { type: string; message?: { text: string } }).filter((f) => f.type === "message").map((f) => f.message!.text);

/** Ids of the room's stored messages (a poll with its own socket). */
async function storedIds(): Promise<string[]> {
  const answer = await rawHttp(port, `GET /v1/rooms/${ROOM}/messages?since=0&limit=1000 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`, { halfClose: false });
  expect(answer.status, answer.raw).toBe(200);
  return (JSON.parse(answer.body.toString("utf8")) as { messages: Array<{ id: string }> }).messages.map((m) => m.id);
}

/** The last test of every section: the server still serves, a client of the ws library opens, sends and is acked, and no connection is left. */
function afterwardsTheServerStillServes(): void {
  test("afterwards: /healthz answers, a fresh ws client opens, sends and is acked, and the server holds no connection", async () => {
    const health = await rawHttp(port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`, { halfClose: false });
    expect(health.status).toBe(200);
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/rooms/${ROOM}/ws?token=${token}`);
    try {
      const frames: Array<Record<string, unknown>> = [];
      ws.on("message", (data) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
      await new Promise((resolve, reject) => {
        ws.once("open", resolve);
        ws.once("error", reject);
      });
      const { id, json } = command("fresh client");
      ws.send(json);
      await until(() => frames.some((f) => f.type === "ack" && f.id === id), "the fresh client's ack");
      expect(frames[0]?.type).toBe("hello");
    } finally {
      ws.terminate();
    }
    // Every connection of the section is closed, by the server or after the client went: none is left.
    await until(async () => (await connections()) === 0, "the server to hold no connection");
  });
}

const connections = () => openConnections(server);


describe("1.x framing: text and binary messages of every length encoding", () => {
  // 0–125 fit the 7-bit length, 126–65535 the 16-bit one, 65536 the 64-bit one (and is exactly maxPayload).
  const lengths = [0, 125, 126, 127, 65_535, 65_536];

  test.each(lengths)("1.1: a text message of %i bytes gets the documented answer (a padded send is acked, an empty one is invalid_json)", async (length) => {
    expect(length).toBeLessThanOrEqual(maxPayload);
    const ws = await open();
    if (length === 0) {
      ws.send(textFrame(""));
      await expectError(ws, "invalid_json");
    } else {
      const { id, json } = commandOfLength(length);
      const bytes = textFrame(json);
      expect(bytes[1]! & 0x7f).toBe(length <= 125 ? length : length <= 0xffff ? 126 : 127);
      ws.send(bytes);
      await expectAck(ws, id);
    }
    await expectUsableThenClose(ws);
  });

  test.each(lengths)("1.2: a binary message of %i bytes gets the binary_frame error, and the connection lives on", async (length) => {
    const ws = await open();
    ws.send(frame({ opcode: OP.binary, payload: Buffer.alloc(length, 0xfe) }));
    await expectError(ws, "binary_frame");
    await expectUsableThenClose(ws);
  });

  test.each([65_535, 65_536])("1.1.7–8: a text message of %i bytes written in chunks of 997 bytes is reassembled", async (length) => {
    const ws = await open();
    const { id, json } = commandOfLength(length);
    await ws.sendInChunks(textFrame(json), 997);
    await expectAck(ws, id);
    await expectUsableThenClose(ws);
  });

  test("a length in more bytes than it needs (16 or 64 bits for 5 bytes) is read as that length", async () => {
    // RFC 6455 §5.2 asks the sender for the minimal encoding; ws, like most servers, reads any.
    const ws = await open();
    const first = command("short");
    const second = command("short");
    ws.send(textFrame(first.json, { lengthBits: 16 }), textFrame(second.json, { lengthBits: 64 }));
    await expectAck(ws, first.id);
    await expectAck(ws, second.id);
    await expectUsableThenClose(ws);
  });

  test("a mask key of zeros is a mask key like any other", async () => {
    const ws = await open();
    const { id, json } = command();
    ws.send(textFrame(json, { maskKey: new Uint8Array(4) }));
    await expectAck(ws, id);
    await expectUsableThenClose(ws);
  });

  test("an unmasked client frame is a protocol error: 1002 (RFC 6455 §5.1)", async () => {
    const ws = await open();
    ws.send(textFrame(command().json, { masked: false }));
    await expectClosed(ws, 1002);
  });

  test("an unmasked control frame too: 1002", async () => {
    const ws = await open();
    ws.send(frame({ opcode: OP.ping, payload: "x", masked: false }));
    await expectClosed(ws, 1002);
  });

  afterwardsTheServerStillServes();
});

describe("2.x pings and pongs", () => {
  test("2.1: a ping without payload gets an empty pong", async () => {
    const ws = await open();
    ws.send(frame({ opcode: OP.ping }));
    const pong = await ws.next();
    expect(pong).toMatchObject({ opcode: OP.pong, fin: true, rsv: 0, masked: false });
    expect(pong.payload.length).toBe(0);
    await expectUsableThenClose(ws);
  });

  test.each([
    ["2.2: a text payload", Buffer.from("Hello, world!")],
    ["2.3: a binary payload", Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff])],
    ["2.4: 125 bytes, the most a control frame carries", Buffer.alloc(125, 0xfe)],
  ])("%s: the pong carries the same bytes", async (_name, payload) => {
    const ws = await open();
    ws.send(frame({ opcode: OP.ping, payload }));
    const pong = await ws.next();
    expect(pong.opcode).toBe(OP.pong);
    expect(pong.payload.equals(payload)).toBe(true);
    await expectUsableThenClose(ws);
  });

  test("2.5: a ping of 126 bytes is a protocol error: 1002, no pong", async () => {
    const ws = await open();
    ws.send(frame({ opcode: OP.ping, payload: Buffer.alloc(126, 0xfe) }));
    await expectClosed(ws, 1002);
  });

  test("2.6: a ping of 125 bytes written one byte at a time gets its pong", async () => {
    const ws = await open();
    const payload = Buffer.alloc(125, 0x61);
    await ws.sendInChunks(frame({ opcode: OP.ping, payload }), 1);
    const pong = await ws.next();
    expect(pong.opcode).toBe(OP.pong);
    expect(pong.payload.equals(payload)).toBe(true);
    await expectUsableThenClose(ws);
  });

  test("2.7–2.9: unsolicited pongs (empty or not) are ignored; a ping after them gets exactly one pong", async () => {
    const ws = await open();
    ws.send(frame({ opcode: OP.pong }), frame({ opcode: OP.pong, payload: "unsolicited" }), frame({ opcode: OP.ping, payload: "solicited" }));
    const next = await ws.next();
    expect(next.opcode).toBe(OP.pong);
    expect(next.payload.toString()).toBe("solicited");
    await expectUsableThenClose(ws);
  });

  test("2.10: ten pings in one write get ten pongs, in order", async () => {
    const ws = await open();
    ws.send(...Array.from({ length: 10 }, (_, i): FrameSpec => ({ opcode: OP.ping, payload: `ping ${i}` })));
    for (let i = 0; i < 10; i++) {
      const pong = await ws.next();
      expect(pong.opcode).toBe(OP.pong);
      expect(pong.payload.toString()).toBe(`ping ${i}`);
    }
    await expectUsableThenClose(ws);
  });

  test("2.11: ten pings written in chunks of one byte get ten pongs, in order", async () => {
    const ws = await open();
    await ws.sendInChunks(Buffer.concat(Array.from({ length: 10 }, (_, i) => frame({ opcode: OP.ping, payload: `ping ${i}` }))), 1);
    for (let i = 0; i < 10; i++) {
      const pong = await ws.next();
      expect(pong.opcode).toBe(OP.pong);
      expect(pong.payload.toString()).toBe(`ping ${i}`);
    }
    await expectUsableThenClose(ws);
  });

  test("a flood of pings (more than 60 before their pongs are written out) is cut, without a close frame", async () => {
    // ws's guard (maxPendingAutoPongs): a peer that only pings is made to pay for none of its pongs' buffering.
    const ws = await open();
    ws.send(...Array.from({ length: 100 }, (_, i): FrameSpec => ({ opcode: OP.ping, payload: `ping ${i}` })));
    // Cut (destroyed, a FIN or a reset): ending() resolves only once the connection is gone.
    const ending = await ws.ending();
    expect(ending.close, show(ws.received)).toBeNull();
    expect(ws.received.slice(1).every((f) => f.opcode === OP.pong)).toBe(true);
    expect(ws.received.length - 1).toBeLessThanOrEqual(60);
  });

  afterwardsTheServerStillServes();
});

describe("3.x reserved bits: set without a negotiated extension, 1002", () => {
  // permessage-deflate is off, so no RSV bit has a meaning (RFC 6455 §5.2).
  test("3.1: RSV1 on a text frame", async () => {
    const ws = await open();
    ws.send(textFrame(command().json, { rsv: RSV1 }));
    await expectClosed(ws, 1002);
  });

  test("3.2: RSV2 on a text frame after a valid send: the send is acked first", async () => {
    const ws = await open();
    const { id, json } = command();
    ws.send(textFrame(json));
    await expectAck(ws, id);
    ws.send(textFrame(command().json, { rsv: RSV2 }));
    await expectClosed(ws, 1002);
  });

  test("3.3: RSV3 on a text frame in the same write as a text that is not JSON: that one is answered first", async () => {
    const ws = await open();
    ws.send(textFrame("{oops"), textFrame(command().json, { rsv: RSV3 }), frame({ opcode: OP.ping, payload: "after" }));
    await expectError(ws, "invalid_json");
    // Nothing after the bad frame is read: no pong for the ping behind it.
    await expectClosed(ws, 1002);
  });

  test.each([
    ["3.4: RSV1+RSV2 on a text frame", textFrame(command().json, { rsv: RSV1 | RSV2 })],
    ["3.5: RSV1+RSV3 on a binary frame", frame({ opcode: OP.binary, payload: Buffer.from([1, 2, 3]), rsv: RSV1 | RSV3 })],
    ["3.6: RSV2+RSV3 on a ping", frame({ opcode: OP.ping, payload: "ping", rsv: RSV2 | RSV3 })],
    ["3.7: all three on a close", frame({ opcode: OP.close, payload: closePayload(1000), rsv: RSV1 | RSV2 | RSV3 })],
    ["RSV1 on a continuation", Buffer.concat([textFrame("{", { fin: false }), frame({ opcode: OP.continuation, payload: "}", rsv: RSV1 })])],
  ])("%s", async (_name, bytes) => {
    const ws = await open();
    ws.send(bytes);
    await expectClosed(ws, 1002);
  });

  afterwardsTheServerStillServes();
});

describe("4.x reserved opcodes: 1002", () => {
  test.each([3, 4, 5, 6, 7])("4.1: non-control opcode %i, empty and with a payload", async (opcode) => {
    for (const payload of ["", "reserved"]) {
      const ws = await open();
      ws.send(frame({ opcode, payload }));
      await expectClosed(ws, 1002);
    }
  });

  test.each([11, 12, 13, 14, 15])("4.2: control opcode %i, empty and with a payload", async (opcode) => {
    for (const payload of ["", "reserved"]) {
      const ws = await open();
      ws.send(frame({ opcode, payload }));
      await expectClosed(ws, 1002);
    }
  });

  test("4.1.3/4.2.3: a reserved opcode after a valid send and before a ping: the send is answered, the ping is not", async () => {
    const ws = await open();
    const { id, json } = command();
    ws.send(textFrame(json));
    await expectAck(ws, id);
    ws.send(frame({ opcode: 5, payload: "x" }), frame({ opcode: OP.ping, payload: "after" }));
    await expectClosed(ws, 1002);
    expect(ws.received.some((f) => f.opcode === OP.pong)).toBe(false);
  });

  afterwardsTheServerStillServes();
});

describe("5.x fragmentation", () => {
  /** `text` as a text frame and continuations, cut at `cuts` (byte offsets). */
  function fragments(text: string | Buffer, cuts: number[]): Buffer[] {
    const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
    const bounds = [0, ...cuts, bytes.length];
    return bounds.slice(0, -1).map((start, i) =>
      frame({ opcode: i === 0 ? OP.text : OP.continuation, fin: i === bounds.length - 2, payload: bytes.subarray(start, bounds[i + 1]) }),
    );
  }

  test("5.1: a ping in two fragments: 1002 (control frames MUST NOT be fragmented)", async () => {
    const ws = await open();
    ws.send(frame({ opcode: OP.ping, payload: "frag", fin: false }), frame({ opcode: OP.continuation, payload: "ment" }));
    await expectClosed(ws, 1002);
  });

  test("5.2: a pong in two fragments: 1002", async () => {
    const ws = await open();
    ws.send(frame({ opcode: OP.pong, payload: "frag", fin: false }), frame({ opcode: OP.continuation, payload: "ment" }));
    await expectClosed(ws, 1002);
  });

  test("5.3–5.5: a text message in two fragments, in one write and in two, is one message", async () => {
    const ws = await open();
    const first = command("fragmented once");
    ws.send(...fragments(first.json, [10]));
    await expectAck(ws, first.id);
    const second = command("fragmented, two writes");
    const [a, b] = fragments(second.json, [7]);
    await ws.sendInChunks(a!, a!.length);
    await ws.sendInChunks(b!, 3);
    await expectAck(ws, second.id);
    await until(() => texts(ws).length === 2, "both messages back");
    expect(texts(ws)).toEqual(["fragmented once", "fragmented, two writes"]);
    await expectUsableThenClose(ws);
  });

  test("5.6–5.8: a ping between the fragments is answered at once, and the message still arrives whole", async () => {
    const ws = await open();
    const { id, json } = command("with a ping inside");
    const [a, b] = fragments(json, [12]);
    ws.send(a!, frame({ opcode: OP.ping, payload: "inside" }), b!);
    const pong = await ws.next();
    expect(pong.opcode).toBe(OP.pong);
    expect(pong.payload.toString()).toBe("inside");
    await expectAck(ws, id);
    await expectUsableThenClose(ws);
  });

  test("5.9: a continuation (FIN set) with no message to continue: 1002", async () => {
    const ws = await open();
    ws.send(frame({ opcode: OP.continuation, payload: "nothing to continue" }));
    await expectClosed(ws, 1002);
  });

  test("5.10–5.11: a continuation (FIN clear) with no message to continue, one write and byte by byte: 1002", async () => {
    for (const chunk of [Infinity, 1]) {
      const ws = await open();
      const bytes = Buffer.concat([frame({ opcode: OP.continuation, fin: false, payload: "fragment1" }), textFrame("fragment2"), frame({ opcode: OP.continuation, payload: "fragment3" })]);
      await ws.sendInChunks(bytes, Math.min(chunk, bytes.length));
      await expectClosed(ws, 1002);
    }
  });

  test("5.15: a whole fragmented message, then a continuation of nothing: the message is answered, then 1002", async () => {
    const ws = await open();
    const { id, json } = command("complete");
    ws.send(...fragments(json, [5]));
    await expectAck(ws, id);
    ws.send(frame({ opcode: OP.continuation, payload: "stray" }));
    await expectClosed(ws, 1002);
  });

  test("5.18: a new text frame while a message is still in fragments: 1002", async () => {
    const ws = await open();
    ws.send(textFrame("{\"type\":", { fin: false }), textFrame(command().json));
    await expectClosed(ws, 1002);
  });

  test("a binary frame while a text message is in fragments: 1002", async () => {
    const ws = await open();
    ws.send(textFrame("{", { fin: false }), frame({ opcode: OP.binary, payload: "x" }));
    await expectClosed(ws, 1002);
  });

  test("5.19–5.20: a message in five fragments with pings between them, each written on its own: every pong, then the message", async () => {
    const ws = await open();
    const { id, json } = command("five fragments");
    const parts = fragments(json, [4, 12, 20, 30]);
    for (const [i, part] of parts.entries()) {
      await ws.sendInChunks(part, part.length);
      if (i < parts.length - 1) {
        await ws.sendInChunks(frame({ opcode: OP.ping, payload: `p${i}` }), 100);
        const pong = await ws.next();
        expect(pong.opcode).toBe(OP.pong);
        expect(pong.payload.toString()).toBe(`p${i}`);
      }
    }
    await expectAck(ws, id);
    await expectUsableThenClose(ws);
  });

  test("a binary message in fragments is one message: one binary_frame error", async () => {
    const ws = await open();
    ws.send(frame({ opcode: OP.binary, fin: false, payload: "ab" }), frame({ opcode: OP.continuation, fin: false, payload: "cd" }), frame({ opcode: OP.continuation, payload: "ef" }));
    await expectError(ws, "binary_frame");
    await expectUsableThenClose(ws);
  });

  test("6.1: empty fragments (all of them, or some) are fragments: an empty message is invalid_json, empty parts of a command change nothing", async () => {
    const ws = await open();
    ws.send(textFrame("", { fin: false }), frame({ opcode: OP.continuation, fin: false }), frame({ opcode: OP.continuation }));
    await expectError(ws, "invalid_json");
    const { id, json } = command("empty parts");
    ws.send(textFrame("", { fin: false }), frame({ opcode: OP.continuation, fin: false, payload: json }), frame({ opcode: OP.continuation }));
    await expectAck(ws, id);
    await expectUsableThenClose(ws);
  });

  afterwardsTheServerStillServes();
});

describe("6.x UTF-8", () => {
  test("6.2: valid multibyte text split at every byte, one fragment per byte, is accepted whole", async () => {
    const ws = await open();
    const text = "κόσμε — ✓ 😀 \uffff";
    const { id, json: body } = command(text);
    const bytes = Buffer.from(body);
    ws.send(...Array.from(bytes, (byte, i) => frame({ opcode: i === 0 ? OP.text : OP.continuation, fin: i === bytes.length - 1, payload: Buffer.from([byte]) })));
    await expectAck(ws, id);
    await until(() => texts(ws).length === 1, "the message back");
    expect(texts(ws)).toEqual([text]);
    await expectUsableThenClose(ws);
  });

  test("6.2: a 4-byte character split 1+3 and 2+2 across two fragments is accepted", async () => {
    const ws = await open();
    for (const cut of [1, 2]) {
      const { id, json: body } = command("😀");
      const bytes = Buffer.from(body);
      const at = bytes.indexOf(Buffer.from("😀")) + cut;
      ws.send(textFrame(bytes.subarray(0, at), { fin: false }), frame({ opcode: OP.continuation, payload: bytes.subarray(at) }));
      await expectAck(ws, id);
    }
    await expectUsableThenClose(ws);
  });

  /** Byte sequences that are not UTF-8 (RFC 3629): each one inside an otherwise valid JSON command. */
  const invalid: Array<[string, number[]]> = [
    ["a lone continuation byte", [0x80]],
    ["0xFE", [0xfe]],
    ["0xFF", [0xff]],
    ["an overlong '/' (C0 AF)", [0xc0, 0xaf]],
    ["an overlong NUL (E0 80 80)", [0xe0, 0x80, 0x80]],
    ["a UTF-16 surrogate (ED A0 80)", [0xed, 0xa0, 0x80]],
    ["past U+10FFFF (F4 90 80 80)", [0xf4, 0x90, 0x80, 0x80]],
    ["a truncated 3-byte sequence (E2 82)", [0xe2, 0x82]],
    ["a truncated 4-byte sequence (F0 9F 98)", [0xf0, 0x9f, 0x98]],
  ];

  test.each(invalid)("6.3–6.x: %s, inside a text message and at its very end: 1007", async (_name, sequence) => {
    const { json: body } = command("PLACE");
    const [before, after] = body.split("PLACE") as [string, string];
    for (const tail of [after, ""]) {
      const ws = await open();
      ws.send(textFrame(Buffer.concat([Buffer.from(before), Buffer.from(sequence), Buffer.from(tail)])));
      await expectClosed(ws, 1007);
    }
  });

  test.each(invalid.slice(0, 6))("6.4: %s in the second fragment of a text message: 1007", async (_name, sequence) => {
    const ws = await open();
    const { json: body } = command("x");
    ws.send(textFrame(body.slice(0, 20), { fin: false }), frame({ opcode: OP.continuation, payload: Buffer.concat([Buffer.from(body.slice(20, 25)), Buffer.from(sequence), Buffer.from(body.slice(25))]) }));
    await expectClosed(ws, 1007);
  });

  test("6.4: a character cut in two fragments that does not complete (E2 82 | 28): 1007", async () => {
    const ws = await open();
    ws.send(textFrame(Buffer.from([0x7b, 0xe2, 0x82]), { fin: false }), frame({ opcode: OP.continuation, payload: Buffer.from([0x28, 0x7d]) }));
    await expectClosed(ws, 1007);
  });

  test("invalid UTF-8 in a binary message is no UTF-8 question: binary_frame, the connection lives on", async () => {
    const ws = await open();
    ws.send(frame({ opcode: OP.binary, payload: Buffer.from([0xff, 0xfe, 0xc0, 0xaf]) }));
    await expectError(ws, "binary_frame");
    await expectUsableThenClose(ws);
  });

  afterwardsTheServerStillServes();
});

describe("7.x close handling", () => {
  test("7.1.1 / 7.3.1: a close without payload is answered with a close without payload", async () => {
    const ws = await open();
    ws.send(frame({ opcode: OP.close }));
    await expectClosed(ws, null);
  });

  test("7.1.2: two closes: one close comes back", async () => {
    const ws = await open();
    ws.send(closeFrame(1000), closeFrame(1001));
    await expectClosed(ws, 1000);
  });

  test("7.1.3–7.1.5: data and pings after a close are not acted on: nothing acked, stored or answered", async () => {
    const ws = await open();
    const after = command("after the close");
    const fragmented = command("fragmented around the close");
    const [a, b] = [textFrame(fragmented.json.slice(0, 10), { fin: false }), frame({ opcode: OP.continuation, payload: fragmented.json.slice(10) })];
    ws.send(a, closeFrame(1000), textFrame(after.json), frame({ opcode: OP.ping, payload: "after" }), b);
    await expectClosed(ws, 1000);
    // Only the hello before, only the close echo after.
    expect(ws.received.slice(1).filter((f) => f.opcode !== OP.close), show(ws.received)).toEqual([]);
    const stored = await storedIds();
    expect(stored).not.toContain(after.id);
    expect(stored).not.toContain(fragmented.id);
  });

  test("7.1.6: a close behind a large message: the message is answered, then the close; nothing after", async () => {
    const ws = await open();
    // A frame the server answers while it reads it; a send's ack would come after its store, too late to precede the close.
    ws.send(textFrame("x".repeat(60_000)), closeFrame(1000), frame({ opcode: OP.ping }));
    await expectError(ws, "invalid_json");
    await expectClosed(ws, 1000);
  });

  test("a send just before the close is stored, though its ack cannot follow the close (the kit sends it again by id)", async () => {
    const ws = await open();
    const { id, json } = command("just before the close");
    ws.send(textFrame(json), closeFrame(1000));
    await expectClosed(ws, 1000);
    // The store runs on after the close: poll for it.
    await until(async () => (await storedIds()).includes(id), `${id} to be stored`);
  });

  test("a client that ends the TCP connection without a close frame: the server ends its side too, with no close frame", async () => {
    const ws = await open();
    ws.end();
    const ending = await ws.ending();
    expect(ending.close).toBeNull();
    expect(ending.serverEnded).toBe(true);
  });

  test("7.3.2: a close payload of one byte: 1002", async () => {
    const ws = await open();
    ws.send(frame({ opcode: OP.close, payload: Buffer.from([0x03]) }));
    await expectClosed(ws, 1002);
  });

  test.each([
    ["7.3.3: 1000", ""],
    ["7.3.4: 1000 with a reason", "Hello World!"],
    ["7.3.5: 1000 with a reason of 123 bytes, the most that fits", "*".repeat(123)],
    ["1000 with a multibyte reason", "bye — ✓"],
  ])("%s is echoed, code and reason", async (_name, reason) => {
    const ws = await open();
    ws.send(closeFrame(1000, reason));
    await expectClosed(ws, 1000, reason);
  });

  test("7.3.6: 1000 with a reason of 124 bytes (a payload of 126): 1002", async () => {
    const ws = await open();
    ws.send(frame({ opcode: OP.close, payload: closePayload(1000, "*".repeat(124)) }));
    await expectClosed(ws, 1002);
  });

  test("7.5.1: a close reason that is not UTF-8: 1007", async () => {
    const ws = await open();
    ws.send(closeFrame(1000, Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64])));
    await expectClosed(ws, 1007);
  });

  // RFC 6455 §7.4.1 and the IANA registry: 1012–1014 were registered since; 3000–4999 are for libraries and applications.
  test.each([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999])("7.7: valid close code %i is echoed", async (code) => {
    const ws = await open();
    ws.send(closeFrame(code, "ok"));
    await expectClosed(ws, code, "ok");
  });

  test.each([0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65_535])("7.9: invalid close code %i: 1002", async (code) => {
    const ws = await open();
    ws.send(closeFrame(code));
    await expectClosed(ws, 1002);
  });

  afterwardsTheServerStillServes();
});

describe("9.x limits: messages up to and past maxPayload (64 KiB), 1009 past it", () => {
  test("9.1: a text message of exactly maxPayload in 16 fragments is accepted", async () => {
    const ws = await open();
    const { id, json } = commandOfLength(maxPayload);
    const bytes = Buffer.from(json);
    const size = maxPayload / 16;
    ws.send(...Array.from({ length: 16 }, (_, i) => frame({ opcode: i === 0 ? OP.text : OP.continuation, fin: i === 15, payload: bytes.subarray(i * size, (i + 1) * size) })));
    await expectAck(ws, id);
    await expectUsableThenClose(ws);
  });

  test.each([
    ["text", OP.text],
    ["binary", OP.binary],
  ])("9.1/9.2: a %s message of maxPayload + 1 bytes: 1009", async (_name, opcode) => {
    const ws = await open();
    ws.send(frame({ opcode, payload: Buffer.alloc(maxPayload + 1, 0x20) }));
    await expectClosed(ws, 1009);
  });

  test("9.1: fragments each far below maxPayload that add up to more: 1009", async () => {
    const ws = await open();
    const size = 4_096;
    const count = maxPayload / size + 1;
    ws.send(...Array.from({ length: count }, (_, i) => frame({ opcode: i === 0 ? OP.text : OP.continuation, fin: i === count - 1, payload: Buffer.alloc(size, 0x20) })));
    await expectClosed(ws, 1009);
  });

  test("a header that declares 4 GiB is refused from the header alone: 1009, without the payload ever coming", async () => {
    const ws = await open();
    ws.send(frame({ opcode: OP.text, payload: "{}", declaredLength: 2 ** 32 }));
    await expectClosed(ws, 1009);
  });

  test("a 64-bit length with its most significant bit set (RFC 6455 §5.2 forbids it): 1009, as ws reads any length past 2^53", async () => {
    for (const declaredLength of [2n ** 63n, 2n ** 64n - 1n, 2n ** 53n]) {
      const ws = await open();
      ws.send(frame({ opcode: OP.binary, payload: "x", declaredLength }));
      await expectClosed(ws, 1009);
    }
  });

  test("a message in more than 16,384 fragments (empty ones cost nothing else): 1008", async () => {
    const ws = await open();
    const empty = frame({ opcode: OP.continuation, fin: false, maskKey: new Uint8Array(4) });
    ws.send(textFrame("", { fin: false }), Buffer.concat(Array.from({ length: 16_384 }, () => empty)));
    await expectClosed(ws, 1008);
  });

  afterwardsTheServerStillServes();
});

describe("RFC 6455 §4.2: handshakes ws refuses itself get the documented JSON error", () => {
  const key = "dGhlIHNhbXBsZSBub25jZQ==";
  /** An upgrade request to the room's endpoint with the token, with header lines replaced or dropped (value null). */
  function handshake(changes: Record<string, string | null> = {}, method = "GET"): string {
    const headers: Record<string, string | null> = {
      Host: `127.0.0.1:${port}`,
      Connection: "Upgrade",
      Upgrade: "websocket",
      "Sec-WebSocket-Version": "13",
      "Sec-WebSocket-Key": key,
      ...changes,
    };
    const lines = Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== null).map(([name, value]) => `${name}: ${value}\r\n`);
    return `${method} /v1/rooms/${ROOM}/ws?token=${token} HTTP/1.1\r\n${lines.join("")}\r\n`;
  }
  const ask = (request: string) => rawHttp(port, request, { halfClose: false, timeoutMs: 3_000 });

  test("a handshake that is not a GET: 405 bad_request with Allow: GET, as JSON (was ws's text/html)", async () => {
    for (const method of ["POST", "PUT", "DELETE"]) {
      const request = handshake({}, method);
      const answer = await ask(request);
      expect(answer.status, showHttp(request, answer)).toBe(405);
      expect(expectDocumentedError(answer, showHttp(request, answer))).toBe("bad_request");
      // RFC 9110 §15.5.6: a 405 names the methods the resource takes.
      expect(answer.headers.allow, showHttp(request, answer)).toBe("GET");
    }
  });

  test.each([
    ["an Upgrade that is not websocket", { Upgrade: "h2c" }],
    ["no Sec-WebSocket-Key", { "Sec-WebSocket-Key": null }],
    ["a Sec-WebSocket-Key that is not 16 bytes of base64", { "Sec-WebSocket-Key": "c2hvcnQ=" }],
    ["a Sec-WebSocket-Key that is not base64 at all", { "Sec-WebSocket-Key": "!!!!!!!!!!!!!!!!!!!!!!==" }],
    ["a Sec-WebSocket-Protocol that is not a list of tokens", { "Sec-WebSocket-Protocol": "chat,,superchat" }],
    ["a Sec-WebSocket-Protocol that names one twice", { "Sec-WebSocket-Protocol": "chat, chat" }],
    ["a Sec-WebSocket-Protocol with a character no token has", { "Sec-WebSocket-Protocol": "ch@t" }],
  ])("%s: 400 bad_request, as JSON (was ws's text/html)", async (_name, changes) => {
    const request = handshake(changes);
    const answer = await ask(request);
    expect(answer.status, showHttp(request, answer)).toBe(400);
    expect(expectDocumentedError(answer, showHttp(request, answer))).toBe("bad_request");
  });

  test.each([
    ["a version the server does not speak", "12"],
    ["a version that is no number", "thirteen"],
    ["no version at all", null],
  ])("%s: 400 bad_request naming the versions it speaks (Sec-WebSocket-Version: 13, 8; RFC 6455 §4.4)", async (_name, version) => {
    const request = handshake({ "Sec-WebSocket-Version": version });
    const answer = await ask(request);
    expect(answer.status, showHttp(request, answer)).toBe(400);
    expect(expectDocumentedError(answer, showHttp(request, answer))).toBe("bad_request");
    expect(answer.headers["sec-websocket-version"], showHttp(request, answer)).toBe("13, 8");
  });

  test("the same bad handshake without a token is 401 first: authentication comes before anything else", async () => {
    const request = handshake({ "Sec-WebSocket-Key": null }).replace(`?token=${token}`, "");
    const answer = await ask(request);
    expect(answer.status, showHttp(request, answer)).toBe(401);
    expect(expectDocumentedError(answer, showHttp(request, answer))).toBe("unauthorized");
  });

  test("version 8 (the hybi-08 framing, the same as 13) is accepted", async () => {
    const request = handshake({ "Sec-WebSocket-Version": "8" });
    const answer = await ask(request);
    expect(answer.status, showHttp(request, answer)).toBe(101);
    expect(answer.headers["sec-websocket-accept"]).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });

  afterwardsTheServerStillServes();
});
