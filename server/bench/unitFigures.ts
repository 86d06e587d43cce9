/**
 * The figures of one benchmark unit, from what the load workers and the probes measured: pure
 * functions (no processes, no clock), so each is unit-tested on known numbers.
 */
import * as hdr from "hdr-histogram-js";
import type { StatsResponse, TransportName } from "../../web/src/isomorphic/protocol/index.js";
import { bytesPerMessage, distribution, durationSummary, perDelivered, roundMs } from "../../web/src/isomorphic/stats/figures.js";
import type { BenchLatency, BenchTransportResult, MemorySample, ServedBy, ServerUsage } from "./BenchReport.js";
import type { InstanceSeries } from "./InstanceSampler.js";
import { slope, type ProcessSample } from "./ProcessProbe.js";
import type { GroupResult } from "./protocol.js";

/** Percentiles the report keeps for the latency CDF chart. */
const CDF_PERCENTILES = [0, 5, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 97.5, 99, 99.5, 99.9, 99.99, 100];

export interface UnitFacts {
  firstMeasuredSendAt: number;
  wire: BenchTransportResult["wire"];
  server: ServerUsage | null;
  samples: MemorySample[];
  connect: { ms: number[]; allMs: number; failed: number };
  timeline: Array<{ t: number; perSecond: number }>;
  instances: InstanceSeries[];
  sendFailures: number;
}

export function transportResult(transport: TransportName, servedBy: ServedBy, groups: GroupResult[], facts: UnitFacts): BenchTransportResult {
  const sum = (f: (g: GroupResult) => number) => groups.reduce((total, g) => total + f(g), 0);
  const histogram = hdr.build({ numberOfSignificantValueDigits: 3, autoResize: true, useWebAssembly: false });
  for (const g of groups) if (g.histogram) histogram.add(hdr.decodeFromCompressedBase64(g.histogram, 64, false));
  const delivered = sum((g) => g.delivered);
  const expected = sum((g) => g.expected);
  const measured = sum((g) => g.measured);
  const lastMeasuredAt = Math.max(...groups.map((g) => g.lastMeasuredAt ?? 0));
  const requests = sum((g) => g.requests);
  const reconnectMs = groups.flatMap((g) => g.reconnectMs);
  const reconnectDistribution = distribution(reconnectMs);
  const memoryPerConnectionBytes = slope(facts.samples.map((s) => ({ x: s.connections, y: s.rssBytes })));
  return {
    transport,
    servedBy,
    clients: sum((g) => g.clients),
    expected,
    delivered,
    lost: Math.max(0, expected - delivered),
    duplicated: sum((g) => g.duplicated),
    measured,
    latency: latencyOf(histogram),
    deliveriesPerSecond: measured > 0 && lastMeasuredAt > facts.firstMeasuredSendAt ? (measured * 1000) / (lastMeasuredAt - facts.firstMeasuredSendAt) : null,
    requests,
    requestsPerMessage: perDelivered(requests, delivered),
    clientBytesIn: sum((g) => g.bytesIn),
    clientBytesOut: sum((g) => g.bytesOut),
    wire: facts.wire,
    bytesPerMessage: bytesPerMessage(facts.wire, delivered),
    reconnects: sum((g) => g.reconnects),
    reconnectedClients: sum((g) => g.reconnectedClients),
    movedClients: groups.some((g) => g.movedClients === null) ? null : sum((g) => g.movedClients ?? 0),
    reconnectMs: durationSummary(reconnectMs),
    reconnectDistribution,
    detectMs: null,
    connectMs: distribution(facts.connect.ms),
    connectAllMs: facts.connect.ms.length > 0 ? roundMs(facts.connect.allMs) : null,
    server: facts.server,
    memoryPerConnectionBytes: memoryPerConnectionBytes === null ? null : Math.round(memoryPerConnectionBytes),
    memorySamples: facts.samples,
    timeline: facts.timeline.map((p) => ({ t: p.t, perSecond: roundMs(p.perSecond) })),
    instances: facts.instances,
    sendFailures: facts.sendFailures,
  };
}

type Histogram = ReturnType<typeof hdr.build>;

export function latencyOf(histogram: Histogram): BenchLatency {
  const ms = (us: number) => roundMs(us / 1000);
  if (histogram.totalCount === 0) return { count: 0, mean: null, p50: null, p90: null, p95: null, p99: null, p999: null, max: null, cdf: [] };
  const at = (percentile: number) => (percentile >= 100 ? ms(histogram.maxValue) : ms(histogram.getValueAtPercentile(percentile)));
  return {
    count: histogram.totalCount,
    mean: ms(histogram.mean),
    p50: at(50),
    p90: at(90),
    p95: at(95),
    p99: at(99),
    p999: at(99.9),
    max: at(100),
    cdf: CDF_PERCENTILES.map((percentile) => ({ percentile, ms: at(percentile) })),
  };
}



export function serverUsage(before: ProcessSample | null, after: ProcessSample | null, seconds: number): ServerUsage | null {
  if (!before || !after) return null;
  const cpuSeconds = after.cpuSeconds - before.cpuSeconds;
  return { cpuSeconds: roundMs(cpuSeconds), cpuCores: roundMs(seconds > 0 ? cpuSeconds / seconds : 0), rssBytes: after.rssBytes, peakRssBytes: after.peakRssBytes };
}
