/**
 * HTTP fuzzing (fast-check, seeded, fixed runs): arbitrary and almost-right requests to every
 * route — methods, paths, query parameters, headers, bodies, framing, raw bytes — each written
 * byte for byte over its own socket. The server never answers client garbage with a 5xx, never
 * leaves a request hanging, answers every error with the documented JSON body and a documented
 * code for its status, keeps answering /healthz, and loses nothing it had accepted.
 *
 * FUZZ_SEED=n runs other inputs (the seed is printed); a failure prints the shrunk request.
 * The regressions at the end are the inputs this suite found, each fixed in the server.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../../server/app.js";
import { PollResponseSchema, SendRequestSchema, SessionRequestSchema, type Message } from "../../../web/src/isomorphic/protocol/index.js";
import { AssignmentRequestSchema, CheckinRequestSchema, SettingsRequestSchema, SubmissionRequestSchema } from "../../../web/src/isomorphic/protocol/class.js";
import { session, startServer, openConnections, until } from "../../helpers.js";
import { FUZZ_ROOMS, VALID_BODIES, almost, anyRequest, numberText, roomSegment } from "./httpInputs.js";
import { describe as show, encodeRequest, expectDocumentedError, rawHttp, type RawAnswer, type RequestSpec } from "./rawHttp.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_407);
const runs = (n: number) => ({ seed: SEED, numRuns: n });

let server: Wirelab;
let token: string;
let port: number;
/** Messages stored before any fuzzing: they must come out of it intact, in order. */
const accepted: Message[] = [];

