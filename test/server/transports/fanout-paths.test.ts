/**
 * The fan-out hot paths the benchmark tuned: WebSocket frames built once for every subscriber,
 * and long-poll pages shared by a woken herd. Correctness only; no timing.
 */
import { describe, expect, test } from "vitest";
import { createRequire } from "node:module";
import { createParser } from "eventsource-parser";
import { Feed } from "../../../server/feed/Feed.js";
import { embeddedBackend } from "../../../server/feed/backends.js";
import { httpChunk, sseEvent, webSocketTextFrame } from "../../../server/transports/sharedFrames.js";

const ada = { id: "u-ada", name: "ada" };

interface FrameReceiver {
  on(event: string, listener: (...args: never[]) => void): void;
  write(chunk: Buffer): void;
}
/** ws's frame parser (exported by ws, not described by @types/ws). */
const Receiver = createRequire(import.meta.url)("ws").Receiver as new (options: { isServer: boolean; maxPayload: number }) => FrameReceiver;

/** Parse frames with ws's own client-side receiver, as a real peer would. */
function receive(frame: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const receiver = new Receiver({ isServer: false, maxPayload: 0 });
    receiver.on("message", (data: Buffer, isBinary: boolean) => (isBinary ? reject(new Error("binary")) : resolve(data.toString())));
    receiver.on("error", (error: Error) => reject(error));
    receiver.write(frame);
  });
}

describe("webSocketTextFrame (ws's Sender.frame)", () => {
  test.each([0, 1, 125, 126, 65_535, 65_536, 70_000])("a %i-byte text frame is what ws receives", async (size) => {
    const text = "é".repeat(Math.floor(size / 2)) + "x".repeat(size % 2);
    const frame = webSocketTextFrame(text);
    expect(frame[0]).toBe(0x81);
    expect(await receive(frame)).toBe(text);
  });
});

describe("sseEvent (better-sse's EventBuffer) and httpChunk", () => {
  test("an event reads back as it was meant, by an SSE parser", () => {
    const seen: Array<{ event?: string | undefined; id?: string | undefined; data: string }> = [];
    let retry: number | undefined;
    const parser = createParser({ onEvent: (e) => seen.push({ event: e.event, id: e.id, data: e.data }), onRetry: (ms) => (retry = ms) });
    parser.feed(sseEvent("message", '{"text":"é"}', 7) + sseEvent("goodbye", "{}", undefined, 2_000));
    expect(seen).toEqual([{ event: "message", id: "7", data: '{"text":"é"}' }, { event: "goodbye", id: undefined, data: "{}" }]);
    expect(retry).toBe(2_000);
  });

  test("a chunk's size is its length in bytes, in hex", () => {
    expect(httpChunk(Buffer.from("abc")).toString()).toBe("3\r\nabc\r\n");
    expect(httpChunk(Buffer.from("é")).toString()).toBe("2\r\né\r\n");
    expect(httpChunk(Buffer.alloc(300, "x")).subarray(0, 5).toString()).toBe("12c\r\n");
  });
});

describe("shared history pages", () => {
  test("readers of the same page share it until the room changes, and never get a stale one", async () => {
    const feed = new Feed(embeddedBackend(":memory:", 3));
    try {
      for (let i = 1; i <= 2; i++) await feed.publish("r", ada, { id: `m${i}`, text: `t${i}` });
      const first = await feed.read("r", 0, 10);
      expect(await feed.read("r", 0, 10)).toBe(first);
      expect(feed.pageJson(first)).toBe(JSON.stringify(first));
      // Another limit or cursor is another page.
      expect(await feed.read("r", 0, 1)).not.toBe(first);
      expect((await feed.read("r", 1, 10)).messages.map((m) => m.seq)).toEqual([2]);

      await feed.publish("r", ada, { id: "m3", text: "t3" });
      const after = await feed.read("r", 0, 10);
      expect(after).not.toBe(first);
      expect(after.messages.map((m) => m.seq)).toEqual([1, 2, 3]);

      // A prune (history limit 3) moves the oldest seq: the cursor now needs a reset.
      await feed.publish("r", ada, { id: "m4", text: "t4" });
      await feed.publish("r", ada, { id: "m5", text: "t5" });
      const pruned = await feed.read("r", 0, 10);
      expect(pruned).toMatchObject({ reset: true, oldest: 3 });
      expect(pruned.messages.map((m) => m.seq)).toEqual([3, 4, 5]);
    } finally {
      await feed.close();
    }
  });
});
