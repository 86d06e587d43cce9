/**
 * The load hold: many connections of all four transports held open on one instance for a long
 * time while a publisher sends at a steady rate, no faults. Every sample interval it records the
 * server's resident memory and event-loop lag (the bench's InstanceSampler) and the delivery
 * latency of that interval; at the end a growth trend in any of them fails the run, as does a
 * message lost or seen twice.
 */
import * as hdr from "hdr-histogram-js";
import { WebSocket } from "ws";
import { createClient, newMessageId, sleep, type FeedClient } from "../../web/src/isomorphic/kit/index.js";
import { JsonClient } from "../../web/src/isomorphic/kit/JsonClient.js";
import { TRANSPORTS, type SendRequest, type SendResponse } from "../../web/src/isomorphic/protocol/index.js";
import { InstanceSampler } from "../bench/InstanceSampler.js";
import { NodeEventSource } from "../bench/NodeEventSource.js";
import { SoakSystem } from "./SoakSystem.js";
import { trendOf, type Trend, type TrendLimit } from "./trend.js";

export interface HoldOptions {
  durationMs: number;
  /** Connections held, spread evenly over the four transports. */
  connections: number;
  /** Messages per second over all rooms. */
  ratePerSecond: number;
  rooms: number;
  sampleIntervalMs: number;
  heartbeatMs: number;
  log: (line: string) => void;
}

export const HOLD_DEFAULTS: Omit<HoldOptions, "log"> = {
  durationMs: 600_000,
  connections: 1_000,
  ratePerSecond: 20,
  rooms: 10,
  sampleIntervalMs: 10_000,
  heartbeatMs: 15_000,
};

export interface HoldSample {
  /** Seconds since the hold began. */
  t: number;
  rssBytes: number | null;
  eventLoopLagP99Ms: number | null;
  /** Delivery latency of the messages received in this interval, over every client. */
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  delivered: number;
  open: number;
}

/** A leak or a slow-down, not noise: both limits must be exceeded. */
export const HOLD_LIMITS: Record<"rss" | "lag" | "latency", TrendLimit> = {
  rss: { relative: 0.2, absolute: 16 * 1024 * 1024 },
  lag: { relative: 0.5, absolute: 20 },
  latency: { relative: 0.5, absolute: 50 },
};

export interface HoldReport {
  options: Omit<HoldOptions, "log">;
  samples: HoldSample[];
  trends: Record<"rss" | "lag" | "latency", Trend>;
  sent: number;
  expected: number;
  delivered: number;
  duplicated: number;
  problems: string[];
  passed: boolean;
}

