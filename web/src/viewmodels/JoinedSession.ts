/**
 * The page's joined session, DOM-free: joining (a session from POST /v1/session, with the keeper
 * that refreshes its token for as long as the session is joined: tokens live 15 minutes), the
 * class link, the lab catalog and what a lab page needs; which of its parts run for the view
 * that is open; and leaving. The workbench's four clients run only while the workbench is shown:
 * a lab brings its own clients, and a browser gives one server only six connections. The
 * instructor's class view is made when first shown and refreshed while shown. The app renders
 * it and routes; the browser's storage comes in as a function, so tests drive it from Node.
 */
import { Emitter } from "../isomorphic/kit/Emitter.js";
import { HttpError, type FetchLike } from "../isomorphic/kit/JsonClient.js";
import type { AnyClientOptions, FeedClient } from "../isomorphic/kit/index.js";
import type { SessionKeeper } from "../isomorphic/kit/SessionKeeper.js";
import { WorkbenchApi } from "../isomorphic/kit/WorkbenchApi.js";
import type { CheckinRequest, ClassAssignment } from "../isomorphic/protocol/class.js";
import { DEFAULT_ROOM, isRoomName, type Role, type SessionResponse } from "../isomorphic/protocol/index.js";
import { ClassLink } from "./ClassLink.js";
import { ClassMonitor } from "./ClassMonitor.js";
import { InstructorControls } from "./InstructorControls.js";
import { LabCatalog } from "./LabCatalog.js";
import type { StorageLike } from "./LabStore.js";
import { Workbench } from "./Workbench.js";

/** What the join form asks for. */
export interface JoinRequest {
  name: string;
  room: string;
  /** Sent once, to create the session: not kept here, nor anywhere after joining. */
  instructorKey?: string;
  classCode?: string;
}

export interface JoinedSessionOptions {
  /** The server's origin (the page's own in the browser). */
  baseUrl: string;
  /** Where students join a class server, for the labs' shared links. */
  joinUrls?: readonly string[];
  /** Where the name joined with is remembered for next time (a getter: the browser may refuse storage). */
  storage?: () => Pick<StorageLike, "getItem" | "setItem">;
  /** Passed to the workbench's clients: Node passes EventSource and WebSocket here; tests shorten timings. */
  clientOptions?: Partial<AnyClientOptions>;
  /** Time between the class link's check-ins. Defaults to 2,000 ms. */
  checkinMs?: number;
  /** Time between the workbench's samples. Defaults to 1,000 ms. */
  tickMs?: number;
  fetch?: FetchLike;
}

/** What a lab page (<wirelab-lab>) needs: one object for the session, so a re-render changes nothing. */
export interface LabEnvironment {
  baseUrl: string;
  token: () => string;
  role: Role;
  joinUrls: readonly string[];
  learner: { name: string };
  watchClient: (client: FeedClient) => () => void;
}

export type View = CheckinRequest["view"];

export interface JoinedSessionEvents {
  [name: string]: (...args: never[]) => void;
  /** The workbench or the class view came or went: the page renders again. */
  change: () => void;
  /** The instructor assigned a lab (once per assignment; latecomers on joining). Learners only. */
  assigned: (lab: { id: string; title: string }) => void;
  /** The server refused to refresh the token: the session has left; `text` is what the join form says. */
  expired: (text: string) => void;
}

/** What the join form says after the token ran out, rather than quietly joining again as someone new. */
export const SESSION_EXPIRED_TEXT = "Your session ran out (the page was away longer than its token lives). Join again: you will be a new user in the room.";

const NAME_KEY = "wirelab.name";

