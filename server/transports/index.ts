/** The four transports, by name. */
import type { TransportName } from "../../web/src/isomorphic/protocol/index.js";
import { LongPollTransport } from "./LongPollTransport.js";
import { ShortPollTransport } from "./ShortPollTransport.js";
import { SseTransport } from "./SseTransport.js";
import type { Transport, TransportContext } from "./Transport.js";
import { WebSocketTransport } from "./WebSocketTransport.js";

export type { PollingTransport, Transport, TransportContext } from "./Transport.js";

/** The four transports, each as its own class, so the poll route can reach the two that poll. */
export interface Transports extends Record<TransportName, Transport> {
  "short-poll": ShortPollTransport;
  "long-poll": LongPollTransport;
  sse: SseTransport;
  websocket: WebSocketTransport;
}

export function createTransports(ctx: TransportContext): Transports {
  return {
    "short-poll": new ShortPollTransport(ctx),
    "long-poll": new LongPollTransport(ctx),
    sse: new SseTransport(ctx),
    websocket: new WebSocketTransport(ctx),
  };
}
