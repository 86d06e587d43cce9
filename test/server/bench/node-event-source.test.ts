/**
 * The load workers' EventSource (server/bench/NodeEventSource.ts): the kit's SseClient over it
 * behaves as over the `eventsource` package (delivery, resume, refusals), and its parsing holds
 * for streams split at every byte (UTF-8 characters, CR LF pairs). Real servers, real sockets.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { EventSource } from "eventsource";
import { describe, expect, test } from "vitest";
import type { Wirelab } from "../../../server/app.js";
import { NodeEventSource, type StreamEvent, type StreamStateEvent } from "../../../server/bench/NodeEventSource.js";
import { HttpError } from "../../../web/src/isomorphic/kit/index.js";
import { client, connected, session, startServer, stopsAfterEach, until } from "../../helpers.js";

const stops = stopsAfterEach();

async function serve(): Promise<Wirelab> {
  const server = await startServer();
  stops.push(() => server.close());
  return server;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function sseClient(server: Wirelab, token: string, options: Parameters<typeof client>[3] = {}) {
  const c = client(server, "sse", token, { EventSource: NodeEventSource as never, ...options });
  stops.push(() => c.close());
  return c;
}

describe("the kit's SseClient over NodeEventSource", () => {
  test("receives every message once, in order, with its text intact", async () => {
    const server = await serve();
    const { token } = await session(server);
    const subscriber = sseClient(server, token);
    const sender = client(server, "websocket", token);
    stops.push(() => sender.close());
    await Promise.all([connected(subscriber), connected(sender)]);

    const texts = range(1, 40).map((i) => `message ${i}: héllo €𝄞 ${"x".repeat(i * 40)}`);
    for (const text of texts) await sender.send(text);
    await until(() => subscriber.received.length === 40, "40 deliveries");
    await new Promise((r) => setTimeout(r, 200));
    expect(subscriber.received.map((m) => m.seq)).toEqual(range(1, 40));
    expect(subscriber.received.map((m) => m.text)).toEqual(texts);
    expect(subscriber.stats.counters.duplicates).toBe(0);
  });

  test("resumes from its cursor after the server drops the stream: nothing lost, nothing twice", async () => {
    const server = await serve();
    const { token } = await session(server);
    // A slow first retry leaves time to publish while the client is away.
    const subscriber = sseClient(server, token, { backoff: { baseMs: 400, capMs: 400 }, random: () => 0.99 });
    await connected(subscriber);
    await subscriber.send("before the cut");
    await until(() => subscriber.received.length === 1, "the first message");

    await until(() => server.transports.sse.dropAll() > 0, "an open stream to cut");
    const sender = client(server, "websocket", token);
    stops.push(() => sender.close());
    await connected(sender);
    await Promise.all(range(1, 30).map((i) => sender.send(`while away ${i}`)));

    await until(() => subscriber.received.length === 31, "all 31 messages", 15_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(subscriber.received.map((m) => m.seq)).toEqual(range(1, 31));
    expect(subscriber.stats.counters.reconnects).toBeGreaterThanOrEqual(1);
    expect(subscriber.stats.counters.duplicates).toBe(0);
  });

  /** What a client of each EventSource reports when the stream is refused, until it stops. */
  async function refusal(server: Wirelab, token: string, room: string, Source: unknown) {
    // No history page first: the stream is the client's first request, and its answer the refusal.
    const c = client(server, "sse", token, { room, history: 0, EventSource: Source as never, renewSession: null, backoff: { baseMs: 10, capMs: 20, maxAttempts: 2 } });
    stops.push(() => c.close());
    const errors: Array<{ name: string; message: string; status?: number }> = [];
    c.on("error", (error) => errors.push({ name: error.name, message: error.message, ...(error instanceof HttpError && { status: error.status }) }));
    c.connect();
    await until(() => c.state === "closed", "the client to give up");
    return errors;
  }

  test.each([
    ["a forged token (401)", "lobby", (token: string) => `${token.slice(0, -4)}AAAA`],
    ["a bad room name (4xx)", "no spaces allowed", (token: string) => token],
  ])("reports %s as it does over the eventsource package", async (_what, room, tokenFor) => {
    const server = await serve();
    const { token } = await session(server);
    const withPackage = await refusal(server, tokenFor(token), room, EventSource);
    const withOwn = await refusal(server, tokenFor(token), room, NodeEventSource);
    expect(withPackage.length).toBeGreaterThan(0);
    expect(withPackage.some((e) => e.status !== undefined && e.status >= 400 && e.status < 500)).toBe(true);
    expect(withOwn).toEqual(withPackage);
  });
});

