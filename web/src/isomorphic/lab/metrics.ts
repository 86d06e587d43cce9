/** What a lab can measure per transport: the names its `measure`, checkpoints and explanations use. */
export const METRICS = [
  "delivered",
  "lost",
  "duplicated",
  "requests",
  "requestsPerMessage",
  "bytesPerMessage",
  "wireBytesIn",
  "wireBytesOut",
  "reconnects",
  "reconnectMs",
  "reconnectSpreadMs",
  "detectMs",
  "latency.p50",
  "latency.p95",
  "latency.p99",
  "latency.max",
] as const;
export type Metric = (typeof METRICS)[number];