export class JoinedSession extends Emitter<JoinedSessionEvents> {
  /** The session and its current token, refreshed on a timer while joined; every view reads the token here. */
  readonly keeper: SessionKeeper;
  readonly room: string;
  readonly feedUrl: string;
  readonly catalog: LabCatalog;
  readonly labEnv: LabEnvironment;
  /** This page's check-ins with the class: it reports its clients and hears assignments. */
  readonly link: ClassLink;
  /**
   * The draw of the workbench clients' backoff: random with the jitter the instructor set for the
   * class (lab 08's lesson, class-wide); without jitter each waits the full ceiling.
   */
  readonly random = (): number => (this.link.jitter ? Math.random() : 0.999_999);
  readonly #options: JoinedSessionOptions;
  #workbench: Workbench | undefined;
  /** The workbench clients' check-in watchers, to let go of when the workbench stops. */
  #unwatch: Array<() => void> = [];
  #classMonitor: ClassMonitor | undefined;
  #classControls: InstructorControls | undefined;
  #left = false;

  /**
   * Get a session and build its parts; its keeper runs from now on, its check-ins from the first
   * `show()`. Rejects with the server's refusal (an HttpError: a wrong instructor key or class
   * code is 403, too many of them 429); `joinErrorText` says it as the form does.
   */
  static async join(request: JoinRequest, options: JoinedSessionOptions): Promise<JoinedSession> {
    const { name, room, instructorKey, classCode } = request;
    const { baseUrl, fetch, tickMs } = options;
    // Before the session exists there is no class setting yet: jitter, as by default.
    let joined: JoinedSession | undefined;
    const clientOptions = { ...options.clientOptions, random: () => (joined ? joined.random() : Math.random()) };
    const workbench = await Workbench.join(baseUrl, name, room, {
      clientOptions,
      ...(fetch && { fetch }),
      ...(tickMs !== undefined && { tickMs }),
      ...(instructorKey !== undefined && { instructorKey }),
      ...(classCode !== undefined && { classCode }),
    });
    rememberName(options.storage, name);
    joined = new JoinedSession(workbench, { ...options, clientOptions });
    return joined;
  }

