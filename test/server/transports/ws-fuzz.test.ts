/**
 * WebSocket fuzzing (fast-check, seeded, fixed runs), every frame and handshake written by hand
 * (ws-raw.ts):
 * - arbitrary frame sequences (any opcode, FIN, RSV bits, masked or not, any payload, fragments,
 *   declared lengths that lie) against a reference reading of RFC 6455 §5 (the model below): the
 *   server answers exactly its pongs and error frames, closes with exactly the code the model
 *   names, and then ends the TCP connection itself;
 * - almost-valid JSON commands: the documented error frame for each, and the connection stays
 *   usable, unless the size limit closes it (1009);
 * - handshake garbage (method, Upgrade, Sec-WebSocket-Key/-Version/-Protocol/-Extensions, Origin,
 *   token, room, cursor): a correct 101, or the documented JSON error with the status a model of
 *   the server's checks names.
 * Afterwards the server still answers, what it had accepted before is intact, and it holds no
 * more connections than at the start.
 *
 * FUZZ_SEED=n runs other inputs (the seed is printed); a failure prints the shrunk input.
 */
import { createHash, randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../../server/app.js";
import { ClientFrameSchema, PollResponseSchema } from "../../../web/src/isomorphic/protocol/index.js";
import { session, startServer, openConnections, until } from "../../helpers.js";
import { almost, wrongValue } from "../http/httpInputs.js";
import { describe as showHttp, expectDocumentedError, rawHttp, type RawAnswer } from "../http/rawHttp.js";
import { OP, RawWebSocket, closeFrame, closePayload, frame, show, textFrame, type FrameSpec, type ServerFrame } from "./ws-raw.js";

/** maxPayloadBytes by default (64 KiB): the inputs are built before the server runs; beforeAll checks it is the server's. */
const DEFAULT_MAX_PAYLOAD = 64 * 1024;
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_409);
const runs = (n: number) => ({ seed: SEED, numRuns: n });

let server: Wirelab;
let token: string;
let userId: string;
let port: number;
let maxPayload: number;
/** TCP connections the server held before any fuzzing. */
let connectionsBefore: number;
/** Messages stored before any fuzzing: they must come out of it intact, in order. */
const accepted: Array<{ seq: number; id: string; text: string }> = [];

const connections = () => openConnections(server);


/** One HTTP exchange on a socket of its own that closes (no keep-alive socket stays behind). */
const http = (request: string) => rawHttp(port, request, { halfClose: false });
const authed = (method: string, path: string, body = "") =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;

beforeAll(async () => {
  server = await startServer({
    // Hundreds of opens and sends from one address and session: the rate limits are not what is fuzzed.
    connectsPerMinute: 1_000_000,
    sendsPerSecond: 100_000,
    sendBurst: 100_000,
    // The server's own pings and heartbeat frames would interleave with the answers checked here.
    wsPingIntervalMs: 600_000,
  });
  port = Number(new URL(server.url).port);
  maxPayload = server.config.maxPayloadBytes;
  expect(maxPayload).toBe(DEFAULT_MAX_PAYLOAD);
  ({ token, user: { id: userId } } = await session(server));
  for (const text of ["before — ✓", "before 😀"]) {
    const id = `keep-${accepted.length}`;
    const answer = await http(authed("POST", "/v1/rooms/ws-fuzz-keep/messages", JSON.stringify({ id, text })));
    expect(answer.status, answer.raw).toBe(201);
    accepted.push({ seq: (JSON.parse(answer.body.toString("utf8")) as { seq: number }).seq, id, text });
  }
  // session()'s fetch leaves a keep-alive socket: let it go, so the count below is exact.
  server.server.closeIdleConnections();
  await until(async () => (await connections()) === 0, "the setup's sockets to close");
  connectionsBefore = await connections();
  console.log(`ws-fuzz: seed ${SEED}`);
});
afterAll(() => server?.close());

