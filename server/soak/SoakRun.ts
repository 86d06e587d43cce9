/**
 * One chaos soak: clients of all four transports in several rooms send and receive while the
 * seeded schedule breaks the network, the instances and Redis; then every room's history is
 * checked against what each client received and what the server acknowledged (history.ts).
 */
import { WebSocket } from "ws";
import { createClient, sleep, type FeedClient } from "../../web/src/isomorphic/kit/index.js";
import { JsonClient } from "../../web/src/isomorphic/kit/JsonClient.js";
import { TRANSPORTS, type TransportName } from "../../web/src/isomorphic/protocol/index.js";
import { NodeEventSource } from "../bench/NodeEventSource.js";
import { describeFault, faultSchedule, type ScheduledFault, type SoakVariant } from "./faults.js";
import { checkRoom, type Delivered, type Violation } from "./history.js";
import { SeededRandom } from "./SeededRandom.js";
import { SoakSystem } from "./SoakSystem.js";

export interface SoakOptions {
  seed: number;
  variant: SoakVariant;
  /** The faulty part of the run, in ms (every kind of fault runs at least once, however short). */
  durationMs: number;
  rooms: number;
  /** Clients of each transport in each room. */
  clientsPerTransport: number;
  /** Mean time between one client's sends, in ms. */
  sendIntervalMs: number;
  /** Quiet time before the first fault and at least between two, in ms. */
  gapMs: number;
  heartbeatMs: number;
  /** How long the clients may take to catch up after the last fault, in ms. */
  settleTimeoutMs: number;
  log: (line: string) => void;
}

export const SOAK_DEFAULTS: Omit<SoakOptions, "seed" | "variant" | "log"> = {
  durationMs: 60_000,
  rooms: 3,
  clientsPerTransport: 2,
  sendIntervalMs: 1_000,
  gapMs: 1_500,
  heartbeatMs: 1_000,
  settleTimeoutMs: 60_000,
};

export interface RoomSummary {
  room: string;
  /** Messages in the room's history at the end. */
  stored: number;
  acknowledged: number;
  /** Sends that gave up (not acknowledged: each may be stored once, or not at all). */
  failedSends: number;
}

export interface SoakReport {
  seed: number;
  variant: SoakVariant;
  schedule: ScheduledFault[];
  rooms: RoomSummary[];
  clients: number;
  /** Reconnects over all clients, by transport. */
  reconnects: Record<TransportName, number>;
  violations: Violation[];
  passed: boolean;
  elapsedMs: number;
}

/** A client of the soak and what it saw. */
interface SoakClient {
  name: string;
  room: string;
  client: FeedClient;
  received: Delivered[];
  resets: number;
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const faults = new SeededRandom(options.seed);
  const schedule = faultSchedule(faults, { variant: options.variant, durationMs: options.durationMs, gapMs: options.gapMs });
  // The sends draw from a stream of their own: more clients do not change the faults.
  const sends = new SeededRandom(options.seed + 1);
  options.log(`soak ${options.variant}, seed ${options.seed}: ${schedule.length} faults`);
  for (const fault of schedule) options.log(`  ${describeFault(fault)}`);

