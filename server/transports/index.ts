/** The four transports, by name. */
import type { TransportName } from "../../web/src/protocol/index.js";
import { LongPollTransport } from "./LongPollTransport.js";
import { ShortPollTransport } from "./ShortPollTransport.js";
import { SseTransport } from "./SseTransport.js";
import type { Transport, TransportContext } from "./Transport.js";
import { WebSocketTransport } from "./WebSocketTransport.js";

export type { Transport, TransportContext } from "./Transport.js";

export function createTransports(ctx: TransportContext): Record<TransportName, Transport> {
  return {
    "short-poll": new ShortPollTransport(ctx),
    "long-poll": new LongPollTransport(ctx),
    sse: new SseTransport(ctx),
    websocket: new WebSocketTransport(ctx),
  };
}
