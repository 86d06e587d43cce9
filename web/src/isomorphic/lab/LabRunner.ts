/**
 * The one lab engine. It runs a scenario against the client kit — the same clients the
 * dashboard shows — and returns a LabResult. The dashboard and the CLI both use it, so their
 * numbers mean the same thing. Isomorphic: Node passes in `ws` and `eventsource`.
 */
import { type Message, type StatsResponse, type TransportName } from "../protocol/index.js";
import { sleep } from "../kit/backoff.js";
import { Emitter } from "../kit/Emitter.js";
import { FeedHttp, type WireRecord } from "../kit/FeedHttp.js";
import type { FetchLike } from "../kit/JsonClient.js";
import { newMessageId, type ConnectionState, type FeedClient } from "../kit/FeedClient.js";
import { createClient } from "../kit/index.js";
import type { EventSourceConstructor } from "../kit/SseClient.js";
import type { WebSocketConstructor } from "../kit/WebSocketClient.js";
import { WorkbenchApi } from "../kit/WorkbenchApi.js";
import { ClientStats } from "../kit/ClientStats.js";
import { Downtime } from "../stats/Downtime.js";
import { LatencyDistribution } from "../stats/LatencyDistribution.js";
import { wireDelta } from "../stats/figures.js";
import { runPhase } from "./phases.js";
import { receiversResult, type Receiver } from "./receiversResult.js";
import { labNeedsInstructor, labTouchesNetwork, scaleLab, type LabDefinition, type Phase } from "./LabDefinition.js";
import type { LabResult, PhaseRecord } from "./LabResult.js";

export interface LabEnvironment {
  /** The server: sessions, sends, stats and the admin API go here. */
  baseUrl: string;
  /** Where the receiving clients connect, e.g. the network emulator. Defaults to baseUrl. */
  feedUrl?: string;
  /**
   * Where receiving client `index` (from 0) of a transport connects, when each needs its own
   * address: the dashboard gives each its own host name under .localhost, so that the browser's
   * per-host connection limit is per client. Defaults to feedUrl.
   */
  clientUrl?: (transport: TransportName, index: number) => string;
  /**
   * An instructor session token, or where to read the current one (a SessionKeeper's
   * `tokenSource`); one is created when absent. Stats, admin calls and sends read it at every
   * request; each receiving client starts with the one current when it is created and then
   * refreshes its own.
   */
  token?: string | (() => string);
  fetch?: FetchLike;
  EventSource?: EventSourceConstructor;
  WebSocket?: WebSocketConstructor;
  /**
   * Called with each receiving client as it is made (the dashboard reports them to the class);
   * the function it returns, if any, is called when the run ends and the client closes.
   */
  watchClient?: (client: FeedClient) => (() => void) | void;
}

export interface LabRunOptions {
  /** Receiving clients per transport; overrides the lab's. */
  clients?: number;
  /** Fewer (or more) clients for some transports than `clients`, e.g. HTTP ones in a browser that cannot give each its own connections. */
  clientsOf?: Partial<Record<TransportName, number>>;
  /** Multiplies every timed phase (0.25 runs four times faster). Defaults to 1. */
  timeScale?: number;
  signal?: AbortSignal;
  /** How often progress ticks are emitted, in ms. Defaults to 500. */
  tickMs?: number;
}

export type LabProgress =
  | { type: "phase"; index: number; total: number; phase: Phase; elapsedMs: number }
  | { type: "tick"; elapsedMs: number; result: LabResult }
  | { type: "settling"; elapsedMs: number }
  /** A receiving client changed state: read `clientStates`. */
  | { type: "state"; elapsedMs: number };

/** One receiving client's connection state, for a badge per client. */
export interface LabClientState {
  transport: TransportName;
  /** From 0, per transport. */
  index: number;
  /** The host it connects to ("sse-3.localhost:8080" with a pool of its own). */
  host: string;
  state: ConnectionState;
  /** When it entered the state (ms since the epoch). */
  since: number;
  /** The server instance that answered it last, once known. */
  instance: string | undefined;
}

export interface LabRunnerEvents {
  [name: string]: (...args: never[]) => void;
  progress: (progress: LabProgress) => void;
  /** What crossed the wire for one receiving client (its cursor then, for the SSE framing estimate). */
  wire: (client: Pick<LabClientState, "transport" | "index" | "host">, record: WireRecord, cursor: number | undefined) => void;
}


