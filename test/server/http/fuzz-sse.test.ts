/**
 * SSE fuzzing (fast-check, seeded, fixed runs): GET /v1/rooms/{room}/events with arbitrary
 * `Last-Event-ID` headers (numbers at and past the limits, signs, floats, hex, whitespace, huge,
 * non-ASCII bytes, control bytes, repeated, empty) together with `since` and `epoch` query
 * parameters. The oracle is docs/protocol.md: a valid cursor opens a text/event-stream whose hello
 * names it and whose replay is exactly the messages after it (each event's `id` its seq), with a
 * reset first when the cursor is ahead of the room or of another epoch; `Last-Event-ID` wins over
 * `?since`; anything else is the documented 400 (`bad_query`, or `bad_request` for a header HTTP
 * cannot carry, 431 for one too large). Every stream is read with a deadline and cut, and the
 * server holds no more connections at the end than at the start.
 *
 * FUZZ_SEED=n runs other inputs (the seed is printed); a failure prints the shrunk request.
 */
import { request as httpRequest } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../../server/app.js";
import { PROTOCOL_VERSION, PollResponseSchema, SessionResponseSchema } from "../../../web/src/isomorphic/protocol/index.js";
import { startServer, openConnections, until } from "../../helpers.js";
import { numberText } from "./httpInputs.js";
import { describe as show, encodeRequest, expectDocumentedError, rawHttp, type RawAnswer } from "./rawHttp.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_408);
const runs = (n: number) => ({ seed: SEED, numRuns: n });

/** The room every fuzzed stream reads, seeded with N messages before the fuzzing. */
const ROOM = "sse-fuzz";
const N = 5;

let server: Wirelab;
let token: string;
let port: number;
/** The room's epoch, from a poll. */
let epoch: string;
/** TCP connections the server held before any stream was opened. */
let connectionsBefore: number;

const connections = () => openConnections(server);

/** Store one message with a request of its own (Connection: close: no keep-alive socket stays behind). */
async function post(room: string, id: string, text: string): Promise<number> {
  const body = JSON.stringify({ id, text });
  const answer = await rawHttp(
    port,
    encodeRequest({
      method: "POST",
      target: `/v1/rooms/${room}/messages`,
      headers: [["Host", `127.0.0.1:${port}`], ["Authorization", `Bearer ${token}`], ["Content-Type", "application/json"]],
      body: new TextEncoder().encode(body),
    }),
    // Node drops a request whose client half-closed before the answer (httpAllowHalfOpen is off).
    { halfClose: false },
  );
  expect(answer.status, answer.raw).toBe(201);
  return (JSON.parse(answer.body.toString("utf8")) as { seq: number }).seq;
}

beforeAll(async () => {
  // Hundreds of stream opens from one address: the per-address open rate (300 a minute) is not what is fuzzed here.
  server = await startServer({ connectsPerMinute: 1_000_000 });
  port = Number(new URL(server.url).port);
  // Every request of the setup on a socket of its own that closes (rawHttp): fetch would leave a keep-alive one.
  const created = await rawHttp(port, `POST /v1/session HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 14\r\nConnection: close\r\n\r\n{"name":"ada"}`, { halfClose: false });
  token = SessionResponseSchema.parse(JSON.parse(created.body.toString("utf8"))).token;
  for (let i = 1; i <= N; i++) expect(await post(ROOM, `seed-${i}`, `message ${i}`)).toBe(i);
  const page = await rawHttp(port, `GET /v1/rooms/${ROOM}/messages?since=0 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`, { halfClose: false });
  epoch = PollResponseSchema.parse(JSON.parse(page.body.toString("utf8"))).epoch!;
  expect(epoch).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  await until(async () => (await connections()) === 0, "the setup's sockets to close");
  connectionsBefore = await connections();
  console.log(`fuzz-sse: seed ${SEED}`);
});
afterAll(() => server?.close());

/** One SSE event as the stream carried it. */
interface SseEvent {
  event: string | undefined;
  id: string | undefined;
  data: string;
}

/** The events of a stream body (the `retry:` block and heartbeats left out), per the SSE format. */
function eventsOf(body: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of body.split(/\r?\n\r?\n/)) {
    if (block.trim() === "") continue;
    const event: SseEvent = { event: undefined, id: undefined, data: "" };
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event.event = value;
      else if (field === "id") event.id = value;
      else if (field === "data") data.push(value);
    }
    event.data = data.join("\n");
    if (event.event !== undefined && event.event !== "heartbeat") events.push(event);
  }
  return events;
}

