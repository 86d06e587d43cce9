/**
 * What the emulated network does to a connection, as data: the zod schema that checks what
 * people (and the admin API) ask for, the presets, and the resolution of a request into the
 * complete conditions the proxy works with. docs/network-emulation.md explains every number.
 */
import { z } from "zod";

/** How the emulator ends a connection: an RST (`resetAndDestroy()`), or a clean FIN on both sides. */
export const DROP_MODES = ["reset", "close"] as const;
export type DropMode = (typeof DROP_MODES)[number];

export const PRESET_NAMES = ["none", "slow-3g", "fast-3g", "slow-4g", "fast-4g", "flaky-wifi", "offline"] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** One direction of the link: "up" is client → server, "down" is server → client. */
export interface DirectionConditions {
  /** Delay added to every chunk, in ms. */
  latencyMs: number;
  /** Each chunk's delay varies uniformly within ±jitterMs (never below 0, never reordering). */
  jitterMs: number;
  /** Throughput cap in bytes per second; null means unlimited. */
  bandwidthBytesPerSec: number | null;
}

export interface DropConditions {
  /** Drop each connection this long after it opened or after these conditions took effect, whichever is later; null: never. */
  afterMs: number | null;
  /** Random drops: the average number per minute per connection (a Poisson process); 0: none. */
  perMinute: number;
  mode: DropMode;
}

/** Conditions with every field filled in: what a connection is actually subjected to. */
export interface ResolvedConditions {
  /** The preset the values started from, or null when none was named. */
  preset: PresetName | null;
  up: DirectionConditions;
  down: DirectionConditions;
  drop: DropConditions | null;
  /** Stop forwarding both ways but keep both sockets open (no FIN, no RST): a silent, half-open link. */
  blackhole: boolean;
}

const MAX_DELAY_MS = 600_000;
const MAX_BYTES_PER_SEC = 10 * 1024 * 1024 * 1024;

const delayMs = z
  .number({ error: "must be a finite number" })
  .min(0, "must be >= 0")
  .max(MAX_DELAY_MS, `must be at most ${MAX_DELAY_MS} (10 minutes)`);

const DirectionSchema = z.strictObject({
  latencyMs: delayMs.optional(),
  jitterMs: delayMs.optional(),
  bandwidthBytesPerSec: z
    .number({ error: "must be a finite number, or null for no limit" })
    // 0 is refused rather than read as "offline" or "unlimited": both readings exist elsewhere (DevTools uses 0 for offline).
    .positive("must be > 0 (null means no limit; use blackhole to stop traffic)")
    .max(MAX_BYTES_PER_SEC, `must be at most ${MAX_BYTES_PER_SEC}`)
    .nullable()
    .optional(),
}, { error: "must be an object" });

const DropSchema = z.strictObject({
  afterMs: delayMs.nullable().optional(),
  perMinute: z.number({ error: "must be a finite number" }).min(0, "must be >= 0").max(6000, "must be at most 6000").optional(),
  mode: z.enum(DROP_MODES, { error: `must be one of ${DROP_MODES.join(", ")}` }).optional(),
}, { error: "must be an object or null" });

/**
 * What may be asked for. Every field is optional: the named preset (or "none") fills what is left out,
 * and `drop: null` removes a preset's drops. Unknown fields are refused so that typos do not pass silently.
 */
export const NetworkConditionsSchema = z.strictObject({
  preset: z.enum(PRESET_NAMES, { error: `must be one of ${PRESET_NAMES.join(", ")}` }).optional(),
  up: DirectionSchema.optional(),
  down: DirectionSchema.optional(),
  drop: DropSchema.nullable().optional(),
  blackhole: z.boolean({ error: "must be true or false" }).optional(),
}, { error: "must be an object or a preset name" });
export type NetworkConditions = z.input<typeof NetworkConditionsSchema>;

export interface PresetDefinition {
  /** What the preset models, in one sentence. */
  description: string;
  /** Where its numbers come from. */
  source: string;
  conditions: Omit<ResolvedConditions, "preset">;
}

const unlimited = (latencyMs = 0, jitterMs = 0): DirectionConditions => ({ latencyMs, jitterMs, bandwidthBytesPerSec: null });
const shaped = (latencyMs: number, bandwidthBytesPerSec: number): DirectionConditions => ({ latencyMs, jitterMs: 0, bandwidthBytesPerSec });
/** kbit/s (1,000 bits, as DevTools counts) to bytes/s. */
const kbps = (kbits: number) => (kbits * 1000) / 8;

const DEVTOOLS = "Chrome DevTools throttling presets (front_end/core/sdk/NetworkManager.ts)";

