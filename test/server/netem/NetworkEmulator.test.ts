/**
 * The emulator's API over real sockets: transport classification, per-transport conditions,
 * black holes, drops, and refusal of bad conditions.
 */
import { createServer, type AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { afterEach, describe, expect, test } from "vitest";
import { NetworkConditionsSchema, NetworkEmulator, PRESETS, PRESET_NAMES } from "../../../server/netem/index.js";
import { TRANSPORTS } from "../../../web/src/isomorphic/protocol/index.js";
import { HEADS, cleanup, client, echoServer, emulator, receivedText, sleep, tcpServer, until } from "./netHelpers.js";

afterEach(cleanup);

describe("classification", () => {
  test.each([...TRANSPORTS, "other"] as const)("the first request line of a %s connection classifies it", async (transport) => {
    const server = await tcpServer();
    const emu = await emulator({ port: server.port });
    const c = await client(emu.port);
    c.socket.write(HEADS[transport]);
    await until(() => emu.connections()[0]?.transport === transport, `the connection to count as ${transport}`);
    expect(emu.connections()).toHaveLength(1);
    await until(() => receivedText(server).length >= HEADS[transport].length, "the head to reach the server");
    expect(receivedText(server), "bytes pass unchanged").toBe(HEADS[transport]);
  });

  test("a head split across many small writes is still recognised", async () => {
    const server = await tcpServer();
    const emu = await emulator({ port: server.port });
    const c = await client(emu.port);
    for (const piece of HEADS.sse.match(/.{1,5}/gs)!) {
      c.socket.write(piece);
      await sleep(1);
    }
    await until(() => emu.connections()[0]?.transport === "sse", "the split head to classify");
  });

  test("a keep-alive connection is re-classified by each new request, skipping request bodies", async () => {
    const server = await tcpServer();
    const emu = await emulator({ port: server.port });
    const c = await client(emu.port);
    const transport = () => emu.connections()[0]?.transport;

    c.socket.write(HEADS["short-poll"]);
    await until(() => transport() === "short-poll", "short-poll");
    // A body that looks like a request must not be taken for one.
    const body = HEADS.sse;
    c.socket.write(`POST /v1/rooms/lobby/messages HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    await until(() => transport() === "other", "the POST to count as other");
    await sleep(50);
    expect(transport()).toBe("other");
    c.socket.write(HEADS["long-poll"]);
    await until(() => transport() === "long-poll", "long-poll");
  });

  test("the kit's x-wirelab-transport header wins over the request line (a long-poll client's wait=0 catch-up)", async () => {
    const server = await tcpServer();
    const emu = await emulator({ port: server.port });
    const c = await client(emu.port);
    c.socket.write("GET /v1/rooms/lobby/messages?limit=1000 HTTP/1.1\r\nHost: x\r\nx-wirelab-transport: long-poll\r\n\r\n");
    await until(() => emu.connections()[0]?.transport === "long-poll", "the declared transport");
  });

  test("after a WebSocket upgrade the bytes are frames, never re-read as requests", async () => {
    const server = await tcpServer();
    const emu = await emulator({ port: server.port });
    const c = await client(emu.port);
    c.socket.write(HEADS.websocket);
    await until(() => emu.connections()[0]?.transport === "websocket", "websocket");
    c.socket.write(HEADS.sse);
    await until(() => receivedText(server) === HEADS.websocket + HEADS.sse, "the second write at the server");
    expect(emu.connections()[0]?.transport).toBe("websocket");
  });
});

describe("per-transport conditions", () => {
  test("latency set for SSE slows SSE connections only, existing and new", async () => {
    const echo = await echoServer();
    const emu = await emulator({ port: echo.port });
    const sse = await client(emu.port);
    const ws = await client(emu.port);
    sse.socket.write(HEADS.sse);
    ws.socket.write(HEADS.websocket);
    await until(() => sse.text() === HEADS.sse && ws.text() === HEADS.websocket, "both heads echoed");

    emu.setConditions({ up: { latencyMs: 400 }, down: { latencyMs: 400 } }, { transport: "sse" });
    expect(emu.conditions().transports.sse?.up.latencyMs).toBe(400);
    expect(emu.conditions().default.up.latencyMs).toBe(0);

    const roundTrip = async (c: typeof sse) => {
      const before = c.text().length;
      const sent = performance.now();
      c.socket.write("x");
      await until(() => c.text().length === before + 1, "an echo");
      return performance.now() - sent;
    };
    expect(await roundTrip(sse)).toBeGreaterThanOrEqual(800);
    expect(await roundTrip(ws)).toBeLessThan(800);

    const late = await client(emu.port);
    late.socket.write(HEADS.sse);
    await until(() => late.text() === HEADS.sse, "the new SSE connection's head echoed");
    expect(await roundTrip(late)).toBeGreaterThanOrEqual(800);

    emu.clearConditions({ transport: "sse" });
    expect(emu.conditions().transports.sse).toBeUndefined();
    expect(await roundTrip(sse)).toBeLessThan(800);
  });

  test("a preset fills in every field; explicit fields override it", () => {
    const emu = new NetworkEmulator({ target: { host: "127.0.0.1", port: 9 } });
    expect(emu.setConditions("slow-3g")).toEqual({ preset: "slow-3g", ...PRESETS["slow-3g"].conditions });
    const tuned = emu.setConditions({ preset: "slow-3g", down: { bandwidthBytesPerSec: null }, drop: { perMinute: 1 } });
    expect(tuned.down).toEqual({ latencyMs: 200, jitterMs: 0, bandwidthBytesPerSec: null });
    expect(tuned.up.bandwidthBytesPerSec).toBe(50_000);
    expect(tuned.drop).toEqual({ afterMs: null, perMinute: 1, mode: "reset" });
    expect(emu.setConditions({ preset: "flaky-wifi", drop: null }).drop).toBeNull();
    for (const name of PRESET_NAMES) expect(() => emu.setConditions(name)).not.toThrow();
  });
});

describe("black hole", () => {
  test("a black-holed connection stays open at the socket level while no byte passes, and resumes when lifted", async () => {
    const echo = await echoServer();
    const emu = await emulator({ port: echo.port });
    const c = await client(emu.port);
    c.socket.write(HEADS.websocket);
    await until(() => c.text() === HEADS.websocket, "the head echoed");

    expect(emu.blackhole({ on: true })).toBe(1);
    expect(emu.connections()[0]?.state).toBe("blackholed");
    c.socket.write("are you there?");
    await sleep(500);
    expect(receivedText(echo), "nothing more reached the server").toBe(HEADS.websocket);
    expect(c.text()).toBe(HEADS.websocket);
    expect(c.events, "no FIN, no RST at the client").toEqual([]);
    expect(c.closed).toBe(false);
    expect(echo.endings[0], "no FIN, no RST at the server").toBeUndefined();
    expect(echo.sockets[0]!.destroyed).toBe(false);

    emu.blackhole({ on: false });
    await until(() => c.text() === `${HEADS.websocket}are you there?`, "the held bytes to cross after the lift");
    expect(emu.connections()[0]?.state).toBe("open");
  });

  test("the offline preset for one transport black-holes it and leaves the others flowing", async () => {
    const echo = await echoServer();
    const emu = await emulator({ port: echo.port });
    const sse = await client(emu.port);
    const poll = await client(emu.port);
    sse.socket.write(HEADS.sse);
    poll.socket.write(HEADS["short-poll"]);
    await until(() => sse.text() === HEADS.sse && poll.text() === HEADS["short-poll"], "both heads echoed");

    emu.setConditions("offline", { transport: "sse" });
    sse.socket.write("1");
    poll.socket.write("2");
    await until(() => poll.text().endsWith("2"), "the poll connection's echo");
    await sleep(200);
    expect(sse.text()).toBe(HEADS.sse);
    expect(sse.closed).toBe(false);
    emu.clearConditions({ transport: "sse" });
    await until(() => sse.text().endsWith("1"), "the SSE echo after the lift");
  });

  test("a keep-alive connection last used by a black-holed transport lets another transport's next request through", async () => {
    // A shared connection pool reuses one connection for several clients: the SSE client's
    // history load, then a short poll. Black-holing SSE must not stall the short poll.
    const server = await tcpServer();
    const emu = await emulator({ port: server.port });
    const c = await client(emu.port);
    c.socket.write(HEADS.sse);
    await until(() => server.received[0]?.length === 1, "the SSE request at the server");
    emu.blackhole({ transport: "sse", on: true });
    expect(emu.connections()[0]).toMatchObject({ transport: "sse", state: "blackholed" });

    c.socket.write(HEADS["short-poll"]);
    await until(() => emu.connections()[0]?.transport === "short-poll", "the short poll to be classified");
    await until(() => Buffer.concat(server.received[0]!).toString("latin1") === HEADS.sse + HEADS["short-poll"], "the short poll at the server");
    expect(emu.connections()[0]?.state).toBe("open");
  });

  test("a FIN sent into the black hole waits there too", async () => {
    const echo = await echoServer();
    const emu = await emulator({ port: echo.port });
    const c = await client(emu.port);
    c.socket.write("hi");
    await until(() => c.text() === "hi", "the echo");
    emu.blackhole({ on: true });
    c.socket.end();
    await sleep(300);
    expect(echo.endings[0]).toBeUndefined();
    emu.blackhole({ on: false });
    await until(() => echo.endings[0] === "end", "the FIN at the server");
    await until(() => c.closed, "the client to close");
    await until(() => emu.connections().length === 0, "the emulator to forget the connection");
  });
});

describe("drop", () => {
  async function twoConnections() {
    const echo = await echoServer();
    const emu = await emulator({ port: echo.port });
    const sse = await client(emu.port);
    const ws = await client(emu.port);
    sse.socket.write(HEADS.sse);
    ws.socket.write(HEADS.websocket);
    await until(() => sse.text() === HEADS.sse && ws.text() === HEADS.websocket, "both heads echoed");
    return { echo, emu, sse, ws };
  }

  test("reset: the client sees ECONNRESET, and only the selected transport is touched", async () => {
    const { echo, emu, sse, ws } = await twoConnections();
    expect(emu.drop({ transport: "sse", mode: "reset" })).toBe(1);
    await until(() => sse.closed, "the SSE client to close");
    expect(sse.events).toContain("ECONNRESET");
    expect(sse.events).not.toContain("end");
    await until(() => echo.endings[0] !== undefined, "the server side of it to end");
    expect(echo.endings[0]).toBe("ECONNRESET");

    ws.socket.write("still here");
    await until(() => ws.text().endsWith("still here"), "the WebSocket connection's echo");
    expect(ws.events).toEqual([]);
    expect(emu.connections().map((c) => c.transport)).toEqual(["websocket"]);
  });

  test("close: the client sees a clean end (FIN), no error", async () => {
    const { echo, emu, sse, ws } = await twoConnections();
    expect(emu.drop({ transport: "websocket", mode: "close" })).toBe(1);
    await until(() => ws.closed, "the WebSocket client to close");
    expect(ws.events).toEqual(["end"]);
    await until(() => echo.endings[1] !== undefined, "the server side of it to end");
    expect(echo.endings[1]).toBe("end");
    expect(sse.closed).toBe(false);
    expect(emu.drop({ transport: "websocket" }), "nothing left to drop").toBe(0);
  });

  test("drop without a transport takes every connection", async () => {
    const { emu, sse, ws } = await twoConnections();
    expect(emu.drop({ mode: "reset" })).toBe(2);
    await until(() => sse.closed && ws.closed, "both to close");
    await until(() => emu.connections().length === 0, "no connections left");
  });

  test("drop.afterMs ends each connection that long after it opened", async () => {
    const echo = await echoServer();
    const emu = await emulator({ port: echo.port, conditions: { drop: { afterMs: 300, mode: "close" } } });
    const opened = performance.now();
    const c = await client(emu.port);
    await until(() => c.closed, "the timed drop", 5_000);
    expect(performance.now() - opened).toBeGreaterThanOrEqual(300);
    expect(c.events).toEqual(["end"]);
  });

  test("drop.perMinute drops connections at random, at about that rate", async () => {
    const echo = await echoServer();
    // 1,200 per minute is one every 50 ms on average: all ten go within seconds.
    const emu = await emulator({ port: echo.port, conditions: { drop: { perMinute: 1200, mode: "reset" } } });
    const clients = await Promise.all(Array.from({ length: 10 }, () => client(emu.port)));
    await until(() => clients.every((c) => c.closed), "every connection dropped", 10_000);
    for (const c of clients) expect(c.events).toContain("ECONNRESET");
  });

  test("a server that refuses the connection is an RST at the client", async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const emu = await emulator({ port });
    const c = await client(emu.port);
    await until(() => c.closed, "the client to be cut");
    expect(c.events).toContain("ECONNRESET");
  });
});

describe("bad conditions", () => {
  const emu = () => new NetworkEmulator({ target: { host: "127.0.0.1", port: 9 } });

  test.each([
    [{ up: { latencyMs: -5 } }, /up\.latencyMs must be >= 0 \(got -5\)/],
    [{ down: { jitterMs: Number.NaN } }, /down\.jitterMs must be a finite number \(got NaN\)/],
    [{ up: { latencyMs: Number.POSITIVE_INFINITY } }, /up\.latencyMs must be a finite number/],
    [{ down: { bandwidthBytesPerSec: 0 } }, /down\.bandwidthBytesPerSec must be > 0/],
    [{ preset: "warp-speed" }, /preset must be one of none, slow-3g/],
    ["warp-speed", /preset must be one of/],
    [{ up: { latency: 100 } }, /up\.latency is not a known field/],
    [{ drop: { mode: "explode" } }, /drop\.mode must be one of reset, close/],
    [{ drop: { perMinute: -1 } }, /drop\.perMinute must be >= 0/],
    [{ blackhole: "yes" }, /blackhole must be true or false/],
    [null, /conditions must be an object or a preset name \(got null\)/],
    [{ up: 5 }, /up must be an object \(got 5\)/],
  ])("%j is refused with a TypeError naming the field", (input, message) => {
    const e = emu();
    e.setConditions("fast-3g");
    expect(() => e.setConditions(input as never)).toThrow(TypeError);
    expect(() => e.setConditions(input as never)).toThrow(message);
    expect(e.conditions().default.preset, "nothing changed").toBe("fast-3g");
  });

  test("bad selectors and options are refused too", () => {
    const e = emu();
    expect(() => e.setConditions({}, { transport: "pigeon" as never })).toThrow(/transport must be one of/);
    expect(() => e.drop({ mode: "gently" as never })).toThrow(/mode must be one of reset, close/);
    expect(() => e.blackhole({ on: "yes" as never })).toThrow(/on must be true or false/);
    expect(() => new NetworkEmulator({ target: { host: "127.0.0.1", port: 0 } })).toThrow(TypeError);
  });

  test("the exported schema is the same check, for the admin API", () => {
    expect(NetworkConditionsSchema.safeParse({ up: { latencyMs: 10 } }).success).toBe(true);
    const result = NetworkConditionsSchema.safeParse({ up: { latencyMs: -1 } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(["up", "latencyMs"]);
  });
});
