/**
 * Backpressure on the streaming transports: a subscriber that stops reading must not make the
 * server queue every later message for it. Measured before this was built: 2,000 WebSockets that
 * stopped reading, 200 messages/s of ~1 KB into their 10 rooms, and the server (heap 64 MB) died of
 * "JavaScript heap out of memory" after 45 s without cutting one of them — each was still under
 * the 8 MiB slow-consumer budget, but every queued write costs heap of its own. Now a stream whose
 * unsent output passes `pauseBufferedBytes` stops taking messages and, once its socket drains,
 * reads what it missed from the room's history: memory per slow reader stays bounded, and it
 * still receives every message once, in order (or a reset, if it fell behind the history).
 */
import { request, type IncomingMessage } from "node:http";
import { describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { createParser } from "eventsource-parser";
import type { Wirelab } from "../../../server/app.js";
import { session, startServer, stopsAfterEach, until } from "../../helpers.js";

const stops = stopsAfterEach();

/** ~1.9 KB of text a message: a few thousand of them overflow the kernel's socket buffers. */
const TEXT = "m".repeat(1_900);
const PAUSE_AT = 32 * 1024;

async function sendMany(server: Wirelab, room: string, token: string, from: number, count: number, sample: () => void): Promise<void> {
  const post = (i: number) =>
    fetch(`${server.url}/v1/rooms/${room}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ id: `m${i}`, text: TEXT }),
    }).then((r) => expect(r.status).toBe(201));
  for (let i = from; i < from + count; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, from + count - i) }, (_, k) => post(i + k)));
    // Let the fan-out's held writes leave before looking at what is still unsent.
    await new Promise((r) => setImmediate(r));
    sample();
  }
}

interface Reader {
  /** seqs of message events, in the order received. */
  seqs: number[];
  /** Every message seq and reset (as -oldest), in the order received. */
  log: number[];
  pause(): void;
  resume(): void;
  close(): void;
}

function newReader(pause: () => void, resume: () => void, close: () => void): Reader {
  return { seqs: [], log: [], pause, resume, close };
}

function received(reader: Reader, frame: { seq?: number; reset?: number }): void {
  if (frame.seq !== undefined) {
    reader.seqs.push(frame.seq);
    reader.log.push(frame.seq);
  }
  if (frame.reset !== undefined) reader.log.push(-frame.reset);
}

function webSocketReader(server: Wirelab, room: string, token: string): Promise<Reader> {
  const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/rooms/${room}/ws?token=${token}`);
  const reader = newReader(() => ws.pause(), () => ws.resume(), () => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.on("error", reject);
    ws.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; message?: { seq: number }; oldest?: number };
      if (frame.type === "hello") resolve(reader);
      if (frame.type === "message") received(reader, { seq: frame.message!.seq });
      if (frame.type === "reset") received(reader, { reset: frame.oldest! });
    });
  });
}

function sseReader(server: Wirelab, room: string, token: string): Promise<Reader> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}/v1/rooms/${room}/events?token=${token}`, { headers: { accept: "text/event-stream" } });
    req.on("error", reject);
    req.on("response", (res: IncomingMessage) => {
      const reader = newReader(() => res.pause(), () => res.resume(), () => req.destroy());
      const parser = createParser({
        onEvent: (event) => {
          if (event.event === "hello") resolve(reader);
          if (event.event === "message") received(reader, { seq: Number(event.id) });
          if (event.event === "reset") received(reader, { reset: (JSON.parse(event.data) as { oldest: number }).oldest });
        },
      });
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => parser.feed(chunk));
    });
    req.end();
  });
}

const readers = { websocket: webSocketReader, sse: sseReader } as const;

describe.each(["websocket", "sse"] as const)("a %s subscriber that stops reading", (transport) => {
  test("holds at most about pauseBufferedBytes unsent on the server, and gets every message once, in order, when it reads again", async () => {
    const server = await startServer({ loadTest: true, pauseBufferedBytes: PAUSE_AT });
    stops.push(() => server.close());
    const room = `bp-${transport}`;
    const { token } = await session(server, "reader");
    const { token: sender } = await session(server, "sender");
    const reader = await readers[transport](server, room, token);
    stops.push(() => reader.close());
    reader.pause();

    let mostUnsent = 0;
    const count = 3_000; // ~6 MB: far more than the kernel buffers between the two sockets
    await sendMany(server, room, sender, 1, count, () => {
      mostUnsent = Math.max(mostUnsent, server.connections.unsentBytes(transport));
    });
    // Before backpressure this was megabytes (every message queued for the reader).
    expect(mostUnsent).toBeGreaterThan(0);
    expect(mostUnsent).toBeLessThanOrEqual(PAUSE_AT + 64 * 1024);
    // Operators see it too.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const gauge = Number(new RegExp(`wirelab_unsent_bytes\\{transport="${transport}"\\} (\\d+)`).exec(metrics)?.[1]);
    expect(gauge).toBe(server.connections.unsentBytes(transport));
    const pauses = Number(new RegExp(`wirelab_stream_pauses_total\\{transport="${transport}"\\} (\\d+)`).exec(metrics)?.[1]);
    expect(pauses).toBeGreaterThanOrEqual(1);

    reader.resume();
    await until(() => reader.seqs.at(-1) === count, `the ${transport} reader to catch up`, 20_000);
    expect(reader.log.filter((entry) => entry < 0)).toEqual([]);
    expect(reader.seqs).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  });

  test("that falls behind the retained history gets a reset, then the rest in order, nothing twice", async () => {
    const server = await startServer({ loadTest: true, pauseBufferedBytes: PAUSE_AT, historyLimit: 500 });
    stops.push(() => server.close());
    const room = `bp-short-${transport}`;
    const { token } = await session(server, "reader");
    const { token: sender } = await session(server, "sender");
    const reader = await readers[transport](server, room, token);
    stops.push(() => reader.close());
    reader.pause();
    const count = 3_000;
    await sendMany(server, room, sender, 1, count, () => {});

    reader.resume();
    await until(() => reader.seqs.at(-1) === count, `the ${transport} reader to catch up`, 20_000);
    // Whenever its socket drained (the kernel takes a little more now and then) it had fallen
    // behind the history again: each gap is announced by a reset naming where it resumes, and
    // nothing comes twice or out of order.
    expect(reader.log.some((entry) => entry < 0)).toBe(true);
    let last = 0;
    for (let i = 0; i < reader.log.length; i++) {
      const entry = reader.log[i]!;
      if (entry < 0) {
        expect(-entry).toBeGreaterThan(last + 1);
        expect(reader.log[i + 1]).toBe(-entry);
        continue;
      }
      if (entry !== last + 1) expect(reader.log[i - 1]).toBe(-entry);
      last = entry;
    }
    expect(last).toBe(count);
  });
});