/** Whether the event blocks read so far end with the event for seq `last` (or the hello, when nothing is replayed). */
const reached = (last: number | "hello") => (body: string) =>
  eventsOf(body.slice(0, body.lastIndexOf("\n\n") + 2)).some((e) => (last === "hello" ? e.event === "hello" : e.event === "message" && e.id === String(last)));

/** What the documented rules say a request should get. */
type Expected =
  | { status: 400; code: "bad_query" | "bad_request" }
  | { status: 431 }
  | { status: 200; next: number; reset: boolean; replay: number[] };

/** A header value as the server reads it: HTTP trims surrounding spaces and tabs; repeats are joined with ", " (Node). */
function headerAsRead(values: readonly string[]): string | undefined {
  if (values.length === 0) return undefined;
  return values.map((v) => v.replace(/^[ \t]+|[ \t]+$/g, "")).join(", ");
}

/** The documented rule for a cursor: digits only, an integer from 0 to 2^53 - 1 (docs/protocol.md, Errors: bad_query). */
const cursorOf = (text: string): number | null => (/^\d{1,16}$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : null);

function expected(headerValues: readonly string[], since: readonly string[], epochs: readonly string[], requestBytes: number): Expected {
  // The request line and headers over 16 KiB: 431 (the head is about 200 bytes besides the header values).
  if (requestBytes > 16 * 1024) return { status: 431 };
  // A control byte (other than a tab) cannot be in a header value: the request is not HTTP (RFC 9110 §5.5).
  if (headerValues.some((v) => /[\x00-\x08\x0a-\x1f\x7f]/.test(v))) return { status: 400, code: "bad_request" };
  const header = headerAsRead(headerValues);
  const sinceValue = since.length === 0 ? undefined : since.length === 1 ? since[0]! : null;
  const epochValue = epochs.length === 0 ? undefined : epochs.length === 1 ? epochs[0]! : null;
  // An empty Last-Event-ID names no event (EventSource sends none then): ?since counts, as without the header.
  const fromHeader = header !== undefined && header !== "";
  let cursor: number | undefined;
  if (fromHeader) {
    const parsed = cursorOf(header);
    if (parsed === null) return { status: 400, code: "bad_query" };
    cursor = parsed;
  } else if (sinceValue !== undefined) {
    const parsed = sinceValue === null ? null : cursorOf(sinceValue);
    if (parsed === null) return { status: 400, code: "bad_query" };
    cursor = parsed;
  }
  if (epochValue === null || (epochValue !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(epochValue))) return { status: 400, code: "bad_query" };
  const all = Array.from({ length: N }, (_, i) => i + 1);
  // No cursor: live only, from the newest seq.
  if (cursor === undefined) return { status: 200, next: N, reset: false, replay: [] };
  // Ahead of the room, or from another epoch: a reset, then everything from the oldest.
  if (cursor > N || (epochValue !== undefined && epochValue !== epoch)) return { status: 200, next: cursor, reset: true, replay: all };
  return { status: 200, next: cursor, reset: false, replay: all.filter((seq) => seq > cursor) };
}

/** Text whose UTF-8 bytes go on the wire as they are (encodeRequest writes header values as latin1). */
const utf8Bytes = (text: string) => Buffer.from(text, "utf8").toString("latin1");

/** Last-Event-ID values: numbers as numberText spells them, and what else a header can carry. */
const headerValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: numberText },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: N + 2 }).map(String) },
  fc.constantFrom("", " ", "\t", " 3", "3 ", "\t2\t", "0x3", "3.0", "1e1", "-0", "+2", "٣", "３", "2 3", "2,3", "9007199254740991", "9007199254740992", "00000000000000003", "0000000000000003"),
  // Huge: digits past every limit, but well inside 16 KiB of headers; and far past it.
  fc.constantFrom("9".repeat(1_000), "1".repeat(16), "1".repeat(17), "7".repeat(20_000)),
  // Non-ASCII bytes: UTF-8 of any text, and raw latin1 bytes.
  fc.string({ unit: "grapheme", maxLength: 12 }).map(utf8Bytes),
  fc.string({ unit: "binary-ascii", maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, "")),
  fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes.filter((b) => b !== 10 && b !== 13)).toString("latin1")),
  // Text beyond latin1 ("３", "٣") goes as its UTF-8 bytes, so the value is exactly the bytes sent.
).map((v) => (/[^\x00-\xff]/.test(v) ? utf8Bytes(v) : v));

