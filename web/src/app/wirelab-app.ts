/**
 * The workbench page: a join form until the learner has a session, then the dashboard or the
 * labs. Joining gets a token (POST /v1/session), which a SessionKeeper refreshes for as long as
 * the session is joined (tokens live 15 minutes); the address says which view is open
 * (`?view=labs`, `?lab=<id>`; see route.ts), so a lab can be assigned by link. The workbench's
 * four clients run only while the workbench is shown: a lab brings its own clients, and a
 * browser gives one server only six connections.
 */
import { LitElement, css, html } from "lit";
import { HttpError, JsonClient } from "../isomorphic/kit/JsonClient.js";
import type { SessionKeeper } from "../isomorphic/kit/SessionKeeper.js";
import { WorkbenchApi } from "../isomorphic/kit/WorkbenchApi.js";
import type { ClassAssignment, SessionOptionsResponse } from "../isomorphic/protocol/class.js";
import { ClassLink } from "../viewmodels/ClassLink.js";
import { ClassMonitor } from "../viewmodels/ClassMonitor.js";
import { InstructorControls } from "../viewmodels/InstructorControls.js";
import { DEFAULT_ROOM, isRoomName } from "../isomorphic/protocol/index.js";
import { LabCatalog } from "../viewmodels/LabCatalog.js";
import { Workbench } from "../viewmodels/Workbench.js";
import { formatElapsed } from "../viewmodels/format.js";
import { ChangeController } from "./controllers/ChangeController.js";
import { NAVIGATE, hrefFor, onLinkClick, type NavigateEvent } from "./navigate.js";
import { routeFrom, sameRoute, sectionOf, urlFor, type Route } from "./route.js";
import { base } from "./theme.js";
import "./wirelab-class.js";
import "./wirelab-dashboard.js";
import "./wirelab-join.js";
import "./wirelab-lab.js";
import "./wirelab-lab-list.js";
import type { JoinDetail } from "./wirelab-join.js";
import type { LabPageEnvironment, WirelabLab } from "./wirelab-lab.js";
import type { WirelabLabList } from "./wirelab-lab-list.js";
import type { WirelabClass } from "./wirelab-class.js";

/** What joining gave: enough to rebuild the workbench after a visit to the labs. */
interface Joined {
  /** The session and its current token, refreshed on a timer while joined; every view reads the token here. */
  keeper: SessionKeeper;
  room: string;
  feedUrl: string;
  catalog: LabCatalog;
  /** What a lab page needs; one object, so the page sees no change when the app re-renders. */
  labEnv: LabPageEnvironment;
  /** This page's check-ins with the class: it reports its clients and hears assignments. */
  link: ClassLink;
  /** The instructor's class view and its controls, made when first shown. */
  classMonitor?: ClassMonitor;
  classControls?: InstructorControls;
}

const NAME_KEY = "wirelab.name";

export class WirelabApp extends LitElement {
  static override properties = {
    workbench: { state: true },
    joined: { state: true },
    route: { state: true },
    joining: { state: true },
    error: { state: true },
    notice: { state: true },
    options: { state: true },
  };
  /** The running workbench, while the workbench view is shown. */
  declare workbench: Workbench | undefined;
  declare joined: Joined | undefined;
  declare route: Route;
  declare joining: boolean;
  declare error: string;
  /** A note for the learner (a lab the instructor assigned), shown under the header. */
  declare notice: string;
  /** What the server asks of the join form (a class code) and where students join. */
  declare options: SessionOptionsResponse;
  /** The workbench clients' check-in watchers, to let go of when the workbench stops. */
  #unwatch: Array<() => void> = [];

