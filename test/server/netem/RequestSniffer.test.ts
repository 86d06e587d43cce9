/** Finding and classifying request heads in a client → server byte stream, without sockets. */
import { describe, expect, test } from "vitest";
import { RequestSniffer, classifyRequest } from "../../../server/netem/index.js";

const head = (method: string, target: string, headers: Record<string, string> = {}) => ({
  method,
  target,
  headers: new Map(Object.entries(headers)),
});

describe("classifyRequest", () => {
  test.each([
    [head("GET", "/v1/rooms/lobby/ws", { upgrade: "websocket" }), "websocket"],
    [head("GET", "/v1/rooms/lobby/ws?token=abc", { upgrade: "WebSocket" }), "websocket"],
    [head("GET", "/v1/rooms/lobby/ws"), "other"],
    [head("GET", "/v1/rooms/lobby/events?token=abc"), "sse"],
    [head("GET", "/v1/rooms/lobby/messages"), "short-poll"],
    [head("GET", "/v1/rooms/lobby/messages?since=4&wait=0"), "short-poll"],
    [head("GET", "/v1/rooms/lobby/messages?since=4&wait=25000"), "long-poll"],
    [head("GET", "http://127.0.0.1:8080/v1/rooms/lobby/messages?wait=5"), "long-poll"],
    [head("POST", "/v1/rooms/lobby/messages"), "other"],
    [head("POST", "/v1/rooms/lobby/messages", { "x-wirelab-transport": "short-poll" }), "short-poll"],
    [head("GET", "/v1/rooms/lobby/messages/extra"), "other"],
    [head("GET", "/"), "other"],
    [head("GET", "/v1/stats", { "x-wirelab-transport": "carrier-pigeon" }), "other"],
    [head("GET", "/v1/rooms/lobby/messages?limit=50&transport=websocket"), "websocket"],
    [head("GET", "/v1/rooms/lobby/messages?since=3&transport=long-poll"), "long-poll"],
    [head("GET", "/v1/rooms/lobby/messages?transport=smoke"), "short-poll"],
  ])("%j is %s", (request, expected) => {
    expect(classifyRequest(request)).toBe(expected);
  });
});

describe("RequestSniffer", () => {
  test("pipelined requests in one chunk: the last head wins", () => {
    const sniffer = new RequestSniffer();
    const bytes = "GET /v1/rooms/a/messages HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/rooms/a/events HTTP/1.1\r\nHost: x\r\n\r\n";
    expect(sniffer.feed(Buffer.from(bytes))).toBe("sse");
  });

  test("a head split at every byte is found once complete, and not before", () => {
    const sniffer = new RequestSniffer();
    const bytes = Buffer.from("GET /v1/rooms/a/events HTTP/1.1\r\nHost: x\r\n\r\n");
    const results = [...bytes].map((b) => sniffer.feed(Buffer.from([b])));
    expect(results.slice(0, -1).every((r) => r === undefined)).toBe(true);
    expect(results.at(-1)).toBe("sse");
  });

  test("a Content-Length body is skipped, even when it looks like a request", () => {
    const sniffer = new RequestSniffer();
    const body = "GET /v1/rooms/a/events HTTP/1.1\r\n\r\n";
    expect(sniffer.feed(Buffer.from(`POST /v1/session HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`))).toBe("other");
    expect(sniffer.feed(Buffer.from(body.slice(10)))).toBeUndefined();
    expect(sniffer.feed(Buffer.from("\r\nGET /v1/rooms/a/messages?wait=9 HTTP/1.1\r\n\r\n"))).toBe("long-poll");
  });

  test("it stops for good after an upgrade, a chunked body, or bytes that are not HTTP/1", () => {
    for (const first of [
      "GET /v1/rooms/a/ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
      "POST /v1/session HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
      "\x16\x03\x01 TLS hello\r\n\r\n",
    ]) {
      const sniffer = new RequestSniffer();
      sniffer.feed(Buffer.from(first));
      expect(sniffer.active, JSON.stringify(first)).toBe(false);
      expect(sniffer.feed(Buffer.from("GET /v1/rooms/a/events HTTP/1.1\r\n\r\n"))).toBeUndefined();
    }
  });

  test("a head that never ends is given up on", () => {
    const sniffer = new RequestSniffer(1024);
    sniffer.feed(Buffer.alloc(2048, "a"));
    expect(sniffer.active).toBe(false);
  });
});
