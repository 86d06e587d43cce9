/**
 * The result of a lab run, as it crosses the wire (a learner's submission carries one): the
 * interfaces the lab engine fills in and, with bounds, the zod schema a result from elsewhere is
 * checked against, so a submission cannot be huge or carry what no run produces. The lab engine
 * (`lab/LabResult.ts`) computes and reads these figures; the dashboard and the benchmark show them.
 */
import { z } from "zod";
import { TRANSPORTS, type TransportName } from "./index.js";

export interface LatencySummary {
  /** Samples: deliveries that carried the sender's clock. */
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface DurationSummary {
  count: number;
  meanMs: number | null;
  maxMs: number | null;
}

export interface TransportResult {
  transport: TransportName;
  clients: number;
  /** Messages the lab sent × receiving clients: what should have arrived. */
  expected: number;
  /** Distinct lab messages that arrived, summed over clients. */
  delivered: number;
  /** expected − delivered, after the settle time. */
  lost: number;
  /** Messages an application saw twice (the kit drops duplicates, so this must stay 0). */
  duplicated: number;
  latency: LatencySummary;
  /** HTTP requests the clients made (polls, sends, the SSE GET, WebSocket upgrades). */
  requests: number;
  requestsPerMessage: number | null;
  /** Payload bytes the clients could observe. */
  clientBytesIn: number;
  clientBytesOut: number;
  /** What the server counted at its sockets for this transport during the run, headers included. */
  wire: { requests: number; bytesIn: number; bytesOut: number } | null;
  /** Bytes on the wire (server → clients) per delivered message, as the server counted them; null without its figures (stats/figures.ts). */
  bytesPerMessage: number | null;
  reconnects: number;
  /** From a connection leaving "open" to being open again. */
  reconnectMs: DurationSummary;
  /** From a black hole starting to the client noticing (leaving "open"); `of` clients were affected. */
  detectMs: (DurationSummary & { of: number }) | null;
}

/**
 * What can be read per phase: how much a counter grew between the phase's start and end, and
 * reconnectSpreadMs, the time between the first and the last client coming back within the phase.
 */
export const PHASE_METRICS = ["requests", "delivered", "reconnects", "reconnectSpreadMs"] as const;
export type PhaseMetric = (typeof PHASE_METRICS)[number];

export interface PhaseRecord {
  name: string;
  kind: string;
  /** Offsets from the start of the run, in ms. */
  startMs: number;
  endMs: number;
  /** Per transport, how much each counter grew during the phase. */
  transports: Partial<Record<TransportName, Record<PhaseMetric, number>>>;
}

export interface LabResult {
  /** Format version of this object. */
  format: 1;
  lab: { id: string; title: string };
  room: string;
  startedAt: number;
  durationMs: number;
  /** Messages the lab sent and the server acknowledged. */
  sent: number;
  parameters: { clients: number; transports: TransportName[]; messageBytes: number; timeScale: number };
  transports: TransportResult[];
  phases: PhaseRecord[];
  /** Samples over time for charts: one per transport per tick. */
  timeline: Array<{ t: number; transport: TransportName; delivered: number; requests: number; latencyP50: number | null }>;
}

const count = z.number().int().nonnegative();
const ms = z.number().nonnegative();
const nullableMs = ms.nullable();
const transport = z.enum(TRANSPORTS);

const TransportResultSchema = z.strictObject({
  transport,
  clients: count,
  expected: count,
  delivered: count,
  lost: z.number().int(),
  duplicated: count,
  latency: z.strictObject({ count, p50: nullableMs, p95: nullableMs, p99: nullableMs, max: nullableMs }),
  requests: count,
  requestsPerMessage: ms.nullable(),
  clientBytesIn: count,
  clientBytesOut: count,
  wire: z.strictObject({ requests: count, bytesIn: count, bytesOut: count }).nullable(),
  bytesPerMessage: ms.nullable(),
  reconnects: count,
  reconnectMs: z.strictObject({ count, meanMs: nullableMs, maxMs: nullableMs }),
  detectMs: z.strictObject({ count, meanMs: nullableMs, maxMs: nullableMs, of: count }).nullable(),
});

const phaseCounters = z.strictObject(Object.fromEntries(PHASE_METRICS.map((m) => [m, ms])) as Record<(typeof PHASE_METRICS)[number], typeof ms>);

export const LabResultSchema = z.strictObject({
  format: z.literal(1),
  lab: z.strictObject({ id: z.string().min(1).max(100), title: z.string().max(200) }),
  room: z.string().max(32),
  startedAt: count,
  durationMs: ms,
  sent: count,
  parameters: z.strictObject({
    clients: count,
    transports: z.array(transport).max(TRANSPORTS.length),
    messageBytes: count,
    timeScale: z.number().positive(),
  }),
  transports: z.array(TransportResultSchema).max(TRANSPORTS.length),
  phases: z
    .array(
      z.strictObject({
        name: z.string().max(100),
        kind: z.string().max(32),
        startMs: ms,
        endMs: ms,
        transports: z.partialRecord(transport, phaseCounters),
      }),
    )
    .max(100),
  timeline: z
    .array(z.strictObject({ t: ms, transport, delivered: count, requests: count, latencyP50: nullableMs }))
    .max(5_000),
});

// The schema and the interface must describe the same thing.
type Parsed = z.infer<typeof LabResultSchema>;
const _sameShape: [Parsed extends LabResult ? true : false, LabResult extends Parsed ? true : false] = [true, true];
void _sameShape;
