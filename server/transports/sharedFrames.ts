/**
 * The fan-out fast path, in one place. A message bound for many subscribers is framed once — the
 * WebSocket frame by ws's own `Sender.frame()`, the SSE event by better-sse's `EventBuffer`, then one
 * HTTP/1.1 chunk — and the same buffer is written straight to each subscriber's socket. Through
 * `ws.send()` or `res.write()` every subscriber would re-encode and re-frame it: 13.3 CPU-s per
 * 1,000,000 WebSocket deliveries that way, 4.9 this way, and SSE fan-out went from ~50,000/s (the
 * server saturated) to 80,000–99,000/s (docs/benchmarks.md, "Server changes made for these figures").
 *
 * It is safe because neither library holds bytes of its own back: ws queues frames only for
 * permessage-deflate, which is off, and an SSE response's head (chunked or not) is written before
 * the first event. Everything else (hello, acks, errors, goodbyes) goes through the libraries.
 */
import type { Duplex } from "node:stream";
import { createEventBuffer } from "better-sse";
import { Sender } from "ws";

const TEXT_FRAME = { fin: true, opcode: 0x01, mask: false, readOnly: false, rsv1: false };

/** A complete server-to-client text frame (RFC 6455 §5.2), header and payload in one buffer. */
export function webSocketTextFrame(text: string): Buffer {
  return Buffer.concat(Sender.frame(Buffer.from(text), TEXT_FRAME));
}

/** One buffer for every stream, written and read in one go. Data is JSON made here: passed through. */
const events = createEventBuffer({ serializer: (data: unknown) => data as string });

/** An SSE event as text (event, id, data, retry, blank line), formatted by better-sse. */
export function sseEvent(event: string, data: string, id?: number, retryMs?: number): string {
  events.event(event);
  if (id !== undefined) events.id(String(id));
  events.data(data);
  if (retryMs !== undefined) events.retry(retryMs);
  const text = events.dispatch().read();
  events.clear();
  return text;
}

const CRLF = Buffer.from("\r\n");

/** `bytes` as one HTTP/1.1 chunk (RFC 9112 §7.1): what res.write() sends on a chunked response. */
export function httpChunk(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, CRLF]);
}

/**
 * Backpressure where the bytes are written: true when the socket holds more than `pauseAt` bytes
 * unsent, and then `follower` is resumed once it has drained. Only with a drain to come
 * (writableNeedDrain), so a paused stream is always resumed. The drain listener is made only
 * when pausing: this runs for every delivery to every subscriber.
 */
export function pauseIfFull(socket: Duplex, pauseAt: number, follower: { resume(): void }): boolean {
  if (!socket.writableNeedDrain || socket.writableLength <= pauseAt) return false;
  socket.once("drain", () => follower.resume());
  return true;
}
