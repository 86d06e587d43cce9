/**
 * Through the network emulator every connection reaches the server from 127.0.0.1; the limits
 * must still count each one under the address of the client it carries, or one learner's
 * reconnect storm would lock the whole class out.
 */
import { request } from "node:http";
import { afterEach, expect, test } from "vitest";
import type { WirelabSupervisor } from "../../server/WirelabSupervisor.js";
import { session, startSupervisor } from "../helpers.js";

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
