/**
 * The instructor's view of a class as a model: the roster, the class-wide reconnect timeline and
 * latency distribution (refreshed every few seconds), the assignment, and the submissions of a lab.
 * It runs the class-wide thundering-herd experiment (lab 08 for a whole class): set the class's
 * jitter, wait until every page has heard it, restart the server, and measure how the reconnects
 * of every learner's clients spread. DOM-free; the class view renders it.
 */
import { Emitter } from "../isomorphic/kit/Emitter.js";
import { sleep } from "../isomorphic/kit/backoff.js";
import type { FetchLike } from "../isomorphic/kit/JsonClient.js";
import { WorkbenchApi } from "../isomorphic/kit/WorkbenchApi.js";
import { LATENCY_BUCKETS_MS, type ClassResponse, type RosterEntry, type SubmissionSummary, type TimelineEntry } from "../isomorphic/protocol/class.js";
import { TRANSPORTS, type TransportName } from "../isomorphic/protocol/index.js";

export interface ClassMonitorOptions {
  baseUrl: string;
  token: () => string;
  /** Time between refreshes. Defaults to 2,000 ms. */
  intervalMs?: number;
  fetch?: FetchLike;
  clock?: () => number;
  /** How long the storm waits for every page to hear a jitter change. Defaults to 10 s. */
  settleTimeoutMs?: number;
}

export interface ClassMonitorEvents {
  [name: string]: (...args: never[]) => void;
  change: () => void;
}

/** A restart this view ordered, on the server's clock. */
export interface RestartMark {
  at: number;
  /** The class's jitter when it restarted. */
  jitter: boolean;
}

/** The reconnects that followed one restart. */
export interface ReconnectWave {
  mark: RestartMark;
  /** Clients (not pages' own check-ins) that came back. */
  reconnects: number;
  /** Learners (pages) with at least one client back. */
  pages: number;
  /** From the first to the last client coming back, ms; null with fewer than two. */
  spreadMs: number | null;
  /**
   * The same per transport: clients of one transport notice a restart at the same moment, so
   * theirs is the herd (a poller only notices at its next poll, which spreads "all clients").
   */
  spreadByLink: Partial<Record<TransportName, number | null>>;
  /** From the restart to the last client coming back, ms. */
  lastMs: number | null;
}

/** A page is "away" when it has not checked in for this long (it checks in every 2 s). */
export const AWAY_AFTER_MS = 10_000;

export class ClassMonitor extends Emitter<ClassMonitorEvents> {
  readonly api: WorkbenchApi;
  readonly #clock: () => number;
  readonly #intervalMs: number;
  readonly #settleTimeoutMs: number;
  #view: ClassResponse | undefined;
  /** Server clock − this page's clock, from the last answer. */
  #offset = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #error: string | null = null;
  #busy: string | null = null;
  #message: string | null = null;
  readonly #marks: RestartMark[] = [];
  #submissions: SubmissionSummary[] = [];
  #submissionsLab: string | undefined;

  constructor(options: ClassMonitorOptions) {
    super();
    this.api = new WorkbenchApi(options.baseUrl, options.token, options.fetch);
    this.#clock = options.clock ?? Date.now;
    this.#intervalMs = options.intervalMs ?? 2_000;
    this.#settleTimeoutMs = options.settleTimeoutMs ?? 10_000;
  }

  get view(): ClassResponse | undefined {
    return this.#view;
  }

  /** Why the last refresh failed (the server restarting, say), or null. */
  get error(): string | null {
    return this.#error;
  }

  /** What an action is doing right now, or null. */
  get busy(): string | null {
    return this.#busy;
  }

  /** What the last action did, in words. */
  get message(): string | null {
    return this.#message;
  }

  get roster(): RosterEntry[] {
    return this.#view?.roster ?? [];
  }

  get timeline(): TimelineEntry[] {
    return this.#view?.timeline ?? [];
  }