// ---------------------------------------------------------------------------------------------
// The reference: what a server that follows RFC 6455 §5 (as ws reads it) and docs/protocol.md
// answers to a byte stream. ws's own choices, each allowed by the RFC: a length past 2^53 is
// 1009, UTF-8 is checked when a text message (or a close reason) is complete.
// ---------------------------------------------------------------------------------------------

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const isUtf8 = (bytes: Uint8Array) => {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
};
/** RFC 6455 §7.4 and the IANA registry: what a peer may send in a close frame. */
const validCloseCode = (code: number) => (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);

/** What the server answers to one complete text message, per docs/protocol.md: an error frame now, or an ack later. */
function answerTo(text: string): { now: string } | { ackOf: string } | { later: true } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { now: "error invalid_json" };
  }
  const command = ClientFrameSchema.safeParse(parsed);
  if (!command.success) {
    const id = (parsed as { id?: unknown } | null)?.id;
    return { now: `error invalid_command${typeof id === "string" ? ` ${id}` : ""}` };
  }
  return command.data.type === "send" ? { ackOf: command.data.id } : { later: true };
}

interface Expected {
  /** Pongs and error frames, in order: the answers the server gives while it reads. */
  answers: string[];
  /** Ids of valid sends: each may be acked (if the store finishes before the close). */
  sends: Set<string>;
  /** The close frame (null code: an empty one), or "incomplete": the stream stops inside a frame and the server waits for more. */
  end: { code: number | null; reason: string } | "incomplete";
}

function expected(stream: Buffer): Expected {
  const answers: string[] = [];
  const sends = new Set<string>();
  const close = (code: number | null, reason = "") => ({ answers, sends, end: { code, reason } });
  let at = 0;
  /** The opcode of the message in fragments (0: none), its parts and its length so far. */
  let fragmented = 0;
  let parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    const need = (n: number) => stream.length - at >= n;
    if (!need(2)) return { answers, sends, end: "incomplete" };
    const b0 = stream[at]!;
    const b1 = stream[at + 1]!;
    at += 2;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    let length = b1 & 0x7f;
    // §5.2: RSV bits need an extension (none is negotiated); §5.4: control frames are whole and small.
    if ((b0 & 0x70) !== 0) return close(1002);
    if (opcode === OP.continuation) {
      if (!fragmented) return close(1002);
    } else if (opcode === OP.text || opcode === OP.binary) {
      if (fragmented) return close(1002);
    } else if (opcode >= OP.close && opcode <= OP.pong) {
      if (!fin || length > 125 || (opcode === OP.close && length === 1)) return close(1002);
    } else return close(1002);
    const kind = opcode === OP.continuation ? fragmented : opcode;
    if (!fin && opcode < OP.close && !fragmented) fragmented = opcode;
    // §5.3: a client MUST mask.
    if ((b1 & 0x80) === 0) return close(1002);
    if (length === 126) {
      if (!need(2)) return { answers, sends, end: "incomplete" };
      length = stream.readUInt16BE(at);
      at += 2;
    } else if (length === 127) {
      if (!need(8)) return { answers, sends, end: "incomplete" };
      const long = stream.readBigUInt64BE(at);
      at += 8;
      if (long > BigInt(Number.MAX_SAFE_INTEGER)) return close(1009);
      length = Number(long);
    }
    if (opcode < OP.close && length > 0) {
      total += length;
      if (total > maxPayload) return close(1009);
    }
    if (!need(4 + length)) return { answers, sends, end: "incomplete" };
    const key = stream.subarray(at, at + 4);
    const payload = Buffer.from(stream.subarray(at + 4, at + 4 + length).map((byte, i) => byte ^ key[i % 4]!));
    at += 4 + length;
    if (opcode === OP.close) {
      if (length === 0) return close(null);
      const code = payload.readUInt16BE(0);
      if (!validCloseCode(code)) return close(1002);
      if (!isUtf8(payload.subarray(2))) return close(1007);
      return close(code, payload.subarray(2).toString("utf8"));
    }
    if (opcode === OP.ping) answers.push(`pong ${payload.toString("hex")}`);
    if (opcode >= OP.close) continue;
    parts.push(payload);
    if (!fin) continue;
    const message = Buffer.concat(parts);
    fragmented = 0;
    parts = [];
    total = 0;
    if (kind === OP.binary) {
      answers.push("error binary_frame");
      continue;
    }
    if (!isUtf8(message)) return close(1007);
    const answer = answerTo(utf8.decode(message));
    if ("now" in answer) answers.push(answer.now);
    else if ("ackOf" in answer) sends.add(answer.ackOf);
  }
}

