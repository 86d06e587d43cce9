/**
 * A lab run's figures for one transport, from what its receiving clients saw: pure (no clients
 * running, no clock), so the lab engine's result building is unit-tested on known tallies.
 */
import type { TransportName } from "../protocol/index.js";
import type { FeedClient } from "../kit/FeedClient.js";
import type { Downtime } from "../stats/Downtime.js";
import { LatencyDistribution } from "../stats/LatencyDistribution.js";
import { bytesPerMessage, durationSummary, perDelivered, type WireCounts } from "../stats/figures.js";
import type { TransportResult } from "./LabResult.js";

/** One receiving client and what it saw. */
export interface Receiver {
  transport: TransportName;
  index: number;
  host: string;
  client: FeedClient;
  stateSince: number;
  seen: Map<string, number>;
  duplicated: number;
  /** Its time away from "open": where reconnect times come from. */
  downtime: Downtime;
  reconnectTimes: number[];
  /** When each reconnect completed. */
  reconnectedAt: number[];
  /** When the black hole affecting it began, until it notices. */
  blackholeAt: number | null;
  detected: number[];
  blackholed: number;
}

/** What a receiver's figures read of it: its tallies and its client's counters. */
export type ReceiverTally = Pick<Receiver, "seen" | "duplicated" | "reconnectTimes" | "detected" | "blackholed"> & {
  client: { stats: { counters: Pick<FeedClient["stats"]["counters"], "requests" | "bytesIn" | "bytesOut" | "reconnects"> } };
};

/**
 * `sentIds`: the messages the lab sent and the server acknowledged; a receiver's delivery of
 * anything else (history from before the run) is not counted. `wire`: the server's socket
 * counters for this transport over the run, null without them.
 */
export function receiversResult(
  transport: TransportName,
  receivers: readonly ReceiverTally[],
  latency: LatencyDistribution | undefined,
  sentIds: ReadonlySet<string>,
  wire: WireCounts | null,
): TransportResult {
  latency ??= new LatencyDistribution();
  const sum = (f: (r: ReceiverTally) => number) => receivers.reduce((total, r) => total + f(r), 0);
  const delivered = sum((r) => [...r.seen.keys()].filter((id) => sentIds.has(id)).length);
  const expected = sentIds.size * receivers.length;
  const requests = sum((r) => r.client.stats.counters.requests);
  const blackholed = sum((r) => r.blackholed);
  const detected = receivers.flatMap((r) => r.detected);
  return {
    transport,
    clients: receivers.length,
    expected,
    delivered,
    lost: Math.max(0, expected - delivered),
    duplicated: sum((r) => r.duplicated),
    latency: {
      count: latency.count,
      p50: latency.percentile(50) ?? null,
      p95: latency.percentile(95) ?? null,
      p99: latency.percentile(99) ?? null,
      max: latency.max ?? null,
    },
    requests,
    requestsPerMessage: perDelivered(requests, delivered),
    clientBytesIn: sum((r) => r.client.stats.counters.bytesIn),
    clientBytesOut: sum((r) => r.client.stats.counters.bytesOut),
    wire,
    bytesPerMessage: bytesPerMessage(wire, delivered),
    reconnects: sum((r) => r.client.stats.counters.reconnects),
    reconnectMs: durationSummary(receivers.flatMap((r) => r.reconnectTimes)),
    detectMs: blackholed > 0 ? { ...durationSummary(detected), of: blackholed } : null,
  };
}