  static override styles = [
    base,
    css`
      :host {
        display: block;
        min-height: 100vh;
      }
      header {
        display: flex;
        align-items: center;
        gap: 1rem 1.5rem;
        flex-wrap: wrap;
        padding: 0.6rem 1.25rem;
        background: var(--header-bg);
        color: var(--header-fg);
      }
      h1 {
        margin: 0;
        font-size: 1.35rem;
        letter-spacing: 0.01em;
      }
      h1 span {
        font-weight: 400;
        opacity: 0.75;
        font-size: 0.95rem;
        margin-left: 0.6rem;
      }
      .who {
        margin-left: auto;
        display: flex;
        align-items: center;
        gap: 1.25rem;
        flex-wrap: wrap;
      }
      .who b {
        font-weight: 650;
      }
      header button {
        background: transparent;
        color: inherit;
        border-color: rgba(255, 255, 255, 0.55);
      }
      header button:hover:not(:disabled) {
        background: rgba(255, 255, 255, 0.12);
      }
      nav ul {
        display: flex;
        gap: 0.3rem;
        margin: 0;
        padding: 0;
        list-style: none;
      }
      nav a {
        display: inline-block;
        padding: 0.3rem 0.85rem;
        border-radius: 6px;
        color: inherit;
        text-decoration: none;
        font-weight: 600;
        border: 1px solid transparent;
      }
      nav a:hover {
        background: rgba(255, 255, 255, 0.12);
      }
      nav a[aria-current="page"] {
        background: var(--header-fg);
        color: var(--header-bg);
      }
      .role {
        opacity: 0.75;
      }
      .after-join {
        max-width: 34rem;
        margin: 2rem auto -1.5rem;
        padding: 0.6rem 0.9rem;
        background: var(--surface);
        border: 1px solid var(--border);
        border-left: 5px solid var(--accent);
        border-radius: 8px;
      }
      .notice {
        max-width: 48rem;
        /* Centred, and never touching the edges of a phone's screen. */
        margin: 1rem max(1.25rem, calc((100% - 48rem) / 2)) 0;
        padding: 0.6rem 0.9rem;
        background: var(--surface);
        border: 1px solid var(--border);
        border-left: 5px solid var(--accent);
        border-radius: 8px;
      }
      header :focus-visible {
        outline-color: #fff;
      }
      main {
        padding: 1rem 1.25rem 2rem;
        max-width: 1920px;
        margin: 0 auto;
      }
    `,
  ];