/** A server frame as the model spells it; null for frames that may come at any time (acks, the fan-out). */
function spelled(f: ServerFrame): string {
  if (f.opcode === OP.pong) return `pong ${f.payload.toString("hex")}`;
  if (f.opcode !== OP.text) return `opcode ${f.opcode}`;
  const json = JSON.parse(f.payload.toString("utf8")) as { type: string; code?: string; id?: string };
  if (json.type === "error" && (json.code === "invalid_json" || json.code === "invalid_command" || json.code === "binary_frame")) {
    return `error ${json.code}${json.code === "invalid_command" && json.id !== undefined ? ` ${json.id}` : ""}`;
  }
  return `${json.type}${json.code ? ` ${json.code}` : ""}`;
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

/** Ids of the valid sends the fuzz makes: a fan-out of one may reach a later run's connection. */
const SEND_IDS = ["fz-1", "fz-2", "fz-3"];
const TEXTS = [
  ...SEND_IDS.map((id) => JSON.stringify({ type: "send", id, text: `fuzz ${id} ✓` })),
  JSON.stringify({ type: "send", id: "fz-bad", text: "" }),
  JSON.stringify({ type: "shout" }),
  "{oops",
  "",
  "[1]",
  "null",
  "\ufeff{}",
  '{"type":"send","id":"fz-1","text":"x","sentAt":-1}',
];
const INVALID_UTF8 = [[0x80], [0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x7b, 0xe2, 0x82]].map((b) => Buffer.from(b));
const CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999, 0, 999, 1004, 1005, 1006, 1015, 2999, 5000];

const payloadArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 32 }).map((b) => Buffer.from(b)) },
  { weight: 4, arbitrary: fc.constantFrom(...TEXTS).map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }).map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.constantFrom(...INVALID_UTF8) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.oneof(fc.constantFrom(...CLOSE_CODES), fc.integer({ min: 0, max: 65_535 })), fc.oneof(fc.string({ maxLength: 8 }).map((s) => Buffer.from(s)), fc.constantFrom(...INVALID_UTF8)))
      .map(([code, reason]) => closePayload(code, reason)),
  },
  { weight: 1, arbitrary: fc.integer({ min: 123, max: 127 }).map((n) => Buffer.alloc(n, 0x20)) },
);

/** How the length is written: true to the payload (mostly), in more bits than needed, off by a few, or huge. */
const lengthArb: fc.Arbitrary<(payload: Buffer) => Partial<FrameSpec>> = fc.oneof(
  { weight: 30, arbitrary: fc.constant(() => ({})) },
  { weight: 1, arbitrary: fc.constantFrom(16 as const, 64 as const).map((lengthBits) => () => ({ lengthBits })) },
  // Off by a few (what follows is read as the rest, or as the next header), or far more than follows (the server waits).
  { weight: 1, arbitrary: fc.integer({ min: -4, max: 4 }).map((delta) => (payload: Buffer) => ({ declaredLength: Math.max(0, payload.length + delta) })) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 1_000 }).map((delta) => (payload: Buffer) => ({ declaredLength: payload.length + delta })) },
  { weight: 1, arbitrary: fc.constantFrom(DEFAULT_MAX_PAYLOAD + 1, 2 ** 32, 2n ** 53n, 2n ** 63n).map((declaredLength) => () => ({ declaredLength })) },
);

