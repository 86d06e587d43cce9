/**
 * Through the network emulator every connection reaches the server from 127.0.0.1; the limits
 * must still count each one under the address of the client it carries, or one learner's
 * reconnect storm would lock the whole class out.
 */
import { request } from "node:http";
import { afterEach, expect, test } from "vitest";
import type { WirelabSupervisor } from "../../../server/WirelabSupervisor.js";
import { session, startSupervisor } from "../../helpers.js";

let supervisor: WirelabSupervisor | undefined;
afterEach(() => supervisor?.close());

/** Open an SSE stream from `localAddress` and report the status it got, then let it go. */
function openStream(url: string, token: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(`/v1/rooms/lobby/events?token=${token}`, url);
    const req = request({ host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, localAddress }, (res) => {
      resolve(res.statusCode ?? 0);
      res.destroy();
    });
    req.on("error", reject);
    req.end();
  });
}

test("stream opens through the emulator are limited per client address, not per emulator", async () => {
  supervisor = await startSupervisor({ connectsPerMinute: 2 });
  const network = supervisor.network!.url;
  const { token } = await session(supervisor);
  expect(await openStream(network, token, "127.0.0.2")).toBe(200);
  expect(await openStream(network, token, "127.0.0.2")).toBe(200);
  expect(await openStream(network, token, "127.0.0.2")).toBe(429);
  // Another learner, through the same emulator: a budget of their own.
  expect(await openStream(network, token, "127.0.0.3")).toBe(200);
});

test("the emulator and the server share one open-files budget: the emulator carries at most its share, and the server still answers", async () => {
  const { connect } = await import("node:net");
  // 8 connections in all: the emulator may carry 2 (each costs it two descriptors), the server keeps 4.
  supervisor = await startSupervisor({ maxConnections: 8 });
  expect(supervisor.current.config.maxConnections).toBe(4);
  const { port } = new URL(supervisor.network!.url);
  const sockets: import("node:net").Socket[] = [];
  /** Open a connection through the emulator; resolves with what a health check on it gets ("closed" if cut). */
  const healthOverEmulator = (socket: import("node:net").Socket) =>
    new Promise<string>((resolve) => {
      let reply = "";
      socket.on("data", (chunk) => {
        reply += chunk;
        if (reply.includes("\r\n\r\n")) resolve(reply.slice(0, reply.indexOf("\r\n")));
      });
      socket.once("close", () => resolve(reply === "" ? "closed" : reply.slice(0, reply.indexOf("\r\n"))));
      socket.once("connect", () => socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    });
  try {
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) {
      const socket = connect(Number(port), "127.0.0.1");
      sockets.push(socket);
      // Kept open after answering (keep-alive), so each one holds its place.
      answers.push(await healthOverEmulator(socket));
    }
    expect(answers).toEqual(["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "closed"]);
    expect((await fetch(`${supervisor.url}/healthz`)).status).toBe(200);
  } finally {
    for (const socket of sockets) socket.destroy();
  }
});