  constructor() {
    super();
    this.workbench = undefined;
    this.joined = undefined;
    this.route = routeFrom(new URL(location.href));
    this.joining = false;
    this.error = "";
    this.notice = "";
    this.options = { classCode: false, joinUrls: [] };
    // The header shows the server's uptime, refreshed with every stats answer.
    new ChangeController(this, () => this.workbench?.server);
    this.addEventListener(NAVIGATE, (event) => void this.#go((event as NavigateEvent).detail));
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener("popstate", this.#onPopState);
    // Without them the join form simply offers no class code field.
    new JsonClient(location.origin)
      .get<SessionOptionsResponse>("/v1/session/options")
      .then((options) => (this.options = options))
      .catch(() => {});
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener("popstate", this.#onPopState);
    this.#leave();
  }

  override render() {
    const wb = this.workbench;
    const joined = this.joined;
    const uptime = wb?.server.latest?.uptimeMs;
    const section = sectionOf(this.route);
    const navLink = (route: Route, label: string) =>
      html`<li><a href=${hrefFor(route)} aria-current=${section === sectionOf(route) ? "page" : "false"} @click=${onLinkClick(route)}>${label}</a></li>`;
    return html`<header>
        <h1>wirelab<span>four transports, one chat</span></h1>
        ${joined
          ? html`<nav aria-label="views">
                <ul>
                  ${navLink({ view: "workbench" }, "Workbench")} ${navLink({ view: "labs" }, "Labs")}
                  ${joined.keeper.user.role === "instructor" ? navLink({ view: "class" }, "Class") : ""}
                </ul>
              </nav>
              <div class="who">
                ${wb ? html`<span>room <b data-room>${wb.room}</b></span>` : ""}
                <span>you are <b>${joined.keeper.user.name}</b>${joined.keeper.user.role === "instructor" ? html` <span class="role">(instructor)</span>` : ""}</span>
                ${wb ? html`<span title="how long the server has been running">server up ${uptime === undefined ? "…" : formatElapsed(uptime)}</span>` : ""}
                <button @click=${this.#leave}>Leave</button>
              </div>`
          : ""}
      </header>
      ${this.notice ? html`<p class="notice" role="status" data-notice>${this.notice} <button @click=${() => (this.notice = "")}>OK</button></p>` : ""}
      <main>${joined ? this.#view(joined) : this.#joinForm()}</main>`;
  }

  #joinForm() {
    const route = this.route;
    return html`${route.view === "lab"
        ? html`<p class="after-join">After joining, lab <b data-pending-lab>${route.id}</b> opens.</p>`
        : ""}
      <wirelab-join .name=${readName()} .room=${roomFromUrl()} .instructor=${instructorFromUrl()} .classCode=${this.options.classCode} .busy=${this.joining} .error=${this.error} @join=${this.#join}></wirelab-join>`;
  }

  #view(joined: Joined) {
    const route = this.route;
    switch (route.view) {
      case "workbench":
        return this.workbench ? html`<wirelab-dashboard .workbench=${this.workbench}></wirelab-dashboard>` : "";
      case "labs":
        return html`<wirelab-lab-list .catalog=${joined.catalog} .role=${joined.keeper.user.role}></wirelab-lab-list>`;
      case "lab":
        return html`<wirelab-lab .catalog=${joined.catalog} .env=${joined.labEnv} .labId=${route.id}></wirelab-lab>`;
      case "class":
        return joined.classMonitor
          ? html`<wirelab-class .monitor=${joined.classMonitor} .controls=${joined.classControls} .catalog=${joined.catalog} .feedUrl=${joined.feedUrl} .joinUrls=${this.options.joinUrls}></wirelab-class>`
          : html`<p class="after-join">The class view is the instructor's. <a href=${hrefFor({ view: "workbench" })} @click=${onLinkClick({ view: "workbench" })}>Back to the workbench</a></p>`;
    }
  }

  async #join(event: CustomEvent<JoinDetail>): Promise<void> {
    // The key lives in this call only: not in the URL, storage or any state kept after joining.
    const { name, room, instructorKey, classCode } = event.detail;
    this.joining = true;
    this.error = "";
    try {
      const workbench = await Workbench.join(location.origin, name, room, {
        clientOptions: this.#clientOptions,
        ...(instructorKey !== undefined && { instructorKey }),
        ...(classCode !== undefined && { classCode }),
      });
      saveName(name);
      const url = new URL(location.href);
      url.searchParams.set("room", room);
      history.replaceState(null, "", url);
      // One keeper for the whole session: it refreshes the token even while the labs are shown and
      // the workbench's clients (which refresh their own) are closed.
      const keeper = workbench.keeper;
      keeper.on("expired", () => this.#expired(keeper));
      keeper.start();
      const link = new ClassLink({ baseUrl: location.origin, token: keeper.tokenSource });
      // Learners follow the instructor's assignment; the instructor's own page stays where it is.
      if (keeper.user.role === "learner") link.on("assigned", (assignment) => void this.#assigned(assignment));
      this.joined = {
        keeper,
        room: workbench.room,
        feedUrl: workbench.feedUrl,
        catalog: new LabCatalog({ baseUrl: location.origin, token: keeper.tokenSource }),
        labEnv: {
          baseUrl: location.origin,
          token: keeper.tokenSource,
          role: keeper.user.role,
          joinUrls: this.options.joinUrls,
          learner: { name: keeper.user.name },
          // A lab's clients are in the class's roster and timeline too, while the run lasts.
          watchClient: (client) => link.watch(client),
        },
        link,
      };
      if (this.route.view === "workbench") this.workbench = workbench;
      else workbench.stop(); // never started: nothing is open; the workbench view builds its own
      await this.#show();
      link.start();
    } catch (error) {
      this.error = `Could not join: ${joinErrorText(error)}`;
    } finally {
      this.joining = false;
    }
  }

  /** Go to another view: a new history entry, so Back returns. */
  async #go(route: Route): Promise<void> {
    if (sameRoute(route, this.route)) return;
    history.pushState(null, "", urlFor(route, new URL(location.href)));
    this.route = route;
    await this.#show();
  }

  #onPopState = (): void => {
    this.route = routeFrom(new URL(location.href));
    void this.#show();
  };

  /** Start or stop the workbench for the current view, then move the focus to the view. */
  async #show(): Promise<void> {
    const joined = this.joined;
    if (!joined) return;
    const route = this.route;
    joined.link.setView(route.view, route.view === "lab" ? route.id : undefined);
    if (route.view === "class") this.#showClass(joined);
    else joined.classMonitor?.stop();
    if (route.view === "workbench") {
      this.workbench ??= new Workbench({ baseUrl: location.origin, feedUrl: joined.feedUrl, session: joined.keeper, room: joined.room, clientOptions: this.#clientOptions });
      const workbench = this.workbench;
      if (this.#unwatch.length === 0) this.#unwatch = Object.values(workbench.monitors).map((m) => joined.link.watch(m.client));
      await workbench.start();
      await this.updateComplete;
      if (this.workbench === workbench) await this.renderRoot.querySelector("wirelab-dashboard")?.focusComposer();
      return;
    }
    // A lab brings its own clients: close the workbench's (a browser allows six connections per server).
    this.#stopWorkbench();
    await this.updateComplete;
    const view = this.renderRoot.querySelector<WirelabLab | WirelabLabList | WirelabClass>("wirelab-lab, wirelab-lab-list, wirelab-class");
    await view?.updateComplete;
    view?.focusHeading();
  }

  /**
   * The workbench's clients, for every learner: their backoff has the jitter the instructor set for
   * the class (lab 08's lesson, class-wide); without jitter each waits the full ceiling.
   */
  readonly #clientOptions = { random: () => (this.joined?.link.jitter ?? true ? Math.random() : 0.999_999) };

  #stopWorkbench(): void {
    for (const unwatch of this.#unwatch.splice(0)) unwatch();
    this.workbench?.stop();
    this.workbench = undefined;
  }

  /** The instructor's class view: its model and controls are made once, refreshed while shown. */
  #showClass(joined: Joined): void {
    if (joined.keeper.user.role !== "instructor") return;
    if (!joined.classMonitor) {
      joined.classMonitor = new ClassMonitor({ baseUrl: location.origin, token: joined.keeper.tokenSource });
      joined.classControls = new InstructorControls(new WorkbenchApi(location.origin, joined.keeper.tokenSource));
      this.requestUpdate();
    }
    joined.classMonitor.start();
    void joined.classControls?.refresh();
  }

  /** The instructor assigned a lab: open it (once per assignment; latecomers on joining). */
  async #assigned(assignment: ClassAssignment): Promise<void> {
    const title = await this.joined?.catalog.load(assignment.lab).then((lab) => lab.title, () => assignment.lab);
    this.notice = `Your instructor assigned the lab “${title}”.`;
    await this.#go({ view: "lab", id: assignment.lab });
  }

  #leave(): void {
    this.#stopWorkbench();
    this.joined?.link.stop();
    this.joined?.classMonitor?.stop();
    this.joined?.keeper.stop();
    this.joined = undefined;
  }

