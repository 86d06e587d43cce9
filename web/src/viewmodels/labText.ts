/**
 * A lab put into words for the dashboard: its steps, its numbers, and what a browser's
 * connection limit does to it. Pure, so the wording can be tested in Node.
 */
import type { TransportName } from "../isomorphic/protocol/index.js";
import { formatDuration, type LabDefinition, type Metric, type Phase } from "../isomorphic/lab/index.js";
import { formatBytes, formatCount } from "./format.js";

const via = (transport: TransportName | undefined) => (transport ? `, sent over ${transport}` : "");
const only = (transport: TransportName | undefined) => (transport ? ` (${transport} only)` : "");

/** What one step does, in a few words: "5 messages a second for 4 s", "the server restarts (down 1 s)". */
export function describePhase(phase: Phase): string {
  switch (phase.kind) {
    case "idle":
      return `nothing happens for ${formatDuration(phase.ms)}`;
    case "settle":
      return `wait ${formatDuration(phase.ms)} for reconnects to finish`;
    case "send":
      return `${phase.rate} message${phase.rate === 1 ? "" : "s"} a second for ${formatDuration(phase.ms)}${via(phase.via)}`;
    case "burst":
      return `${formatCount(phase.count)} message${phase.count === 1 ? "" : "s"} at once${via(phase.via)}`;
    case "drop":
      return `the server cuts ${phase.transport === "all" ? "every open connection" : `every ${phase.transport} connection`}`;
    case "restart":
      return `the server restarts (down ${formatDuration(phase.downtimeMs)})`;
    case "kill":
      return "the instance serving the most clients is killed (SIGKILL); its clients fail over";
    case "network":
      return `network: ${describeConditions(phase.conditions)}${only(phase.transport)}`;
    case "blackhole":
      return `the network silently carries nothing for ${formatDuration(phase.ms)}${only(phase.transport)}`;
    case "refuse":
      return `the server refuses new connections for ${formatDuration(phase.ms)}`;
    case "stall":
      return `the server's event loop is blocked for ${formatDuration(phase.ms)}`;
    case "jitter":
      return phase.on ? "reconnect jitter back on" : "reconnect jitter off: every client waits the full backoff";
  }
}

function describeConditions(conditions: unknown): string {
  if (typeof conditions === "string") return conditions === "none" ? "back to normal" : conditions;
  return "custom conditions";
}

/** How long the timed steps take, without connecting and without the final settle (which ends early). */
export function plannedMs(lab: LabDefinition): number {
  return lab.scenario.phases.reduce((total, p) => {
    switch (p.kind) {
      case "idle":
      case "settle":
      case "send":
      case "blackhole":
      case "refuse":
      case "stall":
        return total + p.ms;
      case "restart":
        return total + p.downtimeMs;
      default:
        return total;
    }
  }, 0);
}

/**
 * HTTP connections the lab's clients keep open all the time in one browser: one per long poll
 * and one per SSE stream (WebSockets do not count against the browser's six per server).
 */
export function heldConnections(lab: LabDefinition, clients: number): number {
  const holding = lab.scenario.transports.filter((t) => t === "long-poll" || t === "sse").length;
  return holding * clients;
}

/**
 * A browser opens at most six HTTP/1.1 connections per server. Held ones above four leave too few
 * for the polls and sends: requests queue, and the numbers measure the queue, not the transport.
 */
export const BROWSER_CONNECTIONS = 6;
export const COMFORTABLE_HELD = 4;

/** The most clients per transport that stay within the comfortable number of held connections. */
export function comfortableClients(lab: LabDefinition): number | null {
  const holding = heldConnections(lab, 1);
  return holding === 0 ? null : Math.max(1, Math.floor(COMFORTABLE_HELD / holding));
}

/**
 * Whether a page from this origin can give each lab client its own connections: Chromium (like
 * Firefox) resolves every name under .localhost to loopback, and counts its six connections per
 * host name, so `sse-3.localhost` is a pool of its own on the same server. Only when the page
 * itself came from this computer's loopback: from a class server's LAN address, .localhost would
 * reach the learner's own computer instead.
 */
export function ownPoolsPossible(pageOrigin: string): boolean {
  const { hostname } = new URL(pageOrigin);
  return hostname === "localhost" || hostname.endsWith(".localhost") || hostname === "127.0.0.1";
}

/** Where client `index` (from 0) of a transport connects with a pool of its own: "http://sse-4.localhost:8080". */
export function ownPoolOrigin(feedOrigin: string, transport: TransportName, index: number): string {
  const url = new URL(feedOrigin);
  url.hostname = `${transport}-${index + 1}.localhost`;
  return url.origin;
}

/** Transports that speak HTTP/1.1 for every message, so count against the browser's six per host. */
export const HTTP_TRANSPORTS: readonly TransportName[] = ["short-poll", "long-poll", "sse"];

/** A metric's value, readable: bytes as bytes, times in ms, counts with separators; "—" when not measured. */
export function formatMetric(metric: Metric, value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  switch (metric) {
    case "bytesPerMessage":
    case "wireBytesIn":
    case "wireBytesOut":
      return formatBytes(value);
    case "requestsPerMessage":
      return value.toFixed(2);
    case "reconnectMs":
    case "reconnectSpreadMs":
    case "detectMs":
    case "latency.p50":
    case "latency.p95":
    case "latency.p99":
    case "latency.max":
      return value < 10 && !Number.isInteger(value) ? value.toFixed(1) : formatCount(value);
    default:
      return formatCount(value);
  }
}
