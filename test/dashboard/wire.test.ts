import { describe, expect, test } from "vitest";
import { describeWire, shortPath, sseFramingBytes, wsFrameHeaderBytes } from "../../web/src/viewmodels/wire.js";

describe("wire records made readable", () => {
  test("WebSocket frame headers follow RFC 6455: 2 bytes, longer lengths, and the client's mask", () => {
    expect(wsFrameHeaderBytes(0, false)).toBe(2);
    expect(wsFrameHeaderBytes(125, false)).toBe(2);
    expect(wsFrameHeaderBytes(126, false)).toBe(4);
    expect(wsFrameHeaderBytes(65_535, false)).toBe(4);
    expect(wsFrameHeaderBytes(65_536, false)).toBe(10);
    expect(wsFrameHeaderBytes(100, true)).toBe(6);
  });

  test("SSE framing counts the field names, the blank line and the chunk header", () => {
    // "event:message\nid:7\ndata:" + 100 bytes + "\n\n" = 125 bytes, sent as chunk "7d\r\n…\r\n".
    const fields = "event:message\nid:7\ndata:\n\n".length;
    expect(sseFramingBytes("message", "7", 100)).toBe(fields + 2 + 4);
  });

  test("API paths lose their room prefix", () => {
    expect(shortPath("/v1/rooms/lobby/messages?since=3")).toBe("/messages?since=3");
    expect(shortPath("/v1/rooms/my-room/ws?since=1")).toBe("/ws?since=1");
    expect(shortPath("/v1/stats")).toBe("/v1/stats");
  });

  test("an HTTP round trip keeps status, sizes and duration; its headers are unknown", () => {
    const entry = describeWire(1, { kind: "http", at: 5, method: "GET", path: "/v1/rooms/lobby/messages?since=3", status: 200, bytesOut: 0, bytesIn: 35, durationMs: 4 }, 3);
    expect(entry).toMatchObject({ n: 1, kind: "http", direction: "both", label: "GET /messages?since=3 → 200", bytesIn: 35, bytesOut: 0, status: 200, durationMs: 4 });
    expect(entry.framingBytes).toBeUndefined();
  });

  test("a WebSocket frame has a direction and an exact header size", () => {
    const out = describeWire(2, { kind: "ws", at: 5, direction: "out", bytes: 90, frame: "send" }, 3);
    expect(out).toMatchObject({ direction: "out", label: "frame: send", bytesOut: 90, bytesIn: 0, framingBytes: 6, framingExact: true });
    const into = describeWire(3, { kind: "ws", at: 6, direction: "in", bytes: 200, frame: "message" }, 3);
    expect(into).toMatchObject({ direction: "in", bytesIn: 200, framingBytes: 4, framingExact: true });
  });

  test("an SSE event is incoming with estimated framing", () => {
    const entry = describeWire(4, { kind: "sse", at: 5, event: "message", bytes: 200 }, 9);
    expect(entry).toMatchObject({ direction: "in", label: "event: message", bytesIn: 200, framingExact: false });
    expect(entry.framingBytes).toBe(sseFramingBytes("message", "10", 200));
  });
});