/**
 * The DevTools presets add their latency once per request and scale it up (×5, ×3.75, ×2.75) to make
 * up for that; this proxy delays every chunk, which is what a real link does, so it uses the round
 * trip DevTools aims at (`targetLatency`), half each way, and DevTools' byte rates as they are.
 */
export const PRESETS: Readonly<Record<PresetName, PresetDefinition>> = Object.freeze({
  none: {
    description: "No emulation: bytes pass as fast as loopback allows.",
    source: "DevTools \"No throttling\".",
    conditions: { up: unlimited(), down: unlimited(), drop: null, blackhole: false },
  },
  "slow-3g": {
    description: "A slow 3G link: 400 ms round trip, 400 kbit/s each way.",
    source: `${DEVTOOLS}: "3G" (formerly "Slow 3G"), targetLatency 400 ms, 500 kbit/s × 0.8 both ways.`,
    conditions: { up: shaped(200, kbps(400)), down: shaped(200, kbps(400)), drop: null, blackhole: false },
  },
  "fast-3g": {
    description: "A good 3G / poor 4G link: 150 ms round trip, 1.44 Mbit/s down, 675 kbit/s up.",
    source: `${DEVTOOLS}: "Slow 4G" (called "Fast 3G" before 2024), targetLatency 150 ms, 1.6 Mbit/s × 0.9 down, 750 kbit/s × 0.9 up; Lighthouse's mobileSlow4G uses the same RTT.`,
    conditions: { up: shaped(75, kbps(675)), down: shaped(75, kbps(1440)), drop: null, blackhole: false },
  },
  "slow-4g": {
    description: "DevTools' current name for fast-3g; the same numbers.",
    source: `${DEVTOOLS}: "Slow 4G".`,
    conditions: { up: shaped(75, kbps(675)), down: shaped(75, kbps(1440)), drop: null, blackhole: false },
  },
  "fast-4g": {
    description: "A typical 4G link: 60 ms round trip, 8.1 Mbit/s down, 1.35 Mbit/s up.",
    source: `${DEVTOOLS}: "Fast 4G", targetLatency 60 ms, 9 Mbit/s × 0.9 down, 1.5 Mbit/s × 0.9 up.`,
    conditions: { up: shaped(30, kbps(1350)), down: shaped(30, kbps(8100)), drop: null, blackhole: false },
  },
  "flaky-wifi": {
    description: "Busy Wi-Fi: 80 ms round trip that wobbles by ±30 ms each way, and about two connection resets per minute per connection.",
    source: "wirelab's own: no browser ships it. Chosen so that reconnect and resume paths run often enough to watch.",
    conditions: { up: unlimited(40, 30), down: unlimited(40, 30), drop: { afterMs: null, perMinute: 2, mode: "reset" }, blackhole: false },
  },
  offline: {
    description: "The network is gone but nobody said so: no byte passes, no FIN, no RST (a black hole).",
    source: "DevTools \"Offline\" fails requests at once instead; this one leaves half-open connections, which is what a lost Wi-Fi or a dead NAT does.",
    conditions: { up: unlimited(), down: unlimited(), drop: null, blackhole: true },
  },
});

/** Check `input` and throw a TypeError naming every bad field; the admin API turns it into a 400. */
export function parseConditions(input: unknown): NetworkConditions {
  const result = NetworkConditionsSchema.safeParse(typeof input === "string" ? { preset: input } : input, { reportInput: true });
  if (result.success) return result.data;
  throw new TypeError(`invalid network conditions: ${result.error.issues.map(describeIssue).join("; ")}`);
}

/** Fill what `input` leaves out from its preset (or from "none"). `input` must already be parsed. */
export function resolveConditions(input: NetworkConditions): ResolvedConditions {
  const base = PRESETS[input.preset ?? "none"].conditions;
  let drop = base.drop;
  if (input.drop === null) drop = null;
  else if (input.drop !== undefined) drop = { afterMs: null, perMinute: 0, mode: "reset", ...drop, ...defined(input.drop) };
  return {
    preset: input.preset ?? null,
    up: { ...base.up, ...defined(input.up ?? {}) },
    down: { ...base.down, ...defined(input.down ?? {}) },
    drop,
    blackhole: input.blackhole ?? base.blackhole,
  };
}

export function sameDrop(a: DropConditions | null, b: DropConditions | null): boolean {
  return a === b || (a !== null && b !== null && a.afterMs === b.afterMs && a.perMinute === b.perMinute && a.mode === b.mode);
}

/** Without keys whose value is undefined, so that spreading it never erases a preset's value. */
function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `${path ? `${path}.` : ""}${key} is not a known field`).join("; ");
  }
  const input = "input" in issue ? issue.input : undefined;
  const got = input === null || (input !== undefined && typeof input !== "object") ? ` (got ${String(input)})` : "";
  return `${path || "conditions"} ${issue.message}${got}`;
}
