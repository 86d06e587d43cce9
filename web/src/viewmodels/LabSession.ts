/**
 * One lab in the dashboard as a model: the run options, a run with its progress and live
 * numbers, the result, the checkpoints with the learner's answers, and the exports. DOM-free:
 * the Lit components render it; the tests drive it from Node against a real server.
 */
import { Emitter } from "../isomorphic/kit/Emitter.js";
import type { FetchLike } from "../isomorphic/kit/JsonClient.js";
import type { FeedClient } from "../isomorphic/kit/FeedClient.js";
import type { EventSourceConstructor } from "../isomorphic/kit/SseClient.js";
import type { WebSocketConstructor } from "../isomorphic/kit/WebSocketClient.js";
import { WorkbenchApi, emulatorUrl } from "../isomorphic/kit/WorkbenchApi.js";
import {
  LabRunner,
  labExportJson,
  labNeedsInstructor,
  resultToCsv,
  type Checkpoint,
  type CheckpointEvaluation,
  type LabDefinition,
  type LabClientState,
  type LabProgress,
  type LabResult,
} from "../isomorphic/lab/index.js";
import type { Role, TransportName } from "../isomorphic/protocol/index.js";
import { CheckpointAnswers, type Verdict } from "./CheckpointAnswers.js";
import { LabRunSettings, QUICK_TIME_SCALE, type ConnectionMode } from "./LabRunSettings.js";
import { LabStore, type SavedLab, type StorageLike } from "./LabStore.js";
import { labSteps, type LabRunState, type LabStep } from "./labSteps.js";
import { ownPoolOrigin } from "./labText.js";
import { describeWire, type WireEntry } from "./wire.js";

// Defined beside this class, imported from here by the components.
export { QUICK_TIME_SCALE };
export type { ConnectionMode, LabRunState, LabStep, Verdict };

/** One line of the lab's wire view: what crossed the wire, and for which client ("sse-3"). */
export interface LabWireEntry extends WireEntry {
  client: string;
}

/** Lines the lab's wire view keeps: the latest, across every client. */
export const LAB_WIRE_ENTRIES = 200;

export interface LabSessionOptions {
  /** The server's origin: the lab's sends, stats and admin calls go here. */
  baseUrl: string;
  /**
   * The token, or where to read the current one (a SessionKeeper's `tokenSource`): read at every
   * call; the lab's clients start with the one current when they are created, then refresh their own.
   */
  token: string | (() => string);
  role: Role;
  /**
   * Where the lab's clients connect. Undefined: the server's network emulator when an instructor
   * session can see one (`GET /v1/admin`), else baseUrl. Null: always baseUrl.
   */
  feedUrl?: string | null;
  /** Defaults to the platform's fetch, EventSource and WebSocket (Node tests pass their own). */
  fetch?: FetchLike;
  EventSource?: EventSourceConstructor;
  WebSocket?: WebSocketConstructor;
  /** How often the live numbers are refreshed while running. Defaults to 250 ms. */
  tickMs?: number;
  /**
   * The clients run in a browser (six HTTP/1.1 connections per host; .localhost names reach this
   * computer), so each may get a connection pool of its own. Off in Node.
   */
  browser?: boolean;
  /** Where the finished run and the answers are kept across page changes and reloads (sessionStorage). */
  storage?: StorageLike;
  /** Who runs the lab: named in the exported JSON. */
  learner?: { name: string };
  /** Each of a run's clients as it is made (the dashboard reports them to the class); returns the end of watching. */
  watchClient?: (client: FeedClient) => (() => void) | void;
}

export interface LabSessionEvents {
  [name: string]: (...args: never[]) => void;
  change: () => void;
  /** A line was added to the wire view (its own event: the charts need not redraw for each frame). */
  wire: () => void;
}

export class LabSession extends Emitter<LabSessionEvents> {
  readonly lab: LabDefinition;
  readonly #options: LabSessionOptions;
  readonly #settings: LabRunSettings;
  readonly #store: LabStore;
  #runner: LabRunner | undefined;
  #clientStates: LabClientState[] = [];
  #wire: LabWireEntry[] = [];
  #wireCount = 0;
  #state: LabRunState = "ready";
  #error: string | null = null;
  #feedUrl: string | null | undefined;
  /** -1 while the clients connect; the number of phases while settling. */
  #step = -1;
  #stepStartedMs = 0;
  #elapsedMs = 0;
  #live: LabResult | null = null;
  #result: LabResult | null = null;
  readonly #checkpoints: CheckpointAnswers;
  #phaseStarts: Array<{ name: string; atMs: number }> = [];
  #abort: AbortController | undefined;