  get marks(): readonly RestartMark[] {
    return this.#marks;
  }

  /** The server's clock now (as far as this page can tell). */
  serverNow(): number {
    return this.#clock() + this.#offset;
  }

  isAway(entry: RosterEntry): boolean {
    return this.serverNow() - entry.lastSeenAt > AWAY_AFTER_MS;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.refresh();
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
  }

  async refresh(): Promise<void> {
    clearTimeout(this.#timer);
    try {
      const sentAt = this.#clock();
      const view = await this.api.classView();
      // Half the round trip: good enough to place marks on the server's clock.
      this.#offset = Math.round(view.serverTime - (sentAt + this.#clock()) / 2);
      this.#view = view;
      this.#error = null;
    } catch (error) {
      this.#error = (error as Error).message;
    } finally {
      if (this.#running) this.#timer = setTimeout(() => void this.refresh(), this.#intervalMs);
      this.emit("change");
    }
  }

  async assign(lab: string | null): Promise<void> {
    await this.#act(lab === null ? "clearing the assignment" : `assigning ${lab}`, async () => {
      await this.api.assign(lab);
      return lab === null ? "No lab is assigned." : `Assigned ${lab}: every learner's page opens it within a few seconds; latecomers get it when they join.`;
    });
  }

  async setJitter(jitter: boolean): Promise<void> {
    await this.#act(jitter ? "switching jitter on" : "switching jitter off", async () => {
      await this.api.setClassJitter(jitter);
      return jitter ? "Learners' clients wait a random part of their backoff (full jitter)." : "Learners' clients wait the full backoff (no jitter).";
    });
  }

  /**
   * The class-wide thundering herd: every learner's clients reconnect after a restart, all with or
   * all without jitter. The pages hear the jitter setting at their next check-in; the restart waits
   * until every page present has checked in since, so none reconnects with the old setting.
   */
  async restartStorm(jitter: boolean, downtimeMs = 1_000): Promise<void> {
    await this.#act(`restarting ${jitter ? "with" : "without"} jitter`, async () => {
      await this.api.setClassJitter(jitter);
      const since = this.serverNow();
      const deadline = this.#clock() + this.#settleTimeoutMs;
      for (;;) {
        await this.refresh();
        // Pages checking in lately (every 2 s); a tab closed a while ago is not waited for.
        const present = this.roster.filter((r) => r.lastSeenAt > since - 5_000);
        if (present.every((r) => r.lastSeenAt > since + 100)) break;
        if (this.#clock() > deadline) break;
        await sleep(500);
      }
      const mark: RestartMark = { at: this.serverNow(), jitter };
      await this.api.restart(downtimeMs);
      this.#marks.push(mark);
      return `Restarted ${jitter ? "with" : "without"} jitter: watch the reconnects arrive in the timeline.`;
    });
  }

  /** The reconnects after each restart this view ordered (until the next one, at most 60 s). */
  waves(): ReconnectWave[] {
    return this.#marks.map((mark, i) => {
      const until = Math.min(this.#marks[i + 1]?.at ?? Number.POSITIVE_INFINITY, mark.at + 60_000);
      const back = this.timeline.filter((e) => e.link !== "page" && e.at >= mark.at && e.at < until && e.downAt >= mark.at - 5_000);
      const times = back.map((e) => e.at);
      const spreadByLink: Partial<Record<TransportName, number | null>> = {};
      for (const t of TRANSPORTS) {
        const of = back.filter((e) => e.link === t).map((e) => e.at);
        if (of.length > 0) spreadByLink[t] = spread(of);
      }
      return {
        mark,
        reconnects: back.length,
        pages: new Set(back.map((e) => e.page)).size,
        spreadMs: spread(times),
        spreadByLink,
        lastMs: times.length > 0 ? Math.max(...times) - mark.at : null,
      };
    });
  }

  /** Per transport, deliveries per latency bucket over every learner's clients, and rough percentiles. */
  latency(): Array<{ transport: TransportName; buckets: number[]; count: number; p50: string; p95: string }> {
    const latency = this.#view?.latency ?? {};
    return TRANSPORTS.filter((t) => latency[t]).map((transport) => {
      const buckets = latency[transport]!;
      const count = buckets.reduce((a, b) => a + b, 0);
      return { transport, buckets, count, p50: bucketPercentile(buckets, 0.5), p95: bucketPercentile(buckets, 0.95) };
    });
  }

  get submissions(): SubmissionSummary[] {
    return this.#submissions;
  }

  get submissionsLab(): string | undefined {
    return this.#submissionsLab;
  }

  async loadSubmissions(lab?: string): Promise<void> {
    this.#submissionsLab = lab;
    await this.#act("loading submissions", async () => {
      this.#submissions = await this.api.submissions(lab);
      return null;
    });
  }

  csv(lab?: string): Promise<string> {
    return this.api.submissionsCsv(lab);
  }

  async #act(what: string, action: () => Promise<string | null>): Promise<void> {
    this.#busy = what;
    this.emit("change");
    try {
      const said = await action();
      if (said !== null) this.#message = said;
    } catch (error) {
      this.#message = `Could not finish ${what}: ${(error as Error).message}`;
    } finally {
      this.#busy = null;
      this.emit("change");
    }
  }
}

