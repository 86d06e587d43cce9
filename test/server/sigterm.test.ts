/**
 * SIGTERM during a stream of sends, against a real `wirelab serve` process: every acknowledged
 * send is in the store afterwards, and each transport's client sees the documented goodbye —
 * WebSocket 1012 (service restart), SSE a `goodbye` event with reason "restart", a parked long
 * poll a 503 with Retry-After.
 */
import { join } from "node:path";
import { EventSource } from "eventsource";
import { WebSocket } from "ws";
import { expect, test } from "vitest";
import { ServerProcess } from "../../server/ServerProcess.js";
import { FeedHttp } from "../../web/src/isomorphic/kit/index.js";
import { tempDir, until } from "../helpers.js";

test("SIGTERM loses no acknowledged send, and every transport's client is told the server restarts", async () => {
  const { dir, cleanup } = tempDir();
  const data = join(dir, "feed.db");
  const server = await ServerProcess.start(["--data", data, "--network-port", "off"], { WIRELAB_SECRET: "" });
  let after: ServerProcess | undefined;
  try {
    const { token } = await FeedHttp.createSession(server.url, "ada");
    const wsUrl = `${server.url.replace("http", "ws")}/v1/rooms/lobby/ws?token=${token}`;

    // A listener socket and a sender socket that sends as fast as acks come back.
    const listener = new WebSocket(wsUrl);
    const listenerClosed = new Promise<number>((resolve) => listener.once("close", (code) => resolve(code)));
    await new Promise((resolve) => listener.once("open", resolve));
    const sender = new WebSocket(wsUrl);
    await new Promise((resolve) => sender.once("open", resolve));
    const acked = new Set<string>();
    let sent = 0;
    const sendNext = () => {
      if (sender.readyState !== WebSocket.OPEN) return;
      sender.send(JSON.stringify({ type: "send", id: `m-${++sent}`, text: `message ${sent}` }));
    };
    sender.on("message", (raw) => {
      const frame = JSON.parse(raw.toString());
      if (frame.type === "ack") {
        acked.add(frame.id);
        sendNext();
      }
    });
    for (let i = 0; i < 8; i++) sendNext();

    const events = new EventSource(`${server.url}/v1/rooms/lobby/events?token=${token}`);
    const goodbye = new Promise<{ reason: string }>((resolve) =>
      events.addEventListener("goodbye", (event) => resolve(JSON.parse((event as MessageEvent).data))),
    );
    await new Promise((resolve) => events.addEventListener("hello", resolve));
    const parked = fetch(`${server.url}/v1/rooms/quiet/messages?since=0&wait=30000`, { headers: { authorization: `Bearer ${token}` } });

    await until(() => acked.size >= 50, "sends to be flowing");
    server.child.kill("SIGTERM");
    const exitCode = await new Promise<number | null>((resolve) => server.child.once("exit", (code) => resolve(code)));
    events.close();

    expect(exitCode).toBe(0);
    expect(await listenerClosed).toBe(1012);
    expect((await goodbye).reason).toBe("restart");
    const poll = await parked;
    expect(poll.status).toBe(503);
    expect(poll.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await poll.json()).error.code).toBe("unavailable");

    // The same data file, the same (persisted) secret: the old token reads every acknowledged send.
    after = await ServerProcess.start(["--data", data, "--network-port", "off"], { WIRELAB_SECRET: "" });
    const stored = new Set<string>();
    for (let since = 0; ; ) {
      const page = (await (await fetch(`${after.url}/v1/rooms/lobby/messages?since=${since}&limit=1000&token=${token}`)).json()) as {
        messages: Array<{ id: string }>;
        next: number;
      };
      for (const message of page.messages) stored.add(message.id);
      if (page.messages.length === 0) break;
      since = page.next;
    }
    const lost = [...acked].filter((id) => !stored.has(id));
    expect(lost).toEqual([]);
    expect(acked.size).toBeGreaterThanOrEqual(50);
  } finally {
    await server.stop().catch(() => {});
    await after?.stop();
    cleanup();
  }
});