/** Zero, one or several Last-Event-ID headers (several: a repeat the documented rule refuses). */
const headerValues = fc.oneof(
  { weight: 2, arbitrary: fc.constant([] as string[]) },
  { weight: 6, arbitrary: headerValue.map((v) => [v]) },
  { weight: 1, arbitrary: fc.array(headerValue, { minLength: 2, maxLength: 3 }) },
);

const queryValues = (value: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant([] as string[]) },
    { weight: 4, arbitrary: value.map((v) => [v]) },
    { weight: 1, arbitrary: fc.array(value, { minLength: 2, maxLength: 3 }) },
  );
const sinceText = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: N + 2 }).map(String) }, { weight: 2, arbitrary: numberText });
const epochText = () =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(epoch) },
    fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
    fc.constantFrom("", "e".repeat(65), "a b", "é", `${epoch}=`, epoch.toUpperCase() === epoch ? `${epoch}x` : epoch.toUpperCase()),
    fc.string({ unit: "grapheme", maxLength: 20 }),
  );

const HEADER_NAMES = ["Last-Event-ID", "last-event-id", "LAST-EVENT-ID", "Last-Event-Id"] as const;

describe("Last-Event-ID, since and epoch, against the documented rules", () => {
  test("GET …/events: a valid cursor is a stream that replays exactly what follows it; anything else the documented 400", async () => {
    await fc.assert(
      fc.asyncProperty(
        headerValues,
        queryValues(sinceText),
        fc.constant(null).chain(() => queryValues(epochText())),
        fc.constantFrom(...HEADER_NAMES),
        fc.boolean(),
        fc.boolean(),
        async (values, since, epochs, headerName, tokenInQuery, shuffle) => {
          const pairs: Array<[string, string]> = [...since.map((v) => ["since", v] as [string, string]), ...epochs.map((v) => ["epoch", v] as [string, string])];
          if (shuffle) pairs.reverse();
          if (tokenInQuery) pairs.push(["token", token]);
          const query = pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
          const bytes = encodeRequest({
            method: "GET",
            target: `/v1/rooms/${ROOM}/events${query ? `?${query}` : ""}`,
            headers: [
              ["Host", `127.0.0.1:${port}`],
              ["Accept", "text/event-stream"],
              ...(tokenInQuery ? [] : [["Authorization", `Bearer ${token}`] as [string, string]]),
              ...values.map((v) => [headerName, v] as [string, string]),
            ],
          });
          const want = expected(values, since, epochs, bytes.length);
          const stopAt = want.status === 200 ? (want.replay.at(-1) ?? "hello") : "hello";
          const answer = await rawHttp(port, bytes, { until: reached(stopAt), timeoutMs: 5_000, halfClose: false });
          const context = `${show(bytes, answer)}\nexpected ${JSON.stringify(want)}`;
          expect(answer.status, `status\n${context}`).toBe(want.status);
          if (want.status === 431) {
            expectDocumentedError(answer, context, { codes: ["headers_too_large"] });
          } else if (want.status === 400) {
            expectDocumentedError(answer, context, { codes: [want.code] });
          } else {
            expectStream(answer, want, context);
          }
        },
      ),
      runs(400),
    );
  });

  test("the resume property: for any cursor k in 0..n, the stream replays k+1..n in order, then goes live, nothing twice", async () => {
    let rooms = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 8 }).chain((n) => fc.record({ n: fc.constant(n), k: fc.integer({ min: 0, max: n }), how: fc.constantFrom("header", "since", "both", "empty-header") })),
        async ({ n, k, how }) => {
          // A room of its own per run: its history is exactly 1..n, and its live message n+1.
          const room = `resume-${rooms++}`;
          for (let i = 1; i <= n; i++) await post(room, `r-${i}`, `replayed ${i}`);
          // "both": the header says k, ?since says something else that must lose.
          const since = how === "since" || how === "empty-header" ? k : how === "both" ? (k + 1) % (n + 1) : undefined;
          const header = how === "header" || how === "both" ? String(k) : how === "empty-header" ? "" : undefined;
          const stream = await openStream(room, since, header);
          try {
            await stream.until((events) => events.some((e) => e.event === "hello") && events.filter((e) => e.event === "message").length >= n - k, `the replay of ${n - k} messages`);
            await post(room, `r-${n + 1}`, "live");
            await stream.until((events) => events.some((e) => e.id === String(n + 1)), "the live message");
            const events = stream.events();
            expect(events[0], JSON.stringify(events)).toMatchObject({ event: "hello", id: String(k) });
            expect(JSON.parse(events[0]!.data)).toMatchObject({ protocol: PROTOCOL_VERSION, next: k });
            const messages = events.slice(1);
            const wanted = Array.from({ length: n + 1 - k }, (_, i) => k + 1 + i);
            expect(messages.map((e) => e.event)).toEqual(wanted.map(() => "message"));
            expect(messages.map((e) => Number(e.id))).toEqual(wanted);
            expect(messages.map((e) => (JSON.parse(e.data) as { seq: number }).seq)).toEqual(wanted);
          } finally {
            stream.close();
          }
        },
      ),
      runs(40),
    );
  });
});