  const system = await SoakSystem.start({ variant: options.variant, heartbeatMs: options.heartbeatMs, random: () => faults.next() });
  const clients: SoakClient[] = [];
  const attempted = new Map<string, Set<string>>();
  const acknowledged = new Map<string, Set<string>>();
  const failed = new Map<string, number>();
  let sending = true;
  const senders: Array<Promise<void>> = [];
  try {
    const rooms = Array.from({ length: options.rooms }, (_, i) => `soak-${i + 1}`);
    for (const room of rooms) {
      attempted.set(room, new Set());
      acknowledged.set(room, new Set());
      failed.set(room, 0);
      for (const transport of TRANSPORTS) {
        for (let k = 0; k < options.clientsPerTransport; k++) {
          const name = `${room}/${transport}-${k + 1}`;
          const session = await JsonClient.createSession(system.controlUrl, `${transport}-${k + 1}`);
          const client = createClient(transport, {
            baseUrl: system.url,
            token: session.token,
            room,
            // From the very first message: every client must end with the room's whole history.
            since: 0,
            intervalMs: 250,
            waitMs: 2_000,
            requestTimeoutMs: 4_000,
            backoff: { baseMs: 100, capMs: 2_000 },
            livenessMarginMs: 1_000,
            WebSocket: WebSocket as never,
            EventSource: NodeEventSource as never,
          });
          const soakClient: SoakClient = { name, room, client, received: [], resets: 0 };
          client.on("message", (m) => soakClient.received.push({ seq: m.seq, id: m.id }));
          client.on("reset", () => (soakClient.resets += 1));
          clients.push(soakClient);
          client.connect();
        }
      }
    }
    await waitFor(() => clients.every((c) => c.client.state === "open"), 30_000, () => `clients not open: ${clients.filter((c) => c.client.state !== "open").map((c) => c.name).join(", ")}`);
    options.log(`${clients.length} clients open in ${options.rooms} rooms`);

    for (const c of clients) {
      const random = sends.fork();
      senders.push(
        (async () => {
          for (let n = 1; sending; n++) {
            await sleep(options.sendIntervalMs * (0.5 + random.next()));
            if (!sending) return;
            const id = `${c.name.replace("/", "-")}-${n}`;
            attempted.get(c.room)!.add(id);
            try {
              await c.client.send(`${c.name} #${n}`, { id });
              acknowledged.get(c.room)!.add(id);
            } catch {
              failed.set(c.room, failed.get(c.room)! + 1);
            }
          }
        })(),
      );
    }

    const t0 = Date.now();
    for (const scheduled of schedule) {
      await sleep(Math.max(0, t0 + scheduled.atMs - Date.now()));
      options.log(`fault ${describeFault(scheduled).trim()}`);
      await system.apply(scheduled.fault);
    }
    await sleep(options.gapMs);
    sending = false;
    await Promise.all(senders);

    // The sends are settled: the server's history is final. Every client must reach its end.
    const histories = new Map(await Promise.all(rooms.map(async (room) => [room, await system.history(room)] as const)));
    const behind = () => clients.filter((c) => (c.received.at(-1)?.seq ?? 0) < histories.get(c.room)!.length);
    await waitFor(() => behind().length === 0, options.settleTimeoutMs, () => "").catch(() => {});
    const violations = rooms.flatMap((room) =>
      checkRoom({
        room,
        server: histories.get(room)!.map((m) => ({ seq: m.seq, id: m.id })),
        clients: clients.filter((c) => c.room === room).map((c) => ({ name: c.name, received: c.received })),
        acknowledged: acknowledged.get(room)!,
        attempted: attempted.get(room)!,
      }),
    );
    for (const c of clients) {
      if (c.resets > 0) violations.push({ room: c.room, who: c.name, rule: "gap", detail: `the server skipped it ahead ${c.resets} time(s) (reset)` });
    }
    const reconnects = Object.fromEntries(TRANSPORTS.map((t) => [t, clients.filter((c) => c.client.transport === t).reduce((n, c) => n + c.client.stats.counters.reconnects, 0)])) as Record<TransportName, number>;
    return {
      seed: options.seed,
      variant: options.variant,
      schedule,
      rooms: rooms.map((room) => ({ room, stored: histories.get(room)!.length, acknowledged: acknowledged.get(room)!.size, failedSends: failed.get(room)! })),
      clients: clients.length,
      reconnects,
      violations,
      passed: violations.length === 0,
      elapsedMs: Date.now() - started,
    };
  } finally {
    sending = false;
    for (const c of clients) c.client.close();
    await Promise.allSettled(senders);
    await system.close();
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await sleep(50);
  }
}
