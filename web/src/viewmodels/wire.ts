/**
 * What crossed the wire, made readable: a `WireEntry` per kit `WireRecord`, with the framing
 * each transport adds on top of the payload where the client can know it.
 */
import type { WireRecord } from "../isomorphic/kit/index.js";

export interface WireEntry {
  /** Running number within one log, for keyed rendering. */
  n: number;
  /** When it started (ms since the epoch). */
  at: number;
  kind: WireRecord["kind"];
  /** "out": client → server, "in": server → client, "both": an HTTP round trip. */
  direction: "out" | "in" | "both";
  /** What it was: "GET /messages?since=3 → 200", "event: message", "frame: ack". */
  label: string;
  /** Body, event data or frame payload bytes sent by the client. */
  bytesOut: number;
  /** Body, event data or frame payload bytes received by the client. */
  bytesIn: number;
  /**
   * Bytes the transport adds around the payload: the WebSocket frame header (exact), the SSE
   * field names and chunk header (estimated). Undefined for HTTP: fetch cannot see headers.
   */
  framingBytes: number | undefined;
  /** Whether `framingBytes` is computed exactly. */
  framingExact: boolean;
  /** HTTP only: time from request to complete response. */
  durationMs?: number;
  /** HTTP only. */
  status?: number;
}

/**
 * Size of a WebSocket frame header (RFC 6455 §5.2) for a payload of `payloadBytes`: 2 bytes,
 * plus 2 or 8 for a longer length, plus the 4-byte mask every client → server frame carries.
 */
export function wsFrameHeaderBytes(payloadBytes: number, masked: boolean): number {
  const extended = payloadBytes < 126 ? 0 : payloadBytes < 65_536 ? 2 : 8;
  return 2 + extended + (masked ? 4 : 0);
}

/**
 * Bytes an SSE event adds around its data as the wirelab server writes it
 * (`event:<name>\nid:<id>\ndata:<data>\n\n`, sent as one HTTP/1.1 chunk: `<hex size>\r\n…\r\n`).
 */
export function sseFramingBytes(event: string, id: string, dataBytes: number): number {
  const fields = "event:".length + event.length + 1 + "id:".length + id.length + 1 + "data:".length + 1 + 1;
  const chunk = fields + dataBytes;
  return fields + chunk.toString(16).length + 4;
}

/** Strip the room prefix from an API path: "/v1/rooms/lobby/messages?since=3" → "/messages?since=3". */
export function shortPath(path: string): string {
  return path.replace(/^\/v1\/rooms\/[^/?]+/, "") || path;
}

/**
 * Describe one kit record. `cursor` is the client's cursor when the record arrived: an SSE
 * message's id is its seq, about as long as the cursor, which is all the estimate needs.
 */
export function describeWire(n: number, record: WireRecord, cursor: number | undefined): WireEntry {
  switch (record.kind) {
    case "http":
      return {
        n,
        at: record.at,
        kind: "http",
        direction: "both",
        label: `${record.method} ${shortPath(record.path)} → ${record.status}`,
        bytesOut: record.bytesOut,
        bytesIn: record.bytesIn,
        framingBytes: undefined,
        framingExact: false,
        durationMs: record.durationMs,
        status: record.status,
      };
    case "sse":
      return {
        n,
        at: record.at,
        kind: "sse",
        direction: "in",
        label: `event: ${record.event}`,
        bytesOut: 0,
        bytesIn: record.bytes,
        framingBytes: sseFramingBytes(record.event, String((cursor ?? 0) + 1), record.bytes),
        framingExact: false,
      };
    case "ws":
      return {
        n,
        at: record.at,
        kind: "ws",
        direction: record.direction,
        label: `frame: ${record.frame}`,
        bytesOut: record.direction === "out" ? record.bytes : 0,
        bytesIn: record.direction === "in" ? record.bytes : 0,
        framingBytes: wsFrameHeaderBytes(record.bytes, record.direction === "out"),
        framingExact: true,
      };
  }
}

/** Did this wire record bring bytes from the server (an HTTP answer, an SSE event, an incoming frame)? */
export function isFromServer(record: WireRecord): boolean {
  return record.kind !== "ws" || record.direction === "in";
}
