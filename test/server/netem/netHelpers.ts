/**
 * Helpers for the network emulator tests: small TCP servers on 127.0.0.1 port 0 to put behind the
 * emulator, a client that records what it sees, and waiting by polling a condition.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { NetworkEmulator, type NetworkEmulatorOptions } from "../../../server/netem/index.js";

const cleanups: Array<() => unknown> = [];

/** Run (in reverse order) everything registered since the last call; for afterEach. */
export async function cleanup(): Promise<void> {
  for (const run of cleanups.splice(0).reverse()) await run();
}

export interface TestServer {
  port: number;
  /** Server-side sockets, in the order they connected. */
  sockets: Socket[];
  /** Bytes each server-side socket received. */
  received: Buffer[][];
  /** How each server-side socket ended: "end" (FIN), an error code, or undefined while open. */
  endings: Array<string | undefined>;
}

/** What server-side socket `index` has received so far, as text (TCP may split or merge writes). */
export function receivedText(server: TestServer, index = 0): string {
  return Buffer.concat(server.received[index] ?? []).toString("latin1");
}

/** A TCP server; `onSocket` decides what it does (by default nothing but record). */
export async function tcpServer(onSocket: (socket: Socket, index: number) => void = () => {}): Promise<TestServer> {
  const state: TestServer = { port: 0, sockets: [], received: [], endings: [] };
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const index = state.sockets.push(socket) - 1;
    state.received.push([]);
    state.endings.push(undefined);
    socket.on("data", (chunk: Buffer) => state.received[index]!.push(chunk));
    socket.on("end", () => {
      state.endings[index] ??= "end";
      socket.end();
    });
    socket.on("error", (error: NodeJS.ErrnoException) => (state.endings[index] ??= error.code ?? "error"));
    onSocket(socket, index);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.port = (server.address() as AddressInfo).port;
  cleanups.push(() => {
    for (const socket of state.sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return state;
}

/** A TCP server that writes back whatever it reads. */
export function echoServer(): Promise<TestServer> {
  return tcpServer((socket) => socket.on("data", (chunk: Buffer) => socket.write(chunk)));
}

export async function emulator(options: Omit<NetworkEmulatorOptions, "target"> & { port: number }): Promise<NetworkEmulator> {
  const { port, ...rest } = options;
  const emu = await NetworkEmulator.start({ target: { host: "127.0.0.1", port }, ...rest });
  cleanups.push(() => emu.close());
  return emu;
}

export interface TestClient {
  socket: Socket;
  received: Buffer[];
  text(): string;
  bytes(): number;
  /** "end" once a FIN arrived, an error code on error; "close" is recorded in `closed`. */
  events: string[];
  closed: boolean;
}

export async function client(port: number): Promise<TestClient> {
  const socket = connect({ host: "127.0.0.1", port, noDelay: true });
  const c: TestClient = {
    socket,
    received: [],
    text: () => Buffer.concat(c.received).toString("latin1"),
    bytes: () => c.received.reduce((n, b) => n + b.length, 0),
    events: [],
    closed: false,
  };
  socket.on("data", (chunk: Buffer) => c.received.push(chunk));
  socket.on("end", () => c.events.push("end"));
  socket.on("error", (error: NodeJS.ErrnoException) => c.events.push(error.code ?? "error"));
  socket.on("close", () => (c.closed = true));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  cleanups.push(() => socket.destroy());
  return c;
}

/** Wait until `condition` holds, checking every few ms; fails with `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A request head as a client of each transport sends it (what the proxy classifies by). */
export const HEADS = {
  "short-poll": "GET /v1/rooms/lobby/messages?since=3&limit=50 HTTP/1.1\r\nHost: x\r\n\r\n",
  "long-poll": "GET /v1/rooms/lobby/messages?since=3&wait=25000 HTTP/1.1\r\nHost: x\r\n\r\n",
  sse: "GET /v1/rooms/lobby/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n",
  websocket:
    "GET /v1/rooms/lobby/ws?token=t HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
  other: "POST /v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{\"name\":\"ada\"}",
} as const;