  private constructor(workbench: Workbench, options: JoinedSessionOptions) {
    super();
    this.#options = options;
    const { baseUrl, fetch } = options;
    // One keeper for the whole session: it refreshes the token even while the labs are shown and
    // the workbench's clients (which refresh their own) are closed.
    const keeper = (this.keeper = workbench.keeper);
    keeper.on("expired", () => {
      if (this.#left) return;
      this.leave();
      this.emit("expired", SESSION_EXPIRED_TEXT);
    });
    keeper.start();
    this.room = workbench.room;
    this.feedUrl = workbench.feedUrl;
    // Kept until the first view is shown: the workbench's, or stopped there (never started, nothing is open).
    this.#workbench = workbench;
    const token = keeper.tokenSource;
    this.link = new ClassLink({ baseUrl, token, ...(fetch && { fetch }), ...(options.checkinMs !== undefined && { intervalMs: options.checkinMs }) });
    // Learners follow the instructor's assignment; the instructor's own page stays where it is.
    if (keeper.user.role === "learner") this.link.on("assigned", (assignment) => void this.#assigned(assignment));
    this.catalog = new LabCatalog({ baseUrl, token, ...(fetch && { fetch }) });
    this.labEnv = {
      baseUrl,
      token,
      role: keeper.user.role,
      joinUrls: options.joinUrls ?? [],
      learner: { name: keeper.user.name },
      // A lab's clients are in the class's roster and timeline too, while the run lasts.
      watchClient: (client) => this.link.watch(client),
    };
  }

  get user(): SessionResponse["user"] {
    return this.keeper.user;
  }

  /** The running workbench, while the workbench view is shown. */
  get workbench(): Workbench | undefined {
    return this.#workbench;
  }

  /** The instructor's class view and its controls, made when first shown. */
  get classMonitor(): ClassMonitor | undefined {
    return this.#classMonitor;
  }

  get classControls(): InstructorControls | undefined {
    return this.#classControls;
  }

  /** Whether the session has left (or its token ran out): nothing of it runs any more. */
  get left(): boolean {
    return this.#left;
  }

  /**
   * Run what `view` needs and stop the rest, tell the class which view it is, and (the first time)
   * start the check-ins. Resolves when the workbench, if it is the view, has started: with it.
   */
  async show(view: View, lab?: string): Promise<Workbench | undefined> {
    if (this.#left) return undefined;
    this.link.setView(view, view === "lab" ? lab : undefined);
    if (view === "class") this.#showClass();
    else this.#classMonitor?.stop();
    let workbench: Workbench | undefined;
    if (view === "workbench") {
      workbench = this.#workbench;
      if (!workbench) {
        const { baseUrl, fetch, tickMs, clientOptions } = this.#options;
        workbench = this.#workbench = new Workbench({
          baseUrl,
          feedUrl: this.feedUrl,
          session: this.keeper,
          room: this.room,
          ...(clientOptions && { clientOptions }),
          ...(fetch && { fetch }),
          ...(tickMs !== undefined && { tickMs }),
        });
        this.emit("change");
      }
      if (this.#unwatch.length === 0) this.#unwatch = Object.values(workbench.monitors).map((m) => this.link.watch(m.client));
      await workbench.start();
    } else {
      // A lab brings its own clients: close the workbench's (a browser allows six connections per server).
      this.#stopWorkbench();
    }
    if (!this.#left) this.link.start();
    return workbench;
  }

  /** Stop everything: the workbench, the check-ins, the class view, the keeper. */
  leave(): void {
    this.#left = true;
    this.#stopWorkbench();
    this.link.stop();
    this.#classMonitor?.stop();
    this.keeper.stop();
  }

  #stopWorkbench(): void {
    for (const unwatch of this.#unwatch.splice(0)) unwatch();
    if (!this.#workbench) return;
    this.#workbench.stop();
    this.#workbench = undefined;
    this.emit("change");
  }

  /** The instructor's class view: its model and controls are made once, refreshed while shown. */
  #showClass(): void {
    if (this.user.role !== "instructor") return;
    if (!this.#classMonitor) {
      const { baseUrl, fetch } = this.#options;
      const token = this.keeper.tokenSource;
      this.#classMonitor = new ClassMonitor({ baseUrl, token, ...(fetch && { fetch }) });
      this.#classControls = new InstructorControls(new WorkbenchApi(baseUrl, token, fetch));
      this.emit("change");
    }
    this.#classMonitor.start();
    void this.#classControls?.refresh();
  }

  /** The instructor assigned a lab: say which, by its title (its id when the catalog cannot load it). */
  async #assigned(assignment: ClassAssignment): Promise<void> {
    const title = await this.catalog.load(assignment.lab).then((lab) => lab.title, () => assignment.lab);
    if (!this.#left) this.emit("assigned", { id: assignment.lab, title });
  }
}

/**
 * What the join form says when joining failed: the server's own words (a wrong instructor key is
 * 403, too many of them 429), plus when to try again after a rate limit.
 */
export function joinErrorText(error: unknown): string {
  return `Could not join: ${reason(error)}`;
}

function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof HttpError && error.rateLimited && error.retryAfterMs !== undefined) {
    return `${error.message} (try again in ${Math.max(1, Math.ceil(error.retryAfterMs / 1000))} s)`;
  }
  return error.message;
}

/**
 * What the join form starts with: the name this browser joined with last, the room from the
 * address (`?room=`), and whether the instructor key field is open (the instructor's link,
 * `?instructor`, printed by `wirelab serve --class`).
 */
export function joinFormStart(url: URL, storage?: () => Pick<StorageLike, "getItem">): { name: string; room: string; instructor: boolean } {
  const room = url.searchParams.get("room");
  return { name: rememberedName(storage), room: room && isRoomName(room) ? room : DEFAULT_ROOM, instructor: url.searchParams.has("instructor") };
}

function rememberedName(storage: (() => Pick<StorageLike, "getItem">) | undefined): string {
  try {
    return storage?.().getItem(NAME_KEY) ?? "";
  } catch {
    return "";
  }
}

function rememberName(storage: (() => Pick<StorageLike, "setItem">) | undefined, name: string): void {
  try {
    storage?.().setItem(NAME_KEY, name);
  } catch {
    // Storage may be disabled; the name is only a convenience.
  }
}