export class LabRunner extends Emitter<LabRunnerEvents> {
  readonly lab: LabDefinition;
  readonly #env: LabEnvironment;
  readonly #options: Required<Omit<LabRunOptions, "signal" | "clients" | "clientsOf">> & Pick<LabRunOptions, "signal">;
  readonly #clients: number;
  readonly #clientsOf: Partial<Record<TransportName, number>>;
  readonly #room = `lab-${newMessageId().slice(0, 8)}`;
  readonly #receivers: Receiver[] = [];
  readonly #latency = new Map<TransportName, LatencyDistribution>();
  readonly #sentIds = new Set<string>();
  readonly #phases: PhaseRecord[] = [];
  readonly #timeline: LabResult["timeline"] = [];
  readonly #senderStats = new ClientStats();
  #startedAt = 0;
  #statsBefore: StatsResponse | null = null;
  #statsAfter: StatsResponse | null = null;
  #sendFailures = 0;
  #jitter = true;
  /** The clients' states as the run ended, before they were closed. */
  #finalStates: LabClientState[] | null = null;
  readonly #unwatch: Array<() => void> = [];

  constructor(lab: LabDefinition, env: LabEnvironment, options: LabRunOptions = {}) {
    super();
    const { clientsOf = {}, ...rest } = options;
    this.#options = { timeScale: 1, tickMs: 500, ...rest };
    this.#clientsOf = clientsOf;
    this.lab = scaleLab(lab, this.#options.timeScale);
    this.#env = env;
    this.#clients = options.clients ?? lab.scenario.clients;
  }

  get room(): string {
    return this.#room;
  }

  /** Receiving clients of one transport. */
  clientsOf(transport: TransportName): number {
    return this.#clientsOf[transport] ?? this.#clients;
  }

  /** Every receiving client's state right now; once the run is over, as it ended (not "closed"). */
  get clientStates(): LabClientState[] {
    if (this.#finalStates) return this.#finalStates;
    return this.#receivers.map((r) => ({ transport: r.transport, index: r.index, host: r.host, state: r.client.state, since: r.stateSince, instance: r.client.instance }));
  }

  async run(): Promise<LabResult> {
    const { scenario } = this.lab;
    const fetchImpl = this.#env.fetch ?? globalThis.fetch.bind(globalThis);
    const given = this.#env.token ?? (await FeedHttp.createSession(this.#env.baseUrl, "lab-runner", { fetch: fetchImpl })).token;
    const token = typeof given === "string" ? () => given : given;
    const api = new WorkbenchApi(this.#env.baseUrl, token, fetchImpl);
    if (labNeedsInstructor(this.lab)) {
      // Fails with 403 for a learner: say so before anything has started.
      await api.status().catch((error: Error) => {
        throw new Error(`lab ${this.lab.id} changes the network or the server and needs an instructor session: ${error.message}`);
      });
    }
    if (scenario.instances > 1) {
      const { clustered, instances } = await api.instances();
      if (!clustered || instances.length < scenario.instances) {
        throw new Error(
          `lab ${this.lab.id} needs a cluster of ${scenario.instances} instances on Redis, this workbench has ${clustered ? instances.length : "one, on its own"}: ` +
            `start one with \`wirelab cluster --instances ${scenario.instances}\`, or run the lab from the command line (wirelab lab run ${this.lab.id}), which starts its own`,
        );
      }
    }
    const touchesNetwork = labTouchesNetwork(this.lab);
    const sender = new FeedHttp({
      baseUrl: this.#env.baseUrl,
      get token() {
        return token();
      },
      transport: "short-poll",
      fetch: fetchImpl,
      timeoutMs: scenario.requestTimeoutMs,
      stats: this.#senderStats,
      wire: () => {},
      clock: Date.now,
    });

    const tick = setInterval(() => this.emit("progress", { type: "tick", elapsedMs: this.#elapsed(), result: this.#snapshot() }), this.#options.tickMs);
    try {
      if (scenario.network !== undefined) await api.setNetwork(scenario.network);
      this.#startedAt = Date.now();
      await this.#connectReceivers(token, fetchImpl);
      this.#statsBefore = await api.stats().catch(() => null);
      for (const [index, phase] of scenario.phases.entries()) {
        this.#checkAborted();
        this.emit("progress", { type: "phase", index, total: scenario.phases.length, phase, elapsedMs: this.#elapsed() });
        const startMs = this.#elapsed();
        const startedAt = Date.now();
        const before = this.#counters();
        await runPhase(phase, {
          api,
          receivers: this.#receivers,
          send: (via) => this.#send(sender, via),
          wait: (ms) => this.#wait(ms),
          checkAborted: () => this.#checkAborted(),
          setJitter: (on) => (this.#jitter = on),
        });
        const after = this.#counters();
        const transports = Object.fromEntries(
          scenario.transports.map((t) => {
            const back = this.#receivers.filter((r) => r.transport === t).flatMap((r) => r.reconnectedAt.filter((at) => at >= startedAt));
            const spread = back.length > 1 ? Math.max(...back) - Math.min(...back) : 0;
            const deltas = { requests: 0, delivered: 0, reconnects: 0, reconnectSpreadMs: spread };
            for (const m of ["requests", "delivered", "reconnects"] as const) deltas[m] = after.get(t)![m] - before.get(t)![m];
            return [t, deltas];
          }),
        );
        this.#phases.push({ name: phase.name, kind: phase.kind, startMs, endMs: this.#elapsed(), transports });
      }
      this.#checkAborted();
      this.emit("progress", { type: "settling", elapsedMs: this.#elapsed() });
      await this.#settle();
      this.#statsAfter = await api.stats().catch(() => null);
      return this.#snapshot();
    } finally {
      clearInterval(tick);
      this.#finalStates = this.clientStates;
      for (const r of this.#receivers) r.client.close();
      for (const unwatch of this.#unwatch.splice(0)) unwatch();
      if (touchesNetwork) await api.clearNetwork().catch(() => {});
    }
  }

  /** The per-phase counters of every transport right now. */
  #counters(): Map<TransportName, Record<"requests" | "delivered" | "reconnects", number>> {
    return new Map(
      this.lab.scenario.transports.map((t) => {
        const receivers = this.#receivers.filter((r) => r.transport === t);
        const sum = (f: (r: Receiver) => number) => receivers.reduce((total, r) => total + f(r), 0);
        return [t, { requests: sum((r) => r.client.stats.counters.requests), delivered: sum((r) => r.seen.size), reconnects: sum((r) => r.client.stats.counters.reconnects) }];
      }),
    );
  }

  #elapsed(): number {
    return this.#startedAt === 0 ? 0 : Date.now() - this.#startedAt;
  }

  #checkAborted(): void {
    if (this.#options.signal?.aborted) throw new Error("the lab run was stopped");
  }

  async #connectReceivers(token: () => string, fetchImpl: FetchLike): Promise<void> {
    const { scenario } = this.lab;
    // Without jitter every client waits the full backoff ceiling: they all come back together.
    this.#jitter = scenario.backoff.jitter;
    const random = () => (this.#jitter ? Math.random() : 0.999_999);
    for (const transport of scenario.transports) {
      this.#latency.set(transport, new LatencyDistribution());
      for (let i = 0; i < this.clientsOf(transport); i++) {
        const baseUrl = this.#env.clientUrl?.(transport, i) ?? this.#env.feedUrl ?? this.#env.baseUrl;
        const client = createClient(transport, {
          baseUrl,
          token: token(),
          room: this.#room,
          history: 0,
          intervalMs: scenario.pollIntervalMs,
          waitMs: scenario.longPollWaitMs,
          requestTimeoutMs: scenario.requestTimeoutMs,
          backoff: { baseMs: scenario.backoff.baseMs, capMs: scenario.backoff.capMs },
          random,
          fetch: fetchImpl,
          ...(this.#env.EventSource && { EventSource: this.#env.EventSource }),
          ...(this.#env.WebSocket && { WebSocket: this.#env.WebSocket }),
        });
        const receiver: Receiver = {
          transport,
          index: i,
          host: new URL(baseUrl).host,
          client,
          stateSince: Date.now(),
          seen: new Map(),
          duplicated: 0,
          downtime: new Downtime(),
          reconnectTimes: [],
          reconnectedAt: [],
          blackholeAt: null,
          detected: [],
          blackholed: 0,
        };
        const unwatch = this.#env.watchClient?.(client);
        if (unwatch) this.#unwatch.push(unwatch);
        client.on("message", (message: Message, latency) => this.#onMessage(receiver, message, latency));
        client.on("state", (state: ConnectionState) => this.#onState(receiver, state));
        const who = { transport, index: i, host: receiver.host };
        client.on("wire", (record: WireRecord) => this.emit("wire", who, record, client.cursor));
        this.#receivers.push(receiver);
        client.connect();
      }
    }
    const deadline = Date.now() + 30_000;
    while (!this.#receivers.every((r) => r.client.state === "open")) {
      this.#checkAborted();
      if (Date.now() > deadline) throw new Error("not every client could connect within 30 s");
      await sleep(20);
    }
  }

  #onMessage(receiver: Receiver, message: Message, latency: number | undefined): void {
    const count = (receiver.seen.get(message.id) ?? 0) + 1;
    receiver.seen.set(message.id, count);
    if (count > 1) receiver.duplicated += 1;
    else if (latency !== undefined) this.#latency.get(receiver.transport)!.record(latency);
  }

  #onState(receiver: Receiver, state: ConnectionState): void {
    const now = Date.now();
    receiver.stateSince = now;
    if (!this.#finalStates) this.emit("progress", { type: "state", elapsedMs: this.#elapsed() });
    if (state !== "open") {
      if (receiver.downtime.left(now) && receiver.blackholeAt !== null) {
        receiver.detected.push(now - receiver.blackholeAt);
        receiver.blackholeAt = null;
      }
      return;
    }
    const away = receiver.downtime.opened(now);
    if (away !== undefined) {
      receiver.reconnectTimes.push(away);
      receiver.reconnectedAt.push(now);
    }
  }

  async #send(sender: FeedHttp, via: TransportName | undefined): Promise<void> {
    const text = this.#text();
    try {
      if (via) {
        const client = this.#receivers.find((r) => r.transport === via)!.client;
        const ack = await client.send(text);
        this.#sentIds.add(ack.id);
      } else {
        const ack = await sender.send(this.#room, { id: newMessageId(), text, sentAt: Date.now() });
        this.#sentIds.add(ack.id);
      }
    } catch {
      // Not acknowledged: not counted as sent, so it cannot count as lost either.
      this.#sendFailures += 1;
    }
  }

  #text(): string {
    const label = `lab message ${this.#sentIds.size + 1} `;
    const size = this.lab.scenario.messageBytes;
    return (label + "·".repeat(Math.max(0, size - label.length))).slice(0, size);
  }

  /** Wait for every receiver to have every sent message, at most the settle time. */
  async #settle(): Promise<void> {
    const deadline = Date.now() + this.lab.scenario.settleMs;
    const complete = () => this.#receivers.every((r) => [...this.#sentIds].every((id) => r.seen.has(id)));
    while (!complete() && Date.now() < deadline) {
      // An aborted signal makes every wait return at once: check, or this loop spins until the deadline.
      this.#checkAborted();
      await this.#wait(50);
    }
  }

  #wait(ms: number): Promise<void> {
    return ms > 0 ? sleep(ms, this.#options.signal) : Promise.resolve();
  }

  #snapshot(): LabResult {
    const elapsed = this.#elapsed();
    const wire = (t: TransportName) => wireDelta(t, this.#statsBefore, null, this.#statsAfter);
    const transports = this.lab.scenario.transports.map((t) =>
      receiversResult(t, this.#receivers.filter((r) => r.transport === t), this.#latency.get(t), this.#sentIds, wire(t)));
    for (const r of transports) {
      this.#timeline.push({ t: elapsed, transport: r.transport, delivered: r.delivered, requests: r.requests, latencyP50: r.latency.p50 });
    }
    return {
      format: 1,
      lab: { id: this.lab.id, title: this.lab.title },
      room: this.#room,
      startedAt: this.#startedAt,
      durationMs: elapsed,
      sent: this.#sentIds.size,
      parameters: {
        clients: this.#clients,
        transports: this.lab.scenario.transports,
        messageBytes: this.lab.scenario.messageBytes,
        timeScale: this.#options.timeScale,
      },
      transports,
      phases: [...this.#phases],
      timeline: [...this.#timeline],
    };
  }

}
