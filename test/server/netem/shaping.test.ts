/**
 * What the emulated link does to bytes: latency, bandwidth, order under jitter, backpressure.
 * Real sockets on 127.0.0.1; timings are asserted as lower bounds (what the emulator guarantees),
 * with upper bounds only as wide bands where a rate is the point.
 */
import { performance } from "node:perf_hooks";
import { WebSocket, WebSocketServer } from "ws";
import { afterEach, describe, expect, test } from "vitest";
import { cleanup, client, echoServer, emulator, receivedText, sleep, tcpServer, until } from "./netHelpers.js";

afterEach(cleanup);

describe("latency", () => {
  test("with 200 ms each way, a WebSocket handshake and every round trip take at least 400 ms", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((resolve) => wss.once("listening", resolve));
    wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
    const port = (wss.address() as { port: number }).port;
    const emu = await emulator({ port, conditions: { up: { latencyMs: 200 }, down: { latencyMs: 200 } } });

    const started = performance.now();
    const ws = new WebSocket(`${emu.url.replace(/^http/, "ws")}/v1/rooms/lobby/ws`);
    try {
      await new Promise((resolve, reject) => {
        ws.once("open", resolve);
        ws.once("error", reject);
      });
      expect(performance.now() - started, "handshake: one request up, one 101 down").toBeGreaterThanOrEqual(400);
      expect(emu.connections()[0]?.transport).toBe("websocket");

      for (let i = 0; i < 3; i++) {
        const sent = performance.now();
        const echoed = new Promise<string>((resolve) => ws.once("message", (data) => resolve(String(data))));
        ws.send(`ping ${i}`);
        expect(await echoed).toBe(`ping ${i}`);
        expect(performance.now() - sent).toBeGreaterThanOrEqual(400);
      }
    } finally {
      ws.terminate();
      await new Promise((resolve) => wss.close(resolve));
    }
  });

  test("latency changed while running applies to the next bytes of an existing connection", async () => {
    const echo = await echoServer();
    const emu = await emulator({ port: echo.port });
    const c = await client(emu.port);
    c.socket.write("a");
    await until(() => c.text() === "a", "the unshaped echo");

    emu.setConditions({ up: { latencyMs: 150 }, down: { latencyMs: 150 } });
    const sent = performance.now();
    c.socket.write("b");
    await until(() => c.text() === "ab", "the delayed echo");
    expect(performance.now() - sent).toBeGreaterThanOrEqual(300);
  });
});

describe("bandwidth", () => {
  const RATE = 64 * 1024;
  const SIZE = 128 * 1024;

  test("64 KiB/s up: 128 KiB take about two seconds, not less than 1.6 s", async () => {
    const sink = await tcpServer();
    const emu = await emulator({ port: sink.port, conditions: { up: { bandwidthBytesPerSec: RATE } } });
    const c = await client(emu.port);
    const received = () => (sink.received[0] ?? []).reduce((n, b) => n + b.length, 0);

    const started = performance.now();
    c.socket.write(Buffer.alloc(SIZE, 7));
    await until(() => received() === SIZE, "all bytes at the server", 15_000);
    const seconds = (performance.now() - started) / 1000;

    expect(seconds).toBeGreaterThanOrEqual(1.6);
    const rate = SIZE / seconds;
    // The pacing allows a 50 ms burst, so the rate can only exceed the cap by a few percent; a busy
    // machine can make it slower, hence the wide lower band.
    expect(rate).toBeLessThanOrEqual(RATE * 1.05);
    expect(rate).toBeGreaterThanOrEqual(RATE * 0.5);
    expect(emu.connections()[0]).toMatchObject({ bytesUp: SIZE, heldUp: 0 });
  });

  test("64 KiB/s down caps what the server sends, while the other direction stays unshaped", async () => {
    const server = await tcpServer((socket) => socket.once("data", () => socket.write(Buffer.alloc(SIZE, 9))));
    const emu = await emulator({ port: server.port, conditions: { down: { bandwidthBytesPerSec: RATE } } });
    const c = await client(emu.port);

    const started = performance.now();
    c.socket.write("go");
    await until(() => receivedText(server) === "go", "the request, unshaped", 2_000);
    await until(() => c.bytes() === SIZE, "all bytes at the client", 15_000);
    const seconds = (performance.now() - started) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(1.6);
    expect(SIZE / seconds).toBeGreaterThanOrEqual(RATE * 0.5);
  });
});