  constructor(lab: LabDefinition, options: LabSessionOptions) {
    super();
    this.lab = lab;
    this.#checkpoints = new CheckpointAnswers(lab.checkpoints);
    this.#options = options;
    this.#settings = new LabRunSettings(lab, options);
    this.#feedUrl = options.feedUrl;
    this.#store = new LabStore(options.storage, lab);
    this.#restore();
  }

  // ---- run options (LabRunSettings) ----

  /** Receiving clients per transport for the next run (the lab's own number to begin with). */
  get clients(): number {
    return this.#settings.clients;
  }

  /** Run the timed steps at a quarter of their length. */
  get quick(): boolean {
    return this.#settings.quick;
  }

  get timeScale(): number {
    return this.#settings.timeScale;
  }

  /** Whether each client is to get a connection pool of its own (host names under .localhost). */
  get ownPools(): boolean {
    return this.#settings.ownPools;
  }

  setOptions(options: { clients?: number; quick?: boolean; ownPools?: boolean }): void {
    if (this.running) return;
    this.#settings.set(options);
    this.emit("change");
  }

  get ownPoolsPossible(): boolean {
    return this.#settings.ownPoolsPossible;
  }

  get connectionMode(): ConnectionMode {
    return this.#settings.connectionMode;
  }

  /** The clients each transport runs with the current options. */
  clientsOf(transport: TransportName): number {
    return this.#settings.clientsOf(transport);
  }

  get connectionNote(): string | null {
    return this.#settings.connectionNote;
  }

  get connectionWarning(): string | null {
    return this.#settings.connectionWarning;
  }

  /** Whether this session may run the lab, and why not. */
  get permission(): { ok: true } | { ok: false; reason: string } {
    if (labNeedsInstructor(this.lab) && this.#options.role !== "instructor") {
      return { ok: false, reason: "This lab changes the network or the server, which reaches everyone on it: only an instructor can run it here." };
    }
    return { ok: true };
  }

  // ---- the run ----

  get state(): LabRunState {
    return this.#state;
  }

  get running(): boolean {
    return this.#state === "running";
  }

  /** Why the last run failed. */
  get error(): string | null {
    return this.#error;
  }

  /** Where the last run's clients connected (the emulator or the server), once known. */
  get feedUrl(): string | null | undefined {
    return this.#feedUrl;
  }

  /** Time since the run started (the clients connected), as of the last progress report. */
  get elapsedMs(): number {
    return this.#elapsedMs;
  }

  /** The step under way: -1 while connecting, the number of phases while settling. */
  get stepIndex(): number {
    return this.#step;
  }