describe("after the fuzzing", () => {
  test("every stream the fuzz opened is closed: the server holds the connections it held before", async () => {
    await until(async () => (await connections()) <= connectionsBefore, "the fuzzed streams' connections to close");
    expect((server.transports.sse as unknown as { streams: Set<unknown> }).streams.size).toBe(0);
    const health = await rawHttp(port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`, { halfClose: false });
    expect(health.status).toBe(200);
  });
});

/** A 200 answer is the documented stream: head, hello, an optional reset, then exactly the replay. */
function expectStream(answer: RawAnswer, want: Extract<Expected, { status: 200 }>, context: string): void {
  expect(answer.timedOut, `the replay did not arrive in time\n${context}`).toBe(false);
  expect(answer.headers["content-type"], context).toMatch(/^text\/event-stream/);
  expect(answer.headers["cache-control"], context).toBe("no-store");
  const body = answer.body.toString("utf8");
  expect(body.startsWith("retry:"), `the stream does not start with retry:\n${context}`).toBe(true);
  const events = eventsOf(body.slice(0, body.lastIndexOf("\n\n") + 2));
  const [hello, ...rest] = events;
  expect(hello?.event, context).toBe("hello");
  expect(hello?.id, `hello's id is the cursor\n${context}`).toBe(String(want.next));
  expect(JSON.parse(hello!.data), context).toMatchObject({ protocol: PROTOCOL_VERSION, next: want.next, epoch });
  let replay = rest;
  if (want.reset) {
    expect(rest[0], `a reset before the replay\n${context}`).toMatchObject({ event: "reset", id: "0" });
    expect(JSON.parse(rest[0]!.data), context).toEqual({ oldest: 1 });
    replay = rest.slice(1);
  }
  expect(replay.map((e) => e.event), `only messages after the hello\n${context}`).toEqual(want.replay.map(() => "message"));
  expect(replay.map((e) => e.id), `each message's id is its seq\n${context}`).toEqual(want.replay.map(String));
  expect(replay.map((e) => (JSON.parse(e.data) as { seq: number; room: string }).seq), context).toEqual(want.replay);
}

/** An open event stream read chunk by chunk (node:http, no agent: its socket goes when it is closed). */
async function openStream(room: string, since: number | undefined, lastEventId: string | undefined) {
  const controller = new AbortController();
  let body = "";
  const query = since === undefined ? "" : `?since=${since}`;
  const response = await new Promise<import("node:http").IncomingMessage>((resolve, reject) => {
    const req = httpRequest(`${server.url}/v1/rooms/${room}/events${query}`, {
      agent: false,
      signal: controller.signal,
      headers: { authorization: `Bearer ${token}`, accept: "text/event-stream", ...(lastEventId !== undefined && { "last-event-id": lastEventId }) },
    });
    req.on("response", resolve);
    req.on("error", reject);
    req.end();
  });
  expect(response.statusCode).toBe(200);
  response.setEncoding("utf8");
  response.on("data", (chunk: string) => (body += chunk));
  response.on("error", () => undefined);
  const events = () => eventsOf(body.slice(0, body.lastIndexOf("\n\n") + 2));
  return {
    events,
    until: (condition: (events: SseEvent[]) => boolean, what: string) => until(async () => condition(events()), what, 5_000),
    close: () => controller.abort(),
  };
}