/** A raw HTTP server answering every request with `answer`. */
async function rawServer(answer: (res: ServerResponse) => void | Promise<void>): Promise<string> {
  const server: Server = createServer((_req, res) => void answer(res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  stops.push(() => new Promise((resolve) => server.close(resolve)));
  stops.push(() => server.closeAllConnections());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
}

/** Everything a source dispatches, in order, until its stream ends. */
function record(source: NodeEventSource, types: string[]) {
  const seen: Array<Partial<StreamEvent & StreamStateEvent>> = [];
  for (const type of [...types, "open", "error"]) {
    source.addEventListener(type, (event) => {
      const { type: name, data, lastEventId, code, message } = event;
      seen.push(Object.fromEntries(Object.entries({ type: name, data, lastEventId, code, message }).filter(([, v]) => v !== undefined)));
    });
  }
  return seen;
}

/** One write per piece, each waited for, so the client is handed the pieces as they are cut. */
async function writeApart(res: ServerResponse, pieces: Buffer[]): Promise<void> {
  res.flushHeaders();
  for (const piece of pieces) {
    await new Promise<void>((resolve, reject) => res.write(piece, (error) => (error ? reject(error) : resolve())));
    await new Promise((r) => setImmediate(r));
  }
  res.end();
}

const CRAFTED = [
  ": a comment, as a heartbeat\r\n",
  "retry: 1500\r\n",
  "\r\n",
  "event: hello\r\n",
  "id: 7\r\n",
  'data: {"text":"héllo €𝄞"}\r\n',
  "\r\n",
  "data: line one\n",
  "data:  line two, one space kept\r",
  "\r",
  "data: ✓ after a lone CR\n\n",
  "event: custom\nunknown: ignored\nretry: not a number\ndata:no space\ndata\n\n",
  ":another comment\n",
  "id: 9\ndata: after id 9\n\n",
  "data: last €\r\n\r\n",
  "data: never ended, never dispatched",
].join("");

const EXPECTED = [
  { type: "open" },
  { type: "hello", data: '{"text":"héllo €𝄞"}', lastEventId: "7" },
  { type: "message", data: "line one\n line two, one space kept", lastEventId: "7" },
  { type: "message", data: "✓ after a lone CR", lastEventId: "7" },
  { type: "custom", data: "no space\n", lastEventId: "7" },
  { type: "message", data: "after id 9", lastEventId: "9" },
  { type: "message", data: "last €", lastEventId: "9" },
  // The server ended the stream: an error with no status, and no reconnect.
  { type: "error" },
];

describe("NodeEventSource's parsing", () => {
  test.each([
    ["in one write", (bytes: Buffer) => [bytes]],
    ["one byte per write (every UTF-8 character and CR LF pair split)", (bytes: Buffer) => [...bytes].map((b) => Buffer.of(b))],
    ["in 3-byte pieces", (bytes: Buffer) => range(0, Math.ceil(bytes.length / 3) - 1).map((i) => bytes.subarray(i * 3, i * 3 + 3))],
  ])("reads a crafted stream %s", async (_how, cut) => {
    const bytes = Buffer.from(`\uFEFF${CRAFTED}`, "utf8");
    const url = await rawServer((res) => {
      res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" });
      return writeApart(res, cut(bytes));
    });
    const source = new NodeEventSource(url);
    const messages: string[] = [];
    source.onmessage = (event) => messages.push(event.data);
    const seen = record(source, ["hello", "custom", "message"]);
    await until(() => source.readyState === NodeEventSource.CLOSED, "the stream to end");
    expect(seen).toEqual(EXPECTED);
    expect(messages).toEqual(EXPECTED.filter((e) => e.type === "message").map((e) => e.data));
  });

  test.each([
    [401, "text/plain"],
    [503, "text/event-stream"],
    [204, "text/event-stream"],
  ])("an HTTP %i answer is an error event with the status, and the stream stays closed", async (status, type) => {
    const url = await rawServer((res) => {
      res.writeHead(status, { "content-type": type });
      res.end(status === 204 ? undefined : "data: not for you\n\n");
    });
    const source = new NodeEventSource(url);
    const seen = record(source, ["message"]);
    await until(() => seen.length > 0, "an event");
    expect(seen).toEqual([{ type: "error", code: status, message: status === 204 ? "Server sent HTTP 204, not reconnecting" : `Non-200 status code (${status})` }]);
    expect(source.readyState).toBe(NodeEventSource.CLOSED);
  });

  test("a 200 that is not an event stream is an error event, not an open stream", async () => {
    const url = await rawServer((res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("data: looks like one\n\n");
    });
    const source = new NodeEventSource(url);
    const seen = record(source, ["message"]);
    await until(() => seen.length > 0, "an event");
    expect(seen).toEqual([{ type: "error", code: 200, message: 'Invalid content type, expected "text/event-stream"' }]);
  });

  test("a connection cut mid-event is one error event; the half event is not dispatched", async () => {
    const url = await rawServer(async (res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      await writeApart(res, [Buffer.from("data: whole\n\ndata: half")]).catch(() => {});
      res.socket?.destroy();
    });
    const source = new NodeEventSource(url);
    const seen = record(source, ["message"]);
    await until(() => source.readyState === NodeEventSource.CLOSED, "the stream to end");
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.map((e) => [e.type, e.data])).toEqual([["open", undefined], ["message", "whole"], ["error", undefined]]);
  });

  test("nothing is dispatched after close(), not even the rest of the chunk being read", async () => {
    const url = await rawServer((res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: one\n\ndata: two\n\ndata: three\n\n");
    });
    const source = new NodeEventSource(url);
    const seen: string[] = [];
    source.addEventListener("message", (event) => {
      seen.push(event.data);
      source.close();
    });
    source.addEventListener("error", () => seen.push("error"));
    await until(() => seen.length > 0, "the first message");
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual(["one"]);
    expect(source.readyState).toBe(NodeEventSource.CLOSED);
  });

  test("a refused connection is an error event with the socket's reason", async () => {
    const url = await rawServer(() => {});
    const port = new URL(url).port;
    for (const stop of stops.splice(0).reverse()) await stop();
    const source = new NodeEventSource(`http://127.0.0.1:${port}/events`);
    const seen = record(source, ["message"]);
    await until(() => seen.length > 0, "an event");
    expect(seen).toEqual([{ type: "error", message: expect.stringContaining("ECONNREFUSED") }]);
  });

  test("an https or malformed URL is refused at once with a clear error", () => {
    expect(() => new NodeEventSource("https://127.0.0.1/events")).toThrow(/plain HTTP only/);
    expect(() => new NodeEventSource("not a url")).toThrow();
  });
});
