/**
 * The zod schema of a LabResult, for results that arrive from elsewhere (a learner's submission):
 * the same shape as the interface in LabResult.ts, with bounds, so a submission cannot be huge or
 * carry what no run produces.
 */
import { z } from "zod";
import { TRANSPORTS } from "../protocol/index.js";
import { PHASE_METRICS, type LabResult } from "./LabResult.js";

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