beforeAll(async () => {
  server = await startServer();
  token = (await session(server)).token;
  port = Number(new URL(server.url).port);
  for (const text of ["first", "second — ✓", "third 😀"]) {
    const response = await fetch(`${server.url}/v1/rooms/fuzz-keep/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ id: `keep-${accepted.length}`, text }),
    });
    expect(response.status).toBe(201);
    const { seq, ts } = (await response.json()) as { seq: number; ts: number };
    accepted.push({ seq, ts, id: `keep-${accepted.length}`, text, room: "fuzz-keep", from: { id: "", name: "ada" } });
  }
  console.log(`fuzz-http: seed ${SEED}`);
});
afterAll(() => server?.close());

const isStream = (body: string) => /event:hello\n[^]*?\n\n/.test(body);

/** Send one request as bytes and read its answer. */
function send(spec: RequestSpec, halfClose = spec.framing === "longer"): Promise<{ bytes: Buffer; answer: RawAnswer }> {
  const bytes = encodeRequest(spec);
  return rawHttp(port, bytes, { head: spec.method.toUpperCase() === "HEAD", halfClose, until: isStream, timeoutMs: 5_000 }).then((answer) => ({ bytes, answer }));
}

/** What every answer to anything must be: prompt, no 5xx, errors documented, successes readable. */
function expectSound(spec: RequestSpec, bytes: Buffer, answer: RawAnswer): void {
  const context = show(bytes, answer);
  expect(answer.timedOut, `no answer within 5 s\n${context}`).toBe(false);
  expect(answer.status, `the connection closed without an answer\n${context}`).not.toBe(0);
  expect(answer.status, `a 5xx for client input\n${context}`).toBeLessThan(500);
  if (answer.status >= 400) {
    expectDocumentedError(answer, context, { head: spec.method.toUpperCase() === "HEAD" });
  } else if (answer.status >= 200 && /json/.test(answer.headers["content-type"] ?? "") && spec.method.toUpperCase() !== "HEAD") {
    expect(() => JSON.parse(answer.body.toString("utf8")), `a success that is not JSON\n${context}`).not.toThrow();
  }
}

async function expectStillServing(): Promise<void> {
  const health = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(5_000) });
  expect(health.status).toBe(200);
}

const authed = (target: string, method: string, body?: unknown, extra: Array<[string, string]> = []): RequestSpec => ({
  method,
  target,
  headers: [["Host", `127.0.0.1:${port}`], ["Authorization", `Bearer ${token}`], ["Content-Type", "application/json"], ...extra],
  body: body === undefined ? undefined : new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body)),
});

describe("fuzzing every route", () => {
  test("any request (method, path, query, headers, body, framing): no 5xx, no hang, every error the documented JSON", async () => {
    await fc.assert(
      fc.asyncProperty(anyRequest(token, port), async (spec) => {
        const { bytes, answer } = await send(spec);
        expectSound(spec, bytes, answer);
      }),
      runs(600),
    );
    await expectStillServing();
  });

  test("raw bytes instead of a request: a JSON 400 (or 431), never silence or a crash", async () => {
    const junk = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 300 }),
      fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 200 }).map((s) => Buffer.from(s, "latin1")),
      // A request line that starts right and goes wrong.
      fc.tuple(fc.constantFrom("GET / HTTP/1.1\r\n", "POST /v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\n", "GET /v1/rooms/lobby/events HTTP/1.1\r\n"), fc.uint8Array({ maxLength: 100 })).map(([head, tail]) =>
        Buffer.concat([Buffer.from(head), tail]),
      ),
    );
    await fc.assert(
      fc.asyncProperty(junk, async (bytes) => {
        const request = Buffer.from(bytes);
        // Only blank lines are no request at all (RFC 9112 §2.2 lets a server ignore them).
        fc.pre(!/^[\r\n]*$/.test(request.toString("latin1")));
        const answer = await rawHttp(port, request, { halfClose: true, timeoutMs: 5_000 });
        const context = show(request, answer);
        expect(answer.timedOut, `no answer in time\n${context}`).toBe(false);
        expect([400, 431], `not a documented refusal of garbage\n${context}`).toContain(answer.status);
        expectDocumentedError(answer, context);
      }),
      runs(300),
    );
    await expectStillServing();
  });
});

describe("structured but wrong bodies, against the zod schemas", () => {
  /** What body-parser's strict JSON accepts: an object or an array; no body at all is an empty object. */
  const strictJson = (text: string): unknown => {
    // body-parser drops a byte order mark; no body at all is an empty object.
    text = text.replace(/^\ufeff/, "");
    if (text === "") return {};
    if (!/^[\s]*[[{]/.test(text)) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  };
  const textOf = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value) ?? "null");
  const bodyOf = (valid: unknown) =>
    fc.oneof({ weight: 6, arbitrary: almost(valid).map(textOf) }, fc.json({ maxDepth: 2 }), fc.string({ maxLength: 40 }), fc.constantFrom("", "{", "[1,", '{"a":1}x', "\ufeff{}", "nul"));

  /** Schema fails → 400 invalid_body (or invalid_json when it is not a JSON object or array); passes → one of `ok`. */
  async function oracle(target: string, method: string, schema: { safeParse(v: unknown): { success: boolean } }, text: string, ok: number[]): Promise<void> {
    const spec = authed(target, method, text);
    const { bytes, answer } = await send(spec);
    const context = show(bytes, answer);
    expectSound(spec, bytes, answer);
    const parsed = strictJson(text);
    if (parsed === undefined) {
      expect(answer.status, context).toBe(400);
      expect(expectDocumentedError(answer, context)).toBe("invalid_json");
    } else if (!schema.safeParse(parsed).success) {
      expect(answer.status, context).toBe(400);
      expect(expectDocumentedError(answer, context)).toBe("invalid_body");
    } else {
      expect(ok, `a valid body refused\n${context}`).toContain(answer.status);
    }
  }

  test("sends: POST /v1/rooms/{room}/messages", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...FUZZ_ROOMS), bodyOf(VALID_BODIES["/v1/rooms/:room/messages"]), (room, text) =>
        // A valid send is stored (201) or a repeat of one (200), unless it is over the send rate (429).
        oracle(`/v1/rooms/${room}/messages`, "POST", SendRequestSchema, text, [200, 201, 429]),
      ),
      runs(250),
    );
  });

  test("sessions: POST /v1/session", async () => {
    await fc.assert(
      fc.asyncProperty(bodyOf(VALID_BODIES["/v1/session"]), (text) =>
        // 403: a wrong instructor key; 429: over the sessions (or wrong keys) per minute.
        oracle("/v1/session", "POST", SessionRequestSchema, text, [201, 403, 429]),
      ),
      runs(150),
    );
  });

  test("the class: check-ins, assignments, settings, submissions", async () => {
    // 403: a page id of another session; 404/422: a lab that is unknown or broken.
    const routes = {
      "/v1/class/checkin": ["POST", CheckinRequestSchema, [200, 403]],
      "/v1/class/assignment": ["PUT", AssignmentRequestSchema, [200, 404, 422]],
      "/v1/class/settings": ["PUT", SettingsRequestSchema, [200]],
      "/v1/class/submissions": ["POST", SubmissionRequestSchema, [201, 404, 422]],
    } as const;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...(Object.keys(routes) as Array<keyof typeof routes>)).chain((target) => bodyOf(VALID_BODIES[target]).map((text) => [target, text] as const)),
        ([target, text]) => {
          const [method, schema, ok] = routes[target];
          return oracle(target, method, schema, text, [...ok]);
        },
      ),
      runs(250),
    );
  });
});

describe("query parameters, against the documented rules", () => {
  /** The documented rule for an integer parameter: digits only, in range, given once. */
  const integerOk = (value: string | string[] | undefined, max: number) =>
    value === undefined || (typeof value === "string" && /^\d{1,16}$/.test(value) && Number.isSafeInteger(Number(value)) && Number(value) <= max);
  const epochOk = (value: string | string[] | undefined) => value === undefined || (typeof value === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(value));
  const param = (name: string) =>
    fc.oneof(
      { weight: 2, arbitrary: fc.constant([] as string[]) },
      { weight: 4, arbitrary: numberText.map((v) => [v]) },
      { weight: 1, arbitrary: fc.array(numberText, { minLength: 2, maxLength: 3 }) },
    ).map((values) => values.map((v) => [name, name === "wait" && /^\d+$/.test(v) && Number(v) > 300 && Number(v) <= 30_000 ? "300" : v] as const));
  const epoch = fc.oneof(
    { weight: 2, arbitrary: fc.constant([] as string[]) },
    fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/).map((v) => [v]),
    fc.string({ unit: "binary", maxLength: 70 }).map((v) => [v]),
    fc.constant(["a", "b"]),
  ).map((values) => values.map((v) => ["epoch", v] as const));

  test("polls: GET /v1/rooms/{room}/messages?since&epoch&limit&wait — 200 with a valid page, or 400 bad_query/bad_room", async () => {
    await fc.assert(
      fc.asyncProperty(roomSegment, param("since"), epoch, param("limit"), param("wait"), fc.boolean(), async (room, since, ep, limit, wait, shuffle) => {
        const pairs = [...since, ...ep, ...limit, ...wait];
        if (shuffle) pairs.reverse();
        const query = pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
        const spec = authed(`/v1/rooms/${room}/messages?${query}`, "GET");
        const { bytes, answer } = await send(spec);
        const context = show(bytes, answer);
        expectSound(spec, bytes, answer);
        const values = (name: string) => {
          const all = pairs.filter(([k]) => k === name).map(([, v]) => v);
          return all.length === 0 ? undefined : all.length === 1 ? all[0] : all;
        };
        let decoded: string;
        try {
          decoded = decodeURIComponent(room);
        } catch {
          decoded = "";
        }
        const queryOk = integerOk(values("since"), Number.MAX_SAFE_INTEGER) && epochOk(values("epoch")) && integerOk(values("limit"), 1_000) && integerOk(values("wait"), 30_000);
        if (!/^[a-z0-9-]{1,32}$/.test(decoded)) {
          // The room may be so broken that the path is another route's (or none).
          expect(answer.status, context).toBeGreaterThanOrEqual(400);
        } else if (!queryOk) {
          expect(answer.status, context).toBe(400);
          expect(expectDocumentedError(answer, context)).toBe("bad_query");
        } else {
          expect(answer.status, context).toBe(200);
          const page = PollResponseSchema.safeParse(JSON.parse(answer.body.toString("utf8")));
          expect(page.success, context).toBe(true);
        }
      }),
      runs(300),
    );
  });
});

describe("after the fuzzing", () => {
  test("the server still answers, and the messages accepted before it are all there, unchanged and in order", async () => {
    await expectStillServing();
    const response = await fetch(`${server.url}/v1/rooms/fuzz-keep/messages?since=0&limit=1000`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    const { messages } = PollResponseSchema.parse(await response.json());
    expect(messages.slice(0, accepted.length).map(({ seq, id, text, ts }) => ({ seq, id, text, ts }))).toEqual(accepted.map(({ seq, id, text, ts }) => ({ seq, id, text, ts })));
    // Whatever the fuzz added after them follows in seq order, without a gap.
    expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1));
    for (const room of FUZZ_ROOMS) {
      const page = await fetch(`${server.url}/v1/rooms/${room}/messages?since=0&limit=1000`, { headers: { authorization: `Bearer ${token}` } });
      const { messages: stored } = PollResponseSchema.parse(await page.json());
      expect(stored.map((m) => m.seq)).toEqual(stored.map((_, i) => i + 1));
    }
  });
});

/**
 * Inputs this suite found, each a bug fixed in the server: the request as bytes, and the answer
 * the documented contract asks for.
 */
describe("found by fuzzing (regressions)", () => {
  const host = () => `Host: 127.0.0.1:${port}\r\n`;
  const bearer = () => `Authorization: Bearer ${token}\r\n`;
  const ask = (request: string, options: { halfClose?: boolean } = {}) => rawHttp(port, request, { timeoutMs: 3_000, ...options });

  test("an upgrade to a target WHATWG URL cannot parse (GET //) is refused with JSON, and does not crash the process", async () => {
    // Was: new URL("//", base) threw inside the server's "upgrade" listener: an uncaught exception
    // (the process dies), and the socket was left open, unanswered.
    const upgrade = (target: string) =>
      `GET ${target} HTTP/1.1\r\n${host()}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
    // Paths: none of them is the WebSocket endpoint.
    for (const target of ["//", "///", "//@", "/\\\\", "//x:99999/"]) {
      const answer = await ask(upgrade(target));
      expect(answer.status, show(upgrade(target), answer)).toBe(404);
      expect(expectDocumentedError(answer, show(upgrade(target), answer))).toBe("not_found");
    }
    // Absolute forms that are no URL at all.
    for (const target of ["http://[/v1/rooms/lobby/ws", "http://a:b@/"]) {
      const answer = await ask(upgrade(target));
      expect(answer.status, show(upgrade(target), answer)).toBe(400);
      expect(expectDocumentedError(answer, show(upgrade(target), answer))).toBe("bad_request");
    }
    await expectStillServing();
  });

  test("an upgrade to //host/v1/rooms/…/ws is not taken for the WebSocket endpoint", async () => {
    // Was: "//a/v1/rooms/lobby/ws" parsed as host "a", path "/v1/rooms/lobby/ws", and upgraded.
    const request = `GET //a/v1/rooms/lobby/ws?token=${token} HTTP/1.1\r\n${host()}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
    const answer = await ask(request);
    expect(answer.status, show(request, answer)).toBe(404);
    expectDocumentedError(answer, show(request, answer));
  });

  test("a request target express cannot parse (GET http://[/v1/stats) gets the JSON 404, not express's HTML page", async () => {
    for (const target of ["http://[/v1/stats", "http://[::1/v1/stats", "http://a b/"]) {
      const request = `GET ${target} HTTP/1.1\r\n${host()}${bearer()}Connection: close\r\n\r\n`;
      const answer = await ask(request);
      expect(answer.status, show(request, answer)).toBeGreaterThanOrEqual(400);
      expectDocumentedError(answer, show(request, answer));
    }
  });

  test("an HTTP/1.1 request without Host gets a JSON 400 (RFC 9112 §3.2), not Node's empty one", async () => {
    const request = `GET /v1/stats HTTP/1.1\r\n${bearer()}Connection: close\r\n\r\n`;
    const answer = await ask(request);
    expect(answer.status, show(request, answer)).toBe(400);
    expect(expectDocumentedError(answer, show(request, answer))).toBe("bad_request");
    // HTTP/1.0 has no Host to require.
    const old = await ask(`GET /healthz HTTP/1.0\r\n\r\n`);
    expect(old.status).toBe(200);
  });

  test("an Expect the server cannot meet gets a JSON 417, not Node's empty one; 100-continue still works", async () => {
    const request = `POST /v1/session HTTP/1.1\r\n${host()}Expect: nonsense\r\nContent-Type: application/json\r\nContent-Length: 14\r\nConnection: close\r\n\r\n{"name":"ada"}`;
    const answer = await ask(request);
    expect(answer.status, show(request, answer)).toBe(417);
    expect(expectDocumentedError(answer, show(request, answer))).toBe("bad_request");
    const settings = `PUT /v1/class/settings HTTP/1.1\r\n${host()}${bearer()}Expect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{"jitter":true}`;
    const continued = await ask(settings);
    expect(continued.interim, show(settings, continued)).toEqual([100]);
    expect(continued.status, show(settings, continued)).toBe(200);
  });

  test("a body in a charset or content encoding the server does not read is 415 unsupported_media_type, as documented", async () => {
    for (const header of ["Content-Type: application/json; charset=klingon", "Content-Type: application/json\r\nContent-Encoding: zstd-xx"]) {
      const request = `POST /v1/session HTTP/1.1\r\n${host()}${header}\r\nContent-Length: 14\r\nConnection: close\r\n\r\n{"name":"ada"}`;
      const answer = await ask(request);
      expect(answer.status, show(request, answer)).toBe(415);
      expect(expectDocumentedError(answer, show(request, answer))).toBe("unsupported_media_type");
    }
  });

  test("CONNECT gets a JSON refusal instead of a dropped connection", async () => {
    const request = `CONNECT 127.0.0.1:${port} HTTP/1.1\r\n${host()}\r\n`;
    const answer = await ask(request);
    expect(answer.status, show(request, answer)).toBe(405);
    expect(expectDocumentedError(answer, show(request, answer))).toBe("bad_request");
    // RFC 9110 §15.5.6: a 405 names the methods the server takes.
    expect(answer.headers.allow, show(request, answer)).toMatch(/GET/);
    await expectStillServing();
  });

  test("a path parameter that is not valid percent-encoding: bad_room on every room route (as polls answer), bad_request elsewhere", async () => {
    for (const [method, path] of [["POST", "/v1/rooms/%/messages"], ["GET", "/v1/rooms/%E0%A4%A/presence"], ["GET", "/v1/rooms/%/messages"], ["GET", "/v1/rooms/%zz/events"]] as const) {
      const request = `${method} ${path} HTTP/1.1\r\n${host()}${bearer()}Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`;
      const answer = await ask(request);
      expect(answer.status, show(request, answer)).toBe(400);
      expect(expectDocumentedError(answer, show(request, answer))).toBe("bad_room");
    }
    for (const path of ["/v1/labs/%", "/v1/class/submissions/%zz"]) {
      const request = `GET ${path} HTTP/1.1\r\n${host()}${bearer()}Connection: close\r\n\r\n`;
      const answer = await ask(request);
      expect(answer.status, show(request, answer)).toBe(400);
      expect(expectDocumentedError(answer, show(request, answer))).toBe("bad_request");
    }
  });
});

describe("found by fuzzing: refused upgrades let go of their socket (regressions)", () => {
  const connections = () => openConnections(server);

  test("a refused upgrade that carries more bytes than its head does not keep the socket open once the client closed", async () => {
    // Was: the upgraded socket is nobody's to read after the refusal, so the client's FIN behind
    // unread bytes was never seen: every such refusal held a file descriptor until the process ended.
    const before = await connections();
    const junk = "x".repeat(70_000);
    for (const [target, extra] of [["/v1/rooms/lobby/ws", ""], ["/elsewhere", `Authorization: Bearer ${token}\r\n`], ["/v1/rooms/Bad/ws?token=" + token, ""]] as const) {
      const request = `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: ${junk.length}\r\n\r\n${junk}`;
      const answer = await rawHttp(port, request, { timeoutMs: 3_000 });
      expectDocumentedError(answer, show(request, answer));
    }
    await until(async () => (await connections()) <= before, "the refused upgrades' sockets to close");
  });

  test("a client that stays connected after its upgrade was refused (sending more, never closing) is cut", async () => {
    // Was: the server ended its side and the socket stayed, half-open, for as long as the client liked.
    const before = await connections();
    const { connect } = await import("node:net");
    const socket = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    socket.on("error", () => undefined);
    socket.resume();
    socket.write(`GET /v1/rooms/lobby/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.write("x".repeat(70_000));
    try {
      await until(async () => (await connections()) <= before, "the server to cut the socket", 8_000);
    } finally {
      socket.destroy();
    }
  });
});