const anyFrame: fc.Arbitrary<Buffer> = fc
  .record({
    opcode: fc.oneof(
      { weight: 4, arbitrary: fc.constant(OP.text) },
      { weight: 1, arbitrary: fc.constant(OP.continuation) },
      { weight: 1, arbitrary: fc.constant(OP.binary) },
      { weight: 2, arbitrary: fc.constant(OP.ping) },
      { weight: 1, arbitrary: fc.constant(OP.pong) },
      { weight: 1, arbitrary: fc.constant(OP.close) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) },
    ),
    fin: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    rsv: fc.oneof({ weight: 25, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) }),
    masked: fc.oneof({ weight: 30, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    payload: payloadArb,
    length: lengthArb,
  })
  .map(({ length, ...spec }) => frame({ ...spec, ...length(spec.payload) }));

/** A well-formed message in fragments, with control frames between them: the shape a conforming client sends. */
const fragmentedMessage: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.constantFrom(OP.text, OP.binary),
    payloadArb,
    fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
    fc.array(fc.option(fc.constantFrom(OP.ping, OP.pong), { nil: undefined }), { maxLength: 4 }),
  )
  .map(([opcode, payload, cuts, controls]) => {
    const bounds = [0, ...cuts.map((c) => c % (payload.length + 1)).sort((a, b) => a - b), payload.length];
    return Buffer.concat(
      bounds.slice(0, -1).flatMap((start, i) => {
        const part = frame({ opcode: i === 0 ? opcode : OP.continuation, fin: i === bounds.length - 2, payload: payload.subarray(start, bounds[i + 1]) });
        const control = controls[i];
        return control === undefined ? [part] : [part, frame({ opcode: control, payload: `c${i}` })];
      }),
    );
  });

const frameSequence = fc.array(fc.oneof({ weight: 4, arbitrary: anyFrame }, { weight: 1, arbitrary: fragmentedMessage }), { minLength: 1, maxLength: 10 });

// ---------------------------------------------------------------------------------------------

describe("fuzzing the frames of an open WebSocket", () => {
  test("any frame sequence: exactly the model's pongs and error frames, its close code, then the TCP connection ends", async () => {
    await fc.assert(
      fc.asyncProperty(frameSequence, fc.constantFrom("one write", "one write", "chunks", "with the handshake"), fc.integer({ min: 1, max: 64 }), async (frames, how, chunk) => {
        // The client's own close last: a stream the server has not closed by then ends with its echo.
        const stream = Buffer.concat([...frames, closeFrame(1000, "fuzz done")]);
        const model = expected(stream);
        const early = how === "with the handshake";
        const ws = await RawWebSocket.open(port, { token, room: "ws-fuzz-frames", ...(early && { early: stream }) });
        try {
          if (how === "chunks") await ws.sendInChunks(stream, chunk);
          else if (!early) ws.send(stream);
          // The server waits for the rest of a frame the stream cut short: the client goes, the server follows.
          if (model.end === "incomplete") ws.end();
          const ending = await ws.ending();
          // The hello leads, unless the frames came with the handshake: then it may come anywhere before the close, or not at all.
          const frames = early ? ws.received.filter((f) => !(f.opcode === OP.text && f.payload.includes('"type":"hello"'))) : ws.received.slice(1);
          const context = `sent ${stream.toString("hex").slice(0, 400)}\nexpected ${JSON.stringify({ ...model, sends: [...model.sends] })}\ngot ${show(frames)}`;
          const closeAt = frames.findIndex((f) => f.opcode === OP.close);
          const beforeClose = closeAt < 0 ? frames : frames.slice(0, closeAt);
          const strict = beforeClose.map(spelled).filter((s) => !/^(ack|message)\b/.test(s));
          expect(strict, context).toEqual(model.answers);
          for (const f of beforeClose) {
            const s = spelled(f);
            const json = f.opcode === OP.text ? (JSON.parse(f.payload.toString("utf8")) as { id?: string; message?: { id: string } }) : {};
            if (s === "ack") expect(model.sends.has(json.id!), `an ack for ${json.id}\n${context}`).toBe(true);
            if (s === "message") expect(SEND_IDS, `a message frame of ${json.message?.id}\n${context}`).toContain(json.message?.id);
          }
          if (model.end === "incomplete") expect(ending.close, context).toBeNull();
          else {
            expect(ending.close, context).toEqual(model.end);
            expect(ending.afterClose, context).toEqual([]);
          }
          expect(ending.serverEnded, `the server did not end the TCP connection\n${context}`).toBe(true);
        } finally {
          ws.destroy();
        }
      }),
      runs(600),
    );
    await expectStillServing();
  });
});