  /** The scenario's steps with their state, plus the final settle. Durations follow the chosen time scale. */
  get steps(): LabStep[] {
    return labSteps(this.lab, this.timeScale, { state: this.#state, step: this.#step, stepStartedMs: this.#stepStartedMs, live: this.#live, result: this.#result });
  }

  /** When each step of the run began so far (for the charts' markers). */
  get phaseStarts(): ReadonlyArray<{ name: string; atMs: number }> {
    return this.#phaseStarts;
  }

  /** The numbers so far: live while running, final once done (partial after a stop). */
  get live(): LabResult | null {
    return this.#live;
  }

  /** Every receiving client's connection state during the run (the last ones after it). */
  get clientStates(): readonly LabClientState[] {
    return this.#clientStates;
  }

  /** The latest requests, events and frames of the lab's clients, oldest first (at most LAB_WIRE_ENTRIES). */
  get wire(): readonly LabWireEntry[] {
    return this.#wire.length > LAB_WIRE_ENTRIES ? this.#wire.slice(-LAB_WIRE_ENTRIES) : this.#wire;
  }

  /** The finished run's result; null until a run completes. */
  get result(): LabResult | null {
    return this.#result;
  }

  async run(): Promise<void> {
    if (this.running) return;
    const permission = this.permission;
    if (!permission.ok) {
      this.#error = permission.reason;
      this.emit("change");
      return;
    }
    const abort = new AbortController();
    this.#abort = abort;
    this.#state = "running";
    this.#error = null;
    this.#step = -1;
    this.#stepStartedMs = 0;
    this.#elapsedMs = 0;
    this.#live = null;
    this.#result = null;
    this.#checkpoints.clear();
    this.#phaseStarts = [];
    this.#clientStates = [];
    this.#wire = [];
    this.#store.clear();
    this.emit("change");
    try {
      const feedUrl = await this.#resolveFeedUrl();
      const { baseUrl, token, fetch, EventSource, WebSocket, tickMs } = this.#options;
      const own = this.connectionMode === "own";
      const feedOrigin = feedUrl ?? baseUrl;
      const clientsOf = Object.fromEntries(this.lab.scenario.transports.map((t) => [t, this.clientsOf(t)]));
      const runner = new LabRunner(
        this.lab,
        {
          baseUrl,
          token,
          ...(feedUrl && { feedUrl }),
          ...(own && { clientUrl: (t: TransportName, i: number) => ownPoolOrigin(feedOrigin, t, i) }),
          ...(fetch && { fetch }),
          ...(EventSource && { EventSource }),
          ...(WebSocket && { WebSocket }),
          ...(this.#options.watchClient && { watchClient: this.#options.watchClient }),
        },
        { clients: this.#settings.clients, clientsOf, timeScale: this.timeScale, signal: abort.signal, tickMs: tickMs ?? 250 },
      );
      this.#runner = runner;
      runner.on("progress", (progress) => this.#onProgress(progress));
      runner.on("wire", (client, record, cursor) => {
        if (abort.signal.aborted) return;
        this.#wire.push({ ...describeWire(++this.#wireCount, record, cursor), client: `${client.transport}-${client.index + 1}` });
        if (this.#wire.length > LAB_WIRE_ENTRIES * 1.5) this.#wire = this.#wire.slice(-LAB_WIRE_ENTRIES);
        this.emit("wire");
      });
      const result = await runner.run();
      if (abort.signal.aborted) throw new Error("stopped");
      this.#result = result;
      this.#live = result;
      this.#elapsedMs = result.durationMs;
      this.#checkpoints.judge(result);
      this.#state = "done";
      this.#save();
    } catch (error) {
      if (abort.signal.aborted) {
        this.#state = "stopped";
      } else {
        this.#state = "failed";
        this.#error = error instanceof Error ? error.message : String(error);
      }
    } finally {
      this.#abort = undefined;
      if (this.#runner) this.#clientStates = this.#runner.clientStates;
      this.#runner = undefined;
      this.emit("change");
    }
  }

  /** Abort the run: the clients close, the network is restored, the numbers so far stay on show. */
  stop(): void {
    this.#abort?.abort();
  }

  #onProgress(progress: LabProgress): void {
    if (this.#abort?.signal.aborted) return;
    this.#elapsedMs = Math.max(this.#elapsedMs, progress.elapsedMs);
    switch (progress.type) {
      case "phase":
        this.#step = progress.index;
        this.#stepStartedMs = progress.elapsedMs;
        this.#phaseStarts.push({ name: progress.phase.name, atMs: progress.elapsedMs });
        break;
      case "settling":
        this.#step = this.lab.scenario.phases.length;
        this.#stepStartedMs = progress.elapsedMs;
        break;
      case "tick":
        this.#live = progress.result;
        break;
      case "state":
        this.#clientStates = this.#runner?.clientStates ?? [];
        break;
    }
    this.emit("change");
  }

  async #resolveFeedUrl(): Promise<string | null> {
    if (this.#feedUrl !== undefined) return this.#feedUrl;
    const { baseUrl, token, role, fetch } = this.#options;
    let feedUrl: string | null = null;
    if (role === "instructor") {
      const status = await new WorkbenchApi(baseUrl, token, fetch).status().catch(() => null);
      // A class server may announce 0.0.0.0: reach the emulator on the host this page came from.
      if (status?.network) feedUrl = emulatorUrl(baseUrl, status.network.url);
    }
    this.#feedUrl = feedUrl;
    return feedUrl;
  }

  // ---- checkpoints ----

  /** How a checkpoint is answered: by picking a transport (most, least), or with a number (total, value). */
  static answerKind(checkpoint: Checkpoint): "transport" | "number" {
    return checkpoint.answer.kind === "most" || checkpoint.answer.kind === "least" ? "transport" : "number";
  }

  /** What the numbers say, per checkpoint; empty until a run completes. */
  get evaluations(): readonly CheckpointEvaluation[] {
    return this.#checkpoints.evaluations;
  }

  evaluation(id: string): CheckpointEvaluation | undefined {
    return this.#checkpoints.evaluation(id);
  }

  /** The transports a "most"/"least" question can name. */
  get transports(): readonly TransportName[] {
    return this.lab.scenario.transports;
  }

  /** Judge the learner's answer against the finished run; null when there is no run to judge against or no answer. */
  answer(id: string, given: string | number): Verdict | null {
    const verdict = this.#checkpoints.answer(id, given);
    if (!verdict) return null;
    this.#save();
    this.emit("change");
    return verdict;
  }

  verdict(id: string): Verdict | undefined {
    return this.#checkpoints.verdict(id);
  }

  /** The learner's answers so far, by checkpoint id (what a hand-in sends, and what is kept). */
  answers(): Record<string, string> {
    return this.#checkpoints.answers();
  }

  // ---- kept across page changes and reloads ----

  #save(): void {
    if (!this.#result) return;
    const answers = this.answers();
    this.#store.save({ result: this.#result, answers, clients: this.#settings.clients, quick: this.#settings.quick, ownPools: this.#settings.ownPools, phaseStarts: this.#phaseStarts });
  }

  /** A finished run kept by an earlier page of this tab: shown as done, its answers judged again. */
  #restore(): void {
    const saved = this.#store.load();
    // Looked like a result, but the checkpoints cannot read it: start afresh.
    if (saved && !this.#show(saved)) this.#store.clear();
  }

  /**
   * A finished run from elsewhere — a learner's hand-in, opened by the instructor — shown as done:
   * its charts, its figures and the answers, judged again against its numbers.
   */
  static ofResult(lab: LabDefinition, result: LabResult, answers: Record<string, string>, options: Omit<LabSessionOptions, "storage">): LabSession {
    const session = new LabSession(lab, options);
    const phaseStarts = result.phases.map((p) => ({ name: p.name, atMs: p.startMs }));
    session.#show({ result, answers, clients: result.parameters.clients, quick: result.parameters.timeScale < 1, ownPools: false, phaseStarts });
    return session;
  }

  /** Show a finished run as this session's; false when its checkpoints cannot read it. */
  #show(saved: SavedLab): boolean {
    try {
      this.#checkpoints.judge(saved.result, saved.answers);
    } catch {
      return false;
    }
    this.#result = saved.result;
    this.#live = saved.result;
    this.#elapsedMs = saved.result.durationMs;
    this.#phaseStarts = saved.phaseStarts;
    this.#state = "done";
    this.setOptions({ clients: saved.clients, quick: saved.quick, ownPools: saved.ownPools });
    return true;
  }

  // ---- exports ----

  /** The result and every checkpoint (what the numbers say, and what the learner answered), as JSON. */
  exportJson(): string {
    return labExportJson(this.#requireResult(), this.#checkpoints.evaluations, { learner: this.#options.learner, verdicts: this.#checkpoints.verdicts });
  }

  /** One row per transport, one column per measured metric. */
  exportCsv(): string {
    return resultToCsv(this.#requireResult(), this.lab.measure);
  }

  /** "wirelab-03-reconnect-and-resume-2025-06-01-1405.json": the lab and when it ran. */
  fileName(extension: string, suffix = ""): string {
    const at = new Date(this.#result?.startedAt ?? Date.now());
    const pad = (n: number) => String(n).padStart(2, "0");
    const stamp = `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}-${pad(at.getHours())}${pad(at.getMinutes())}`;
    return `wirelab-${this.lab.id}-${stamp}${suffix}.${extension}`;
  }

  #requireResult(): LabResult {
    if (!this.#result) throw new Error("run the lab first: there is no result to export");
    return this.#result;
  }
}
