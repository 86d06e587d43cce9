/**
 * The dashboard's model: one session, one room, a monitor per transport (each its own live
 * client of the room) and the server's stats, sampled together once a second. DOM-free: the
 * Lit components render it; the tests drive it from Node.
 */
import { Emitter } from "../isomorphic/kit/Emitter.js";
import { FeedHttp, SessionKeeper, WorkbenchApi, createClient, type AnyClientOptions, type FetchLike } from "../isomorphic/kit/index.js";
import { DEFAULT_ROOM, TRANSPORTS, type SendResponse, type SessionResponse, type TransportName } from "../isomorphic/protocol/index.js";
import { InstructorControls } from "./InstructorControls.js";
import { ServerStats } from "./ServerStats.js";
import { TransportMonitor } from "./TransportMonitor.js";

export interface WorkbenchOptions {
  /** Server origin, e.g. "http://127.0.0.1:8080" (the page's own origin in the browser). */
  baseUrl: string;
  /**
   * Where the four clients connect: the network emulator's origin, so that network conditions
   * reach them. Defaults to baseUrl (no emulation). Stats and admin calls always use baseUrl.
   */
  feedUrl?: string;
  /**
   * The session, or the keeper of its token (the app keeps one per joined session, so a workbench
   * built later starts with a token that is still valid). Given a session, the workbench makes a
   * keeper of its own and does not start it: it then only follows the tokens its clients refresh.
   */
  session: SessionResponse | SessionKeeper;
  /** Defaults to "lobby". */
  room?: string;
  /** Passed to every client: Node passes EventSource and WebSocket here; tests shorten timings. */
  clientOptions?: Partial<AnyClientOptions>;
  /** Time between samples of counters, rates and server stats. Defaults to 1,000 ms. */
  tickMs?: number;
  /** Defaults to Date.now (the clock the kit stamps `sentAt` with). */
  clock?: () => number;
  /** Defaults to the platform's fetch. */
  fetch?: FetchLike;
}

export type JoinOptions = Omit<WorkbenchOptions, "baseUrl" | "session" | "room"> & {
  /** The class server's instructor key, for an instructor's session. */
  instructorKey?: string;
  /** The class code a class server may ask learners for. */
  classCode?: string;
};

export interface WorkbenchEvents {
  [name: string]: (...args: never[]) => void;
  /** A sample was taken: charts redraw. */
  tick: () => void;
}

export class Workbench extends Emitter<WorkbenchEvents> {
  readonly room: string;
  /** Holds the session's current token: the clients' refreshed tokens feed it, stats and controls read it. */
  readonly keeper: SessionKeeper;
  readonly origin: number;
  readonly monitors: Record<TransportName, TransportMonitor>;
  readonly server: ServerStats;
  /** Where the clients connect: the network emulator, or the server itself. */
  readonly feedUrl: string;
  /** The network & faults controls, for instructors only. */
  readonly controls: InstructorControls | undefined;
  readonly #tickMs: number;
  readonly #clock: () => number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #started = false;
  #stopped = false;

  /**
   * Get a session for `name` and build a workbench for `room` (not started yet). Its clients
   * cross the server's network emulator when it runs one, unless `feedUrl` says otherwise. Its
   * keeper is not started: whoever keeps the session beyond this workbench starts (and stops) it.
   * With `instructorKey` the session is an instructor's (a class server gives the role with its
   * key only); the key is sent once, to create the session, and not kept.
   */
  static async join(baseUrl: string, name: string, room: string, options: JoinOptions = {}): Promise<Workbench> {
    // The key is not passed on: no workbench part needs it once the session exists.
    const { instructorKey, classCode, ...workbenchOptions } = options;
    const session = await FeedHttp.createSession(baseUrl, name, { fetch: options.fetch, instructorKey, classCode });
    let feedUrl = options.feedUrl;
    if (feedUrl === undefined) {
      const port = await new WorkbenchApi(baseUrl, session.token, options.fetch).networkPort().catch(() => null);
      if (port !== null) {
        const url = new URL(baseUrl);
        url.port = String(port);
        feedUrl = url.origin;
      }
    }
    return new Workbench({ ...workbenchOptions, baseUrl, session, room, ...(feedUrl !== undefined && { feedUrl }) });
  }

  constructor(options: WorkbenchOptions) {
    super();
    this.#clock = options.clock ?? Date.now;
    this.#tickMs = options.tickMs ?? 1_000;
    this.origin = this.#clock();
    this.room = options.room ?? DEFAULT_ROOM;
    const { baseUrl } = options;
    const fetch = options.fetch;
    this.keeper = options.session instanceof SessionKeeper ? options.session : new SessionKeeper({ baseUrl, session: options.session, ...(fetch && { fetch }) });
    this.feedUrl = options.feedUrl ?? baseUrl;
    // The clients start with the current token and refresh it themselves (same user); the keeper
    // takes what they get, and stats and controls read the keeper at every request.
    const token = this.keeper.token;
    this.monitors = Object.fromEntries(
      TRANSPORTS.map((transport) => {
        const client = createClient(transport, {
          baseUrl: this.feedUrl,
          token,
          room: this.room,
          clock: this.#clock,
          ...(fetch && { fetch }),
          ...options.clientOptions,
        });
        client.on("token", (grant) => this.keeper.adopt(grant));
        return [transport, new TransportMonitor(client, { origin: this.origin, clock: this.#clock })];
      }),
    ) as Record<TransportName, TransportMonitor>;
    const tokenSource = this.keeper.tokenSource;
    this.controls = this.keeper.user.role === "instructor" ? new InstructorControls(new WorkbenchApi(baseUrl, tokenSource, fetch), this.#clock) : undefined;
    this.server = new ServerStats({ baseUrl, token: tokenSource, origin: this.origin, clock: this.#clock, ...(fetch && { fetch }) });
  }

  /** The session with its current token. */
  get session(): SessionResponse {
    return this.keeper.session;
  }

  get user() {
    return this.keeper.user;
  }

  /**
   * Take the server's baseline, then connect every transport and start sampling. The baseline
   * comes first so that the server's "since you joined" numbers include the clients' first requests.
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await Promise.all([this.server.refresh(), this.controls?.refresh()]);
    if (this.#stopped) return;
    for (const monitor of Object.values(this.monitors)) monitor.connect();
    this.#timer = setInterval(() => void this.tick(), this.#tickMs);
    void this.tick();
  }

  /** Take one sample of every monitor and of the server (the timer calls this). */
  async tick(): Promise<void> {
    const now = this.#clock();
    for (const monitor of Object.values(this.monitors)) monitor.sample(now);
    await this.server.refresh();
    // A tick still waiting for the server when the workbench stopped says nothing more.
    if (this.#stopped) return;
    this.emit("tick");
  }

  /** Send one chat message over `transport`; every monitor should see it arrive. */
  send(transport: TransportName, text: string): Promise<SendResponse> {
    return this.monitors[transport].client.send(text);
  }

  /** Stop sampling and close every client. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const monitor of Object.values(this.monitors)) monitor.dispose();
  }
}