describe("fuzzing the commands: almost-valid JSON text frames", () => {
  const validSend = { type: "send", id: "fz-cmd", text: "hello", sentAt: 1_795_931_000_000 };
  const command: fc.Arbitrary<string> = fc.oneof(
    { weight: 6, arbitrary: almost(validSend).map((v) => JSON.stringify(v) ?? "null") },
    { weight: 2, arbitrary: almost({ type: "refresh", token: "x" }).map((v) => JSON.stringify(v) ?? "null") },
    { weight: 1, arbitrary: fc.tuple(almost(validSend), fc.nat()).map(([v, cut]) => { const s = JSON.stringify(v) ?? "null"; return s.slice(0, cut % (s.length + 1)); }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: wrongValue.map((v) => JSON.stringify(v) ?? "null") },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        // Deep nesting, within the size limit and past what a recursive parser would survive.
        "[".repeat(30_000) + "]".repeat(30_000),
        `{"type":"send","id":"fz-deep","text":${"[".repeat(10_000)}${"]".repeat(10_000)}}`,
        // Huge strings: just under the limit (refused by the schema), and past it (1009).
        JSON.stringify({ type: "send", id: "fz-huge", text: "x".repeat(60_000) }),
        JSON.stringify({ type: "send", id: "fz-huge", text: "x".repeat(70_000) }),
        JSON.stringify({ type: "send", id: "x".repeat(70_000), text: "y" }),
        JSON.stringify({ type: "send", id: "fz-proto", text: "hi", __proto__: { admin: true } }),
        '{"type":"send","id":"fz-dup","text":"a","text":"b"}',
        '{"type":"send","id":"fz-nul","text":"\\u0000"}',
        '{"type":"refresh","token":"' + "t".repeat(5_000) + '"}',
      ),
    },
  );

  test("each gets the documented answer (invalid_json, invalid_command with its id, an ack, a refresh answer), and a send afterwards is acked; past the size limit, 1009", async () => {
    let ws: RawWebSocket | undefined;
    let n = 0;
    try {
      await fc.assert(
        fc.asyncProperty(command, fc.boolean(), async (text, withRealToken) => {
          // A refresh with the connection's own token is the valid refresh.
          if (withRealToken) text = text.replace('"token":"x"', `"token":"${token}"`);
          ws ??= await RawWebSocket.open(port, { token, room: "ws-fuzz-commands" });
          const context = `sent ${JSON.stringify(text.slice(0, 300))}`;
          ws.send(textFrame(text));
          if (Buffer.byteLength(text) > maxPayload) {
            const ending = await ws.ending();
            ws = undefined;
            expect(ending.close?.code, `${context}\ngot ${show(ending.afterClose)}`).toBe(1009);
            expect(ending.serverEnded, context).toBe(true);
            return;
          }
          const answer = answerTo(text);
          const after = `fz-after-${++n}`;
          ws.send(textFrame(JSON.stringify({ type: "send", id: after, text: "still usable" })));
          // Answers to the fuzzed frame and to the send after it; acks (and refresh answers) come when their work is done.
          const seen: Array<{ type: string; code?: string; id?: string }> = [];
          // Acks of two sends may come in either order: wait for each one expected.
          const acks = "ackOf" in answer ? [after, answer.ackOf] : [after];
          while (!acks.every((id) => seen.some((f) => f.type === "ack" && f.id === id))) {
            const next = await ws.next();
            const json = JSON.parse(next.payload.toString("utf8")) as { type: string; code?: string; id?: string };
            if (json.type !== "message") seen.push(json);
          }
          const got = `${context}\ngot ${JSON.stringify(seen).slice(0, 600)}`;
          if ("now" in answer) {
            expect(spelledJson(seen[0]!), got).toBe(answer.now);
            expect(seen.length, got).toBe(2);
          } else if ("ackOf" in answer) {
            expect(seen.filter((f) => f.type === "ack").map((f) => f.id).sort(), got).toEqual([answer.ackOf, after].sort());
          } else {
            // A refresh: refreshed with the connection's own token, an unauthorized error with any other.
            const refresh = ClientFrameSchema.parse(JSON.parse(text)) as { token: string };
            expect(seen.length, got).toBe(2);
            expect(seen.find((f) => f.type !== "ack"), got).toMatchObject(refresh.token === token ? { type: "refreshed" } : { type: "error", code: "unauthorized" });
          }
        }),
        runs(300),
      );
    } finally {
      ws?.destroy();
    }
    await expectStillServing();
  });
});

