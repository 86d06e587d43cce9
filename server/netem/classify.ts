/**
 * Which transport an HTTP request belongs to, judged from its request line and a few headers —
 * the only wirelab knowledge the proxy has. The paths are those of server/transports/Transport.ts.
 */
import { TRANSPORT_HEADER, TRANSPORT_PARAM, isTransportName, type TransportName } from "../../web/src/isomorphic/protocol/index.js";

/** What a connection carries: one of the four transports, or "other" (sessions, stats, static files…). */
export type ConnectionTransport = TransportName | "other";

export interface RequestHead {
  method: string;
  /** The request target as sent: origin form (`/v1/…?…`) or absolute form (`http://host/v1/…`). */
  target: string;
  /** Header names in lower case. */
  headers: ReadonlyMap<string, string>;
}

const ROOM_PATH = /^\/v1\/rooms\/[^/]+\/(ws|events|messages)$/;

export function classifyRequest(head: RequestHead): ConnectionTransport {
  // The kit's HTTP clients say which transport they are (a header on sends, ?transport= on GETs).
  // That declaration wins: the long-poll client opens with a wait=0 catch-up poll, a history load of
  // the WebSocket client is WebSocket cost, and a POST send belongs to the transport that made it.
  const target = head.target.replace(/^https?:\/\/[^/]*/i, "");
  const queryAt = target.indexOf("?");
  const query = new URLSearchParams(queryAt === -1 ? "" : target.slice(queryAt + 1));
  const declared = head.headers.get(TRANSPORT_HEADER)?.trim() ?? query.get(TRANSPORT_PARAM) ?? undefined;
  if (isTransportName(declared)) return declared;
  if (head.method !== "GET") return "other";

  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  const kind = ROOM_PATH.exec(path)?.[1];
  switch (kind) {
    case "ws":
      return /\bwebsocket\b/i.test(head.headers.get("upgrade") ?? "") ? "websocket" : "other";
    case "events":
      return "sse";
    case "messages": {
      const wait = Number(query.get("wait") ?? "0");
      return wait > 0 ? "long-poll" : "short-poll";
    }
    default:
      return "other";
  }
}
