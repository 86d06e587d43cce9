/**
 * A page's link to its class: every few seconds it tells the server which view is open and what
 * its clients are doing (state, last byte, reconnects with what they resumed from, latency
 * buckets), and hears what the instructor asked for (an assignment, jitter on or off). Short
 * checks-ins over fetch, not a stream: they hold none of the six connections a browser gives
 * a server, and they come back on their own after a restart, which they then report too.
 * DOM-free; the app owns one per joined session.
 */
import { Emitter } from "../isomorphic/kit/Emitter.js";
import type { FetchLike } from "../isomorphic/kit/JsonClient.js";
import type { FeedClient } from "../isomorphic/kit/index.js";
import { WorkbenchApi } from "../isomorphic/kit/WorkbenchApi.js";
import {
  CLASS_LIMITS,
  LATENCY_BUCKETS_MS,
  latencyBucket,
  type CheckinRequest,
  type ClassAssignment,
  type ClientReport,
  type LinkName,
  type ReconnectEvent,
} from "../isomorphic/protocol/class.js";
import type { TransportName } from "../isomorphic/protocol/index.js";
import { ReconnectTracker } from "./ReconnectTracker.js";
import { isFromServer } from "./wire.js";

export interface ClassLinkOptions {
  baseUrl: string;
  /** The current token (a SessionKeeper's tokenSource). */
  token: () => string;
  /** Time between check-ins. Defaults to 2,000 ms. */
  intervalMs?: number;
  fetch?: FetchLike;
  clock?: () => number;
  /** This page's id; random by default. */
  page?: string;
}

export interface ClassLinkEvents {
  [name: string]: (...args: never[]) => void;
  /** The instructor assigned a lab this page has not opened yet. */
  assigned: (assignment: ClassAssignment) => void;
  /** Jitter was switched on or off for the class. */
  jitter: (on: boolean) => void;
}

interface Watched {
  client: FeedClient;
  lastByteAt: number | undefined;
  reconnects: ReconnectTracker;
}

export class ClassLink extends Emitter<ClassLinkEvents> {
  readonly page: string;
  readonly #api: WorkbenchApi;
  readonly #clock: () => number;
  readonly #intervalMs: number;
  readonly #watched = new Set<Watched>();
  readonly #events: ReconnectEvent[] = [];
  readonly #latency: Partial<Record<TransportName, number[]>> = {};
  #view: CheckinRequest["view"] = "workbench";
  #lab: string | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #nextEventId = 0;
  /** When check-ins started failing (the server is away), and when the last one got through. */
  #failingSince: number | undefined;
  #lastOkAt: number | undefined;
  #jitter = true;
  /** The last assignment this page was told about (opened once; a new id opens it again). */
  #assignmentId: string | undefined;

  constructor(options: ClassLinkOptions) {
    super();
    this.#api = new WorkbenchApi(options.baseUrl, options.token, options.fetch);
    this.#clock = options.clock ?? Date.now;
    this.#intervalMs = options.intervalMs ?? 2_000;
    this.page = options.page ?? randomPageId();
  }

  /** Whether clients should wait a random part of their backoff (the class's setting). */
  get jitter(): boolean {
    return this.#jitter;
  }

  /** Reconnects this page keeps to report (the latest). */
  get events(): readonly ReconnectEvent[] {
    return this.#events;
  }

  /** Which view the page shows (and which lab). */
  setView(view: CheckinRequest["view"], lab?: string): void {
    this.#view = view;
    this.#lab = lab;
  }

  /** Follow a client until the returned function is called (or it closes for good). */
  watch(client: FeedClient): () => void {
    const watched: Watched = { client, lastByteAt: undefined, reconnects: new ReconnectTracker() };
    // A client already open when watched: its next "open" after a loss is a reconnect.
    if (client.state === "open") watched.reconnects.changed("open", this.#clock(), client.cursor, undefined);
    this.#watched.add(watched);
    const offs = [
      client.on("wire", (record) => {
        if (isFromServer(record)) watched.lastByteAt = this.#clock();
      }),
      client.on("message", (_message, latencyMs) => {
        if (latencyMs === undefined) return;
        const buckets = (this.#latency[client.transport] ??= new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0));
        buckets[latencyBucket(latencyMs)]! += 1;
      }),
      client.on("state", (state) => {
        const mark = watched.reconnects.changed(state, this.#clock(), client.cursor, watched.lastByteAt);
        if (mark) this.#record({ link: client.transport, downAt: mark.at - mark.downMs, at: mark.at, ...(mark.resumedFrom !== undefined && { resumedFrom: mark.resumedFrom }) });
      }),
    ];
    return () => {
      for (const off of offs) off();
      this.#watched.delete(watched);
    };
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.checkin();
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One check-in now (the timer calls this); never throws: a failed one is a reconnect to come. */
  async checkin(): Promise<void> {
    clearTimeout(this.#timer);
    const now = this.#clock();
    try {
      const answer = await this.#api.checkin(this.report(now));
      if (this.#failingSince !== undefined) {
        this.#record({ link: "page", downAt: this.#lastOkAt ?? this.#failingSince, at: this.#clock() });
        this.#failingSince = undefined;
      }
      this.#lastOkAt = this.#clock();
      if (answer.jitter !== this.#jitter) {
        this.#jitter = answer.jitter;
        this.emit("jitter", answer.jitter);
      }
      const assignment = answer.assignment;
      if (assignment && assignment.id !== this.#assignmentId) {
        this.#assignmentId = assignment.id;
        this.emit("assigned", assignment);
      }
    } catch {
      this.#failingSince ??= now;
    } finally {
      if (this.#running) this.#timer = setTimeout(() => void this.checkin(), this.#intervalMs);
    }
  }

  /** What the next check-in says. */
  report(now = this.#clock()): CheckinRequest {
    const clients: ClientReport[] = [...this.#watched].slice(0, CLASS_LIMITS.clientsPerPage).map((w) => ({
      transport: w.client.transport,
      state: w.client.state,
      ...(w.client.instance !== undefined && { instance: w.client.instance.slice(0, 64) }),
      ...(w.lastByteAt !== undefined && { lastByteAt: w.lastByteAt }),
    }));
    return {
      page: this.page,
      now,
      view: this.#view,
      ...(this.#lab !== undefined && { lab: this.#lab.slice(0, CLASS_LIMITS.idMaxLength) }),
      clients,
      events: [...this.#events],
      latency: this.#latency,
    };
  }

  #record(event: { link: LinkName; downAt: number; at: number; resumedFrom?: number }): void {
    this.#events.push({ id: this.#nextEventId++, ...event });
    // The latest only: the check-in that carries them is bounded.
    if (this.#events.length > CLASS_LIMITS.eventsPerPage) this.#events.splice(0, this.#events.length - CLASS_LIMITS.eventsPerPage);
  }
}

function randomPageId(): string {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
