/**
 * The command line of `wirelab soak`: options and defaults merged once here; impossible
 * combinations throw a UsageError before anything starts.
 */
import { parseArgs } from "node:util";
import { UsageError } from "../UsageError.js";
import { SOAK_VARIANTS, type SoakVariant } from "./faults.js";
import { SOAK_DEFAULTS, type SoakOptions } from "./SoakRun.js";
import { HOLD_DEFAULTS, type HoldOptions } from "./LoadHold.js";

export const SOAK_USAGE = `Usage: wirelab soak [options]        (npm run soak -- [options] builds first)

Chaos soak: clients of all four transports in several rooms send and receive while a seeded
schedule drops connections (RST and FIN), black-holes them, adds latency, squeezes bandwidth,
restarts instances in place, kills them with SIGKILL and (cluster) restarts Redis. Then every
room's history is checked: each client's sequence gap-free, in order, without duplicates and the
same as the server's; every acknowledged send in it exactly once.

  --seed N             the fault schedule's seed (default: a fresh one, printed); replays a run
  --variant LIST       single, cluster or both: one instance on SQLite, or two on one Redis behind
                       a front door (default: both)
  --duration S         seconds of faults per variant (default 60); every kind of fault runs at
                       least once however short
  --rooms N            rooms (default 3)
  --clients N          clients of each transport in each room (default 2)
  --send-interval MS   mean time between one client's sends (default 1000)
  --json FILE          write the reports as JSON

  --hold               the load hold instead: many connections held at a steady rate, no faults;
                       server memory, event-loop lag and delivery latency sampled over time, and a
                       growth trend fails the run
  --connections N      held connections, spread over the four transports (default 1000)
  --rate N             messages per second over all rooms (default 20)
  --sample-interval S  seconds between samples (default 10)
  -h, --help           show this help

The exit status is 1 when a check failed (the report says which rule, room and client, and how
to replay it), 2 for a usage error.
`;

export type SoakCommand =
  | { kind: "soak"; seed: number | null; variants: SoakVariant[]; run: Omit<SoakOptions, "seed" | "variant" | "log">; json: string | null }
  | { kind: "hold"; hold: Omit<HoldOptions, "log">; json: string | null };

/** Messages a room may take: the server keeps the latest 10,000 per room, the check needs them all. */
const MAX_MESSAGES_PER_ROOM = 9_000;

export function parseSoakArgs(args: string[]): SoakCommand | "help" {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      seed: { type: "string" },
      variant: { type: "string" },
      duration: { type: "string" },
      rooms: { type: "string" },
      clients: { type: "string" },
      "send-interval": { type: "string" },
      json: { type: "string" },
      hold: { type: "boolean" },
      connections: { type: "string" },
      rate: { type: "string" },
      "sample-interval": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const json = values.json ?? null;
  if (values.hold) {
    for (const flag of ["seed", "variant", "rooms", "clients", "send-interval"] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} belongs to the chaos soak, not to --hold`);
    }
    return {
      kind: "hold",
      json,
      hold: {
        ...HOLD_DEFAULTS,
        ...(values.duration !== undefined && { durationMs: number("--duration", values.duration, 10, 86_400) * 1000 }),
        ...(values.connections !== undefined && { connections: number("--connections", values.connections, 4, 18_000) }),
        ...(values.rate !== undefined && { ratePerSecond: number("--rate", values.rate, 1, 10_000) }),
        ...(values["sample-interval"] !== undefined && { sampleIntervalMs: number("--sample-interval", values["sample-interval"], 1, 3_600) * 1000 }),
      },
    };
  }
  for (const flag of ["connections", "rate", "sample-interval"] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} belongs to --hold`);
  }
  const variants = values.variant === undefined || values.variant === "both" ? [...SOAK_VARIANTS] : [variant(values.variant)];
  const run = {
    ...SOAK_DEFAULTS,
    ...(values.duration !== undefined && { durationMs: number("--duration", values.duration, 0, 86_400) * 1000 }),
    ...(values.rooms !== undefined && { rooms: number("--rooms", values.rooms, 1, 100) }),
    ...(values.clients !== undefined && { clientsPerTransport: number("--clients", values.clients, 1, 50) }),
    ...(values["send-interval"] !== undefined && { sendIntervalMs: number("--send-interval", values["send-interval"], 20, 600_000) }),
  };
  // The guaranteed faults take about 40 s whatever the duration.
  const perRoom = Math.ceil(((run.durationMs + 40_000) / run.sendIntervalMs) * 4 * run.clientsPerTransport);
  if (perRoom > MAX_MESSAGES_PER_ROOM) {
    throw new UsageError(
      `about ${perRoom} messages per room: more than the ${MAX_MESSAGES_PER_ROOM} the check can read back (the server keeps 10,000); use fewer --clients, a longer --send-interval or a shorter --duration`,
    );
  }
  const seed = values.seed === undefined ? null : number("--seed", values.seed, 0, 2 ** 31 - 1);
  return { kind: "soak", seed, variants, run, json };
}

function variant(text: string): SoakVariant {
  if (!(SOAK_VARIANTS as readonly string[]).includes(text)) throw new UsageError(`--variant must be single, cluster or both, got "${text}"`);
  return text as SoakVariant;
}

function number(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got "${text}"`);
  return n;
}
