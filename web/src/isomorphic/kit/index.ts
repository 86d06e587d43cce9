/**
 * The client kit: one interface (FeedClient), one implementation per transport. Isomorphic:
 * no DOM imports; Node passes in `ws` and `eventsource`, the browser uses its own.
 */
import type { TransportName } from "../protocol/index.js";
import type { FeedClient } from "./FeedClient.js";
import { LongPollClient, type LongPollClientOptions } from "./LongPollClient.js";
import { ShortPollClient, type ShortPollClientOptions } from "./ShortPollClient.js";
import { SseClient, type SseClientOptions } from "./SseClient.js";
import { WebSocketClient, type WebSocketClientOptions } from "./WebSocketClient.js";

export * from "./backoff.js";
export * from "./ClientStats.js";
export * from "./FeedClient.js";
export * from "./FeedHttp.js";
export * from "./JsonClient.js";
export * from "./Sequencer.js";
export * from "./SendPacer.js";
export * from "./SessionKeeper.js";
export * from "./tokens.js";
export * from "./WorkbenchApi.js";
export { LongPollClient, ShortPollClient, SseClient, WebSocketClient };
export type { LongPollClientOptions, ShortPollClientOptions, SseClientOptions, WebSocketClientOptions };
export type { EventSourceConstructor, EventSourceLike } from "./SseClient.js";
export type { WebSocketConstructor, WebSocketLike } from "./WebSocketClient.js";

export type AnyClientOptions = ShortPollClientOptions & LongPollClientOptions & SseClientOptions & WebSocketClientOptions;

export function createClient(transport: TransportName, options: AnyClientOptions): FeedClient {
  switch (transport) {
    case "short-poll":
      return new ShortPollClient(options);
    case "long-poll":
      return new LongPollClient(options);
    case "sse":
      return new SseClient(options);
    case "websocket":
      return new WebSocketClient(options);
  }
}