export async function runHold(options: HoldOptions): Promise<HoldReport> {
  // No faults here: the limits that would refuse a thousand connects a minute from one address are lifted.
  const system = await SoakSystem.start({ variant: "single", heartbeatMs: options.heartbeatMs, random: Math.random, loadTest: true });
  const clients: FeedClient[] = [];
  const rooms = Array.from({ length: options.rooms }, (_, i) => `hold-${i + 1}`);
  const window = hdr.build({ numberOfSignificantValueDigits: 3, autoResize: true, useWebAssembly: false });
  let delivered = 0;
  let windowDelivered = 0;
  try {
    const base = system.controlUrl;
    const sessions = new Map<number, string>();
    for (let i = 0; i < options.connections; i++) {
      // A session per 50 clients: under the per-user connection cap, few sessions to make.
      const s = Math.floor(i / 50);
      if (!sessions.has(s)) sessions.set(s, (await JsonClient.createSession(base, `hold-${s + 1}`)).token);
      const client = createClient(TRANSPORTS[i % TRANSPORTS.length]!, {
        baseUrl: base,
        token: sessions.get(s)!,
        room: rooms[i % rooms.length]!,
        history: 0,
        intervalMs: 2_000,
        waitMs: 25_000,
        maxLatencySamples: 1,
        WebSocket: WebSocket as never,
        EventSource: NodeEventSource as never,
      });
      client.on("message", (_m, latencyMs) => {
        delivered += 1;
        windowDelivered += 1;
        if (latencyMs !== undefined) window.recordValue(Math.max(0, Math.round(latencyMs)));
      });
      clients.push(client);
      client.connect();
      if (i % 100 === 99) await sleep(50);
    }
    const deadline = Date.now() + 60_000;
    while (clients.some((c) => c.state !== "open") && Date.now() < deadline) await sleep(100);
    const open = () => clients.filter((c) => c.state === "open").length;
    options.log(`${open()} of ${clients.length} connections open in ${rooms.length} rooms`);

    const publisher = new JsonClient(base, { token: system.admin.tokenSource });
    let sent = 0;
    const perRoom = new Map(rooms.map((r) => [r, 0]));
    const sampler = await InstanceSampler.start([{ pid: system.instances[0]!.process.pid, metricsUrl: `${base}/metrics` }], options.sampleIntervalMs);
    const latency: Array<Pick<HoldSample, "latencyP50Ms" | "latencyP99Ms" | "delivered" | "open">> = [];
    const started = Date.now();
    const sampleLatency = () => {
      const count = window.totalCount;
      latency.push({ latencyP50Ms: count ? window.getValueAtPercentile(50) : null, latencyP99Ms: count ? window.getValueAtPercentile(99) : null, delivered: windowDelivered, open: open() });
      window.reset();
      windowDelivered = 0;
    };
    const latencyTimer = setInterval(sampleLatency, options.sampleIntervalMs);
    const gap = 1000 / options.ratePerSecond;
    for (let n = 0; Date.now() - started < options.durationMs; n++) {
      const room = rooms[n % rooms.length]!;
      const body: SendRequest = { id: newMessageId(), text: `hold #${n}`, sentAt: Date.now() };
      try {
        await publisher.request<SendResponse>("POST", `/v1/rooms/${room}/messages`, body);
        sent += 1;
        perRoom.set(room, perRoom.get(room)! + 1);
      } catch (error) {
        options.log(`send failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      await sleep(Math.max(0, started + (n + 1) * gap - Date.now()));
      if (n % Math.max(1, Math.round(options.ratePerSecond * 60)) === 0 && n > 0) options.log(`${Math.round((Date.now() - started) / 1000)} s: ${sent} sent, ${delivered} delivered, ${open()} open`);
    }
    clearInterval(latencyTimer);
    const series = (await sampler.stop())[0]!.samples;
    sampleLatency();
    const expected = rooms.reduce((sum, r) => sum + perRoom.get(r)! * clients.filter((c) => c.room === r).length, 0);
    const settle = Date.now() + 30_000;
    while (delivered < expected && Date.now() < settle) await sleep(100);
    const samples: HoldSample[] = series.map((s, i) => ({
      t: Math.round(s.t / 100) / 10,
      rssBytes: s.rssBytes,
      eventLoopLagP99Ms: s.eventLoopLagP99Ms,
      ...(latency[i - 1] ?? { latencyP50Ms: null, latencyP99Ms: null, delivered: 0, open: open() }),
    }));
    const trends = {
      rss: trendOf(samples.map((s) => ({ t: s.t * 1000, value: s.rssBytes })), HOLD_LIMITS.rss),
      lag: trendOf(samples.map((s) => ({ t: s.t * 1000, value: s.eventLoopLagP99Ms })), HOLD_LIMITS.lag),
      latency: trendOf(samples.map((s) => ({ t: s.t * 1000, value: s.latencyP99Ms })), HOLD_LIMITS.latency),
    };
    const duplicated = clients.reduce((n, c) => n + c.stats.counters.duplicates, 0);
    const problems = [
      ...(trends.rss.growing ? [`server memory grows: ${mb(trends.rss.start)} → ${mb(trends.rss.end)} MB over the hold`] : []),
      ...(trends.lag.growing ? [`event-loop lag p99 grows: ${ms(trends.lag.start)} → ${ms(trends.lag.end)} ms`] : []),
      ...(trends.latency.growing ? [`delivery latency p99 grows: ${ms(trends.latency.start)} → ${ms(trends.latency.end)} ms`] : []),
      ...(delivered < expected ? [`${expected - delivered} of ${expected} deliveries missing`] : []),
      ...(duplicated > 0 ? [`${duplicated} messages seen twice`] : []),
      ...(open() < clients.length ? [`${clients.length - open()} connections not open at the end`] : []),
    ];
    const { log: _log, ...kept } = options;
    return { options: kept, samples, trends, sent, expected, delivered, duplicated, problems, passed: problems.length === 0 };
  } finally {
    for (const c of clients) c.close();
    await system.close();
  }
}

const mb = (bytes: number | null) => (bytes === null ? "?" : (bytes / 1024 / 1024).toFixed(1));
const ms = (value: number | null) => (value === null ? "?" : value.toFixed(1));