/**
 * What the waves measured, in words that agree with the numbers: the WebSocket spread without
 * jitter against with it (the latest of each), and whether that is a herd broken up or not.
 */
export function describeHerd(waves: readonly ReconnectWave[]): string {
  const latest = (jitter: boolean) => [...waves].reverse().find((w) => w.mark.jitter === jitter && typeof w.spreadByLink.websocket === "number");
  const herd = latest(false);
  const spreadOut = latest(true);
  const ms = (w: ReconnectWave) => `${Math.round(w.spreadByLink.websocket!)} ms`;
  if (!herd && !spreadOut) return "No WebSocket client has come back twice yet: restart with learners on the Workbench to measure a wave.";
  if (!herd || !spreadOut) {
    const one = (herd ?? spreadOut)!;
    return `${one.mark.jitter ? "With" : "Without"} jitter the WebSocket clients came back within ${ms(one)}; restart ${one.mark.jitter ? "without" : "with"} jitter to compare.`;
  }
  const a = herd.spreadByLink.websocket!;
  const b = spreadOut.spreadByLink.websocket!;
  if (b > 4 * a && b >= 200) {
    return `Without jitter the WebSocket clients came back within ${ms(herd)} — one wave the server must absorb at once; with full jitter the same clients spread over ${ms(spreadOut)}.`;
  }
  return `WebSocket clients came back within ${ms(herd)} without jitter and ${ms(spreadOut)} with it: no clear herd at this size (${herd.reconnects} clients); with few clients chance decides the spread.`;
}

function spread(times: readonly number[]): number | null {
  return times.length >= 2 ? Math.max(...times) - Math.min(...times) : null;
}

/** The bucket holding the given fraction of deliveries, as "≤ 20 ms" (or "> 10000 ms"). */
export function bucketPercentile(buckets: readonly number[], fraction: number): string {
  const count = buckets.reduce((a, b) => a + b, 0);
  if (count === 0) return "–";
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i]!;
    if (seen >= count * fraction) return i < LATENCY_BUCKETS_MS.length ? `≤ ${LATENCY_BUCKETS_MS[i]} ms` : `> ${LATENCY_BUCKETS_MS.at(-1)} ms`;
  }
  return `> ${LATENCY_BUCKETS_MS.at(-1)} ms`;
}

/** The label of each latency bucket, for a chart's axis. */
export function bucketLabels(): string[] {
  return [...LATENCY_BUCKETS_MS.map((ms) => `≤ ${ms}`), `> ${LATENCY_BUCKETS_MS.at(-1)}`];
}