describe("order", () => {
  test("jitter larger than the gap between writes never reorders bytes", async () => {
    const echo = await echoServer();
    const emu = await emulator({
      port: echo.port,
      conditions: { up: { latencyMs: 15, jitterMs: 15 }, down: { latencyMs: 15, jitterMs: 15 } },
    });
    const c = await client(emu.port);
    const COUNT = 300;
    const expected = Array.from({ length: COUNT }, (_, i) => `${String(i).padStart(4, "0")}\n`).join("");
    for (let i = 0; i < COUNT; i++) {
      c.socket.write(`${String(i).padStart(4, "0")}\n`);
      // Separate writes ~1 ms apart arrive as separate chunks, each with its own random delay.
      if (i % 3 === 0) await sleep(1);
    }
    await until(() => c.text().length >= expected.length, "the whole echo", 15_000);
    expect(c.text()).toBe(expected);
  });

  test("a delay sequence that would reorder (long, short, long, short…) is delivered in order", async () => {
    const echo = await echoServer();
    let flip = false;
    // Alternates the extremes of ±40 ms: 80 ms, then 0 ms, then 80 ms…
    const random = () => ((flip = !flip) ? 0.9999 : 0);
    const emu = await emulator({ port: echo.port, random, conditions: { up: { latencyMs: 40, jitterMs: 40 } } });
    const c = await client(emu.port);
    for (let i = 0; i < 40; i++) {
      c.socket.write(String.fromCharCode(65 + (i % 26)));
      await sleep(2);
    }
    const expected = Array.from({ length: 40 }, (_, i) => String.fromCharCode(65 + (i % 26))).join("");
    await until(() => c.text().length >= 40, "the whole echo");
    expect(c.text()).toBe(expected);
  });
});

describe("backpressure", () => {
  test("a client that does not read stalls the server's writes; the emulator holds a bounded amount, then delivers every byte", async () => {
    const CHUNK = 64 * 1024;
    const pattern = Buffer.alloc(CHUNK, 0).map((_, i) => i % 251);
    let sent = 0;
    let stop = false;
    const server = await tcpServer((socket) => {
      const pump = () => {
        while (!stop) {
          sent += CHUNK;
          if (!socket.write(pattern)) return void socket.once("drain", pump);
        }
        socket.end();
      };
      pump();
    });
    const MAX_IN_FLIGHT = 256 * 1024;
    const emu = await emulator({ port: server.port, maxInFlightBytes: MAX_IN_FLIGHT });
    const c = await client(emu.port);
    c.socket.pause();

    // Wait until the server has made no progress for a while: the push-back reached it.
    let last = -1;
    let stalledSince = performance.now();
    await until(() => {
      if (sent !== last) [last, stalledSince] = [sent, performance.now()];
      return performance.now() - stalledSince > 300;
    }, "the server to stall", 20_000);
    expect(server.sockets[0]!.writableNeedDrain).toBe(true);
    // In flight, plus what waits for the transmitter, plus one chunk read before the pause took hold.
    expect(emu.connections()[0]!.heldDown).toBeLessThanOrEqual(MAX_IN_FLIGHT + 16 * 1024 + CHUNK);

    stop = true;
    c.socket.resume();
    await until(() => c.events.includes("end"), "the whole stream", 30_000);
    const all = Buffer.concat(c.received);
    expect(all.length).toBe(sent);
    for (let offset = 0; offset < all.length; offset += CHUNK) {
      if (!all.subarray(offset, offset + CHUNK).equals(pattern)) throw new Error(`bytes differ in the chunk at ${offset}`);
    }
  });
});