function spelledJson(json: { type: string; code?: string; id?: string }): string {
  return `${json.type}${json.code ? ` ${json.code}` : ""}${json.code === "invalid_command" && json.id !== undefined ? ` ${json.id}` : ""}`;
}

describe("fuzzing the handshake", () => {
  const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  const own = () => `http://127.0.0.1:${port}`;
  /** A header that may be missing, with its value: "absent" drops it. */
  const header = (valid: string, others: fc.Arbitrary<string>, weight = 4) => fc.oneof({ weight, arbitrary: fc.constant(valid) }, { weight: 1, arbitrary: others });
  const handshake = fc.record({
    method: header("GET", fc.constantFrom("POST", "PUT", "DELETE", "HEAD", "OPTIONS"), 8),
    connection: header("Upgrade", fc.constantFrom("keep-alive, Upgrade", "upgrade", "close", "absent")),
    upgrade: header("websocket", fc.constantFrom("WebSocket", "WEBSOCKET", "h2c", "websocket/13", "websocket, h2c")),
    key: header("valid", fc.oneof(fc.constantFrom("absent", "twice", "c2hvcnQ=", "!!!!!!!!!!!!!!!!!!!!!!==", "dGhlIHNhbXBsZSBub25jZQ", ""), fc.uint8Array({ minLength: 1, maxLength: 24 }).map((b) => Buffer.from(b).toString("base64")))),
    version: header("13", fc.oneof(fc.constantFrom("8", "7", "12", "99", "", "13, 8", "thirteen", "absent", " 13", "13.0", "0x0d", "-13"), fc.string({ maxLength: 4 }))),
    protocol: fc.oneof(
      { weight: 4, arbitrary: fc.constant("absent") },
      fc.constantFrom("chat", "chat, superchat", "wirelab.v1", "chat,,superchat", "chat, chat", "ch@t", "", " chat ", "chat superchat"),
      fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,8}(, ?[!#$%&'*+.^_`|~0-9A-Za-z-]{1,8}){0,2}$/),
      // Printable only: header bytes HTTP cannot carry are the HTTP fuzz's part.
      fc.string({ maxLength: 12 }),
    ),
    extensions: fc.oneof({ weight: 4, arbitrary: fc.constant("absent") }, fc.constantFrom("permessage-deflate", "permessage-deflate; client_max_window_bits", "permessage-deflate; server_max_window_bits=99", ";;;", "x-webkit-deflate-frame", "", "permessage-deflate, permessage-deflate")),
    origin: fc.oneof({ weight: 4, arbitrary: fc.constant("absent") }, fc.constantFrom("own", "localhost", "http://evil.example", "null", "garbage")),
    auth: header("query", fc.constantFrom("header", "none", "garbage", "padded")),
    room: header("ws-fuzz-handshake", fc.constantFrom("Bad", "a".repeat(33), "%zz")),
    since: fc.oneof({ weight: 4, arbitrary: fc.constant("absent") }, fc.constantFrom("0", "5", "-1", "x", "1.5", "9007199254740992")),
  });
  type Handshake = typeof handshake extends fc.Arbitrary<infer T> ? T : never;

  const tchars = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
  /** RFC 6455 §4.1: a comma-separated list of unique tokens (ws does not take empty elements). */
  const protocolListOk = (value: string) => {
    const items = value.split(",").map((s) => s.replace(/^[ \t]+|[ \t]+$/g, ""));
    return items.every((s) => tchars.test(s)) && new Set(items).size === items.length;
  };
  /** ws's reading of the version: a number that is 13 or 8 (so " 13" and "13.0" pass, as Node trims and Number() reads them). */
  const versionOk = (value: string | undefined) => value !== undefined && (Number(value) === 13 || Number(value) === 8);

  function build(h: Handshake, key: string): string {
    const query = [h.auth === "query" ? `token=${token}` : h.auth === "garbage" ? "token=not.a.jwt" : h.auth === "padded" ? `token=${token}=` : "", h.since !== "absent" ? `since=${encodeURIComponent(h.since)}` : ""].filter(Boolean).join("&");
    const lines: string[] = [`${h.method} /v1/rooms/${h.room}/ws${query ? `?${query}` : ""} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
    if (h.connection !== "absent") lines.push(`Connection: ${h.connection}`);
    lines.push(`Upgrade: ${h.upgrade}`);
    if (h.key === "twice") lines.push(`Sec-WebSocket-Key: ${key}`, `Sec-WebSocket-Key: ${key}`);
    else if (h.key !== "absent") lines.push(`Sec-WebSocket-Key: ${h.key === "valid" ? key : h.key}`);
    if (h.version !== "absent") lines.push(`Sec-WebSocket-Version: ${h.version}`);
    if (h.protocol !== "absent") lines.push(`Sec-WebSocket-Protocol: ${h.protocol}`);
    if (h.extensions !== "absent") lines.push(`Sec-WebSocket-Extensions: ${h.extensions}`);
    if (h.origin !== "absent") lines.push(`Origin: ${h.origin === "own" ? own() : h.origin === "localhost" ? `http://localhost:${port}` : h.origin}`);
    if (h.auth === "header") lines.push(`Authorization: Bearer ${token}`);
    return `${lines.join("\r\n")}\r\n\r\n`;
  }

  /**
   * The status the server's checks give, in their order (server/app.ts, WebSocketTransport, ws's
   * handleUpgrade), and which check it was; status undefined where only "a documented error" is
   * promised (a request that is no upgrade at all is an ordinary HTTP request).
   */
  function verdict(h: Handshake, key: string): { status: number | undefined; check: string } {
    const is = (status: number | undefined, check: string) => ({ status, check });
    if (!["absent", "own", "localhost"].includes(h.origin)) return is(403, "origin");
    if (h.connection === "absent" || !/(^|,)\s*upgrade\s*(,|$)/i.test(h.connection)) return is(undefined, "no upgrade");
    if (h.auth === "none" || h.auth === "garbage" || h.auth === "padded") return is(401, "token");
    if (h.room !== "ws-fuzz-handshake") return is(400, "room");
    if (h.since !== "absent" && !(/^\d{1,16}$/.test(h.since) && Number.isSafeInteger(Number(h.since)))) return is(400, "since");
    if (h.method !== "GET") return is(405, "method");
    if (h.upgrade.toLowerCase() !== "websocket") return is(400, "upgrade");
    if (h.key === "absent" || h.key === "twice" || !/^[+/0-9A-Za-z]{22}==$/.test(h.key === "valid" ? key : h.key)) return is(400, "key");
    if (!versionOk(h.version === "absent" ? undefined : h.version.trim())) return is(400, "version");
    if (h.protocol !== "absent" && !protocolListOk(h.protocol.trim())) return is(400, "protocol");
    return is(101, "none");
  }

  test("any handshake: a correct 101, or the documented JSON error with the status of the check that refused it", async () => {
    await fc.assert(
      fc.asyncProperty(handshake, async (h) => {
        const key = randomBytes(16).toString("base64");
        const request = build(h, key);
        const answer: RawAnswer = await rawHttp(port, request, { halfClose: false, head: h.method === "HEAD", timeoutMs: 5_000 });
        const context = showHttp(request, answer);
        const { status, check } = verdict(h, key);
        expect(answer.timedOut, `no answer in time\n${context}`).toBe(false);
        if (status !== undefined) expect(answer.status, `refused by the ${check} check?\n${context}`).toBe(status);
        else expect(answer.status, `an upgrade without Connection: Upgrade\n${context}`).not.toBe(101);
        if (answer.status === 101) {
          expect(answer.headers["sec-websocket-accept"], context).toBe(createHash("sha1").update(key + GUID).digest("base64"));
          // The server speaks no subprotocol and no extension (permessage-deflate is off): it agrees to none.
          expect(answer.headers["sec-websocket-protocol"], context).toBeUndefined();
          expect(answer.headers["sec-websocket-extensions"], context).toBeUndefined();
          return;
        }
        // No upgrade, an OPTIONS: an ordinary preflight answer.
        if (check === "no upgrade" && h.method === "OPTIONS" && answer.status === 204) return;
        const code = expectDocumentedError(answer, context, { head: h.method === "HEAD" });
        // A HEAD answer's body is not read: no code to compare.
        if (h.method === "HEAD") return;
        if (check === "token") expect(code, context).toBe("unauthorized");
        if (check === "origin") expect(code, context).toBe("forbidden_origin");
        if (check === "room") expect(code, context).toBe("bad_room");
        if (check === "since") expect(code, context).toBe("bad_query");
        if (status === 101 || status === undefined) return;
        // RFC 9110 §15.5.6 and RFC 6455 §4.4: a 405 names the methods, a version refusal the versions.
        expect(answer.headers.allow, context).toBe(check === "method" ? "GET" : undefined);
        expect(answer.headers["sec-websocket-version"], context).toBe(check === "version" ? "13, 8" : undefined);
      }),
      runs(600),
    );
    await expectStillServing();
  });
});

async function expectStillServing(): Promise<void> {
  const health = await http(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
  expect(health.status, health.raw).toBe(200);
}

/** Inputs this suite found, each a bug fixed in the server. */
describe("found by fuzzing (regressions)", () => {
  test("a 101 agrees to no subprotocol (it echoed the first one offered, which the server does not speak)", async () => {
    // RFC 6455 §4.2.2: a server that does not agree to one of the client's subprotocols MUST NOT
    // send Sec-WebSocket-Protocol. ws picks the first offered unless told otherwise.
    const ws = await RawWebSocket.open(port, { token, room: "ws-fuzz-handshake", headers: [["Sec-WebSocket-Protocol", "mqtt, chat"]] });
    try {
      expect(ws.headers["sec-websocket-protocol"]).toBeUndefined();
      const id = "fz-subprotocol";
      ws.send(textFrame(JSON.stringify({ type: "send", id, text: "no subprotocol" })));
      expect(await ws.reply("ack")).toMatchObject({ id });
    } finally {
      ws.destroy();
    }
  });
});

describe("after the fuzzing", () => {
  test("the server still answers, the messages accepted before are intact, and it holds no more connections than before", async () => {
    await expectStillServing();
    const page = await http(authed("GET", "/v1/rooms/ws-fuzz-keep/messages?since=0&limit=1000"));
    const { messages } = PollResponseSchema.parse(JSON.parse(page.body.toString("utf8")));
    expect(messages.map(({ seq, id, text }) => ({ seq, id, text }))).toEqual(accepted);
    // A fresh connection still works end to end.
    const ws = await RawWebSocket.open(port, { token, room: "ws-fuzz-keep", query: "&since=0" });
    expect((await ws.reply("message")).message).toMatchObject({ id: "keep-0" });
    ws.send(closeFrame(1000));
    expect((await ws.ending()).close).toEqual({ code: 1000, reason: "" });
    // Every socket of this file is closed by the client by now: the server must let go of each.
    await until(async () => (await connections()) === connectionsBefore, `the connection count to return to ${connectionsBefore}`);
    await until(async () => server.connections.heldBy(userId) === 0, "the registry to hold none of this user's connections");
  });
});
