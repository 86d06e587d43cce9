/** How each transport is named and coloured everywhere in the dashboard (panels, charts, wire view). */
import type { TransportName } from "../isomorphic/protocol/index.js";

export interface TransportLook {
  label: string;
  /** One line on what it does, shown under the panel title. */
  blurb: string;
  /** Line and accent colour (Okabe–Ito palette: tells apart with colour-blindness too). */
  color: string;
}

export const TRANSPORT_LOOK: Record<TransportName, TransportLook> = {
  "short-poll": { label: "Short poll", blurb: "asks every 2 s, news or not", color: "#d55e00" },
  "long-poll": { label: "Long poll", blurb: "server holds each request until news", color: "#a0479b" },
  sse: { label: "SSE", blurb: "one response that never ends", color: "#00876a" },
  websocket: { label: "WebSocket", blurb: "one socket, frames both ways", color: "#0072b2" },
};