  /**
   * The server refused to refresh the token (the computer slept past its expiry): say so and
   * offer the join form, rather than quietly joining again as someone new.
   */
  #expired(keeper: SessionKeeper): void {
    if (this.joined?.keeper !== keeper) return;
    this.#leave();
    this.error = "Your session ran out (the page was away longer than its token lives). Join again: you will be a new user in the room.";
  }
}

/**
 * The server's own words (a wrong instructor key is 403, too many of them 429), plus when to try
 * again after a rate limit.
 */
function joinErrorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof HttpError && error.rateLimited && error.retryAfterMs !== undefined) {
    return `${error.message} (try again in ${Math.max(1, Math.ceil(error.retryAfterMs / 1000))} s)`;
  }
  return error.message;
}

/** The instructor's link (`?instructor`, printed by `wirelab serve --class`) opens the key field. */
function instructorFromUrl(): boolean {
  return new URL(location.href).searchParams.has("instructor");
}

function roomFromUrl(): string {
  const room = new URL(location.href).searchParams.get("room");
  return room && isRoomName(room) ? room : DEFAULT_ROOM;
}

function readName(): string {
  try {
    return localStorage.getItem(NAME_KEY) ?? "";
  } catch {
    return "";
  }
}

function saveName(name: string): void {
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // Storage may be disabled; the name is only a convenience.
  }
}

customElements.define("wirelab-app", WirelabApp);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-app": WirelabApp;
  }
}
