/**
 * The hello is the first frame of every WebSocket (docs/protocol.md), on either feed. On Redis the
 * hello waits for the room's subscription, a round trip away; commands that arrive in that time
 * (RFC 6455 lets a client send right after the 101, or even in the same write as its handshake)
 * are answered after the hello, not before it.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../../server/app.js";
import type { WirelabOptions } from "../../../server/config.js";
import { session, startServer } from "../../helpers.js";
import { deleteKeys, redisForTests, testPrefix } from "../../redis.js";
import { OP, RawWebSocket, show, textFrame } from "./ws-raw.js";

const prefix = testPrefix();
let redisUrl: string;
beforeAll(async () => {
  redisUrl = (await redisForTests()).url;
});
afterAll(() => deleteKeys(redisUrl, prefix));

describe.each(["sqlite", "redis"] as const)("on the %s feed (found by fuzzing, a regression)", (backend) => {
  let server: Wirelab;
  let token: string;
  let port: number;
  beforeAll(async () => {
    const options: WirelabOptions = backend === "redis" ? { redisUrl, redisPrefix: prefix } : {};
    server = await startServer(options);
    port = Number(new URL(server.url).port);
    token = (await session(server)).token;
  });
  afterAll(() => server?.close());

  test("commands sent with the handshake are answered after the hello, in the order sent", async () => {
    // Was: on Redis the error and the ack went out before the hello, which came once subscribed.
    const early = Buffer.concat([
      textFrame("not json"),
      textFrame(JSON.stringify({ type: "send", id: "early-1", text: "before the hello" })),
      textFrame(JSON.stringify({ type: "nope" })),
    ]);
    const ws = await RawWebSocket.open(port, { token, room: `hello-first-${backend}`, early });
    try {
      const types: string[] = [];
      while (types.length < 5) {
        const frame = await ws.next();
        expect(frame.opcode, show(ws.received)).toBe(OP.text);
        const json = JSON.parse(frame.payload.toString("utf8")) as { type: string; code?: string };
        types.push(json.type === "error" ? `error:${json.code}` : json.type);
      }
      // The two refusals are answered at once, the send once stored; its ack precedes its message.
      expect(types, show(ws.received)).toEqual(["hello", "error:invalid_json", "error:invalid_command", "ack", "message"]);
    } finally {
      ws.destroy();
    }
  });
});
