/**
 * The workbench page: a join form until the learner has a session, then the dashboard or the
 * labs. It renders and routes; the session itself (joining, its token kept fresh, the class
 * link, which clients run for which view, leaving) is a JoinedSession. The address says which
 * view is open (`?view=labs`, `?lab=<id>`; see route.ts), so a lab can be assigned by link.
 */
import { LitElement, css, html } from "lit";
import { JsonClient } from "../isomorphic/kit/JsonClient.js";
import type { SessionOptionsResponse } from "../isomorphic/protocol/class.js";
import { JoinedSession, joinErrorText, joinFormStart } from "../viewmodels/JoinedSession.js";
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

/** The browser's storage for the name joined with, read when asked: a sandboxed page may refuse it. */
const storage = () => localStorage;

export class WirelabApp extends LitElement {
  static override properties = {
    joined: { state: true },
    route: { state: true },
    joining: { state: true },
    error: { state: true },
    notice: { state: true },
    options: { state: true },
  };
  declare joined: JoinedSession | undefined;
  declare route: Route;
  declare joining: boolean;
  declare error: string;
  /** A note for the learner (a lab the instructor assigned), shown under the header. */
  declare notice: string;
  /** What the server asks of the join form (a class code) and where students join. */
  declare options: SessionOptionsResponse;

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
    this.joined = undefined;
    this.route = routeFrom(new URL(location.href));
    this.joining = false;
    this.error = "";
    this.notice = "";
    this.options = { classCode: false, joinUrls: [] };
    // The header shows the server's uptime, refreshed with every stats answer.
    new ChangeController(this, () => this.joined?.workbench?.server);
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
    const joined = this.joined;
    const wb = joined?.workbench;
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
                  ${joined.user.role === "instructor" ? navLink({ view: "class" }, "Class") : ""}
                </ul>
              </nav>
              <div class="who">
                ${wb ? html`<span>room <b data-room>${wb.room}</b></span>` : ""}
                <span>you are <b>${joined.user.name}</b>${joined.user.role === "instructor" ? html` <span class="role">(instructor)</span>` : ""}</span>
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
    const start = joinFormStart(new URL(location.href), storage);
    return html`${route.view === "lab"
        ? html`<p class="after-join">After joining, lab <b data-pending-lab>${route.id}</b> opens.</p>`
        : ""}
      <wirelab-join .name=${start.name} .room=${start.room} .instructor=${start.instructor} .classCode=${this.options.classCode} .busy=${this.joining} .error=${this.error} @join=${this.#join}></wirelab-join>`;
  }

  #view(joined: JoinedSession) {
    const route = this.route;
    switch (route.view) {
      case "workbench":
        return joined.workbench ? html`<wirelab-dashboard .workbench=${joined.workbench}></wirelab-dashboard>` : "";
      case "labs":
        return html`<wirelab-lab-list .catalog=${joined.catalog} .role=${joined.user.role}></wirelab-lab-list>`;
      case "lab": {
        const env: LabPageEnvironment = joined.labEnv;
        return html`<wirelab-lab .catalog=${joined.catalog} .env=${env} .labId=${route.id}></wirelab-lab>`;
      }
      case "class":
        return joined.classMonitor
          ? html`<wirelab-class .monitor=${joined.classMonitor} .controls=${joined.classControls} .catalog=${joined.catalog} .feedUrl=${joined.feedUrl} .joinUrls=${this.options.joinUrls}></wirelab-class>`
          : html`<p class="after-join">The class view is the instructor's. <a href=${hrefFor({ view: "workbench" })} @click=${onLinkClick({ view: "workbench" })}>Back to the workbench</a></p>`;
    }
  }

  async #join(event: CustomEvent<JoinDetail>): Promise<void> {
    // The key lives in this call only: not in the URL, storage or any state kept after joining.
    this.joining = true;
    this.error = "";
    try {
      const joined = await JoinedSession.join(event.detail, { baseUrl: location.origin, joinUrls: this.options.joinUrls, storage });
      const url = new URL(location.href);
      url.searchParams.set("room", event.detail.room);
      history.replaceState(null, "", url);
      joined.on("change", () => this.requestUpdate());
      joined.on("expired", (text) => {
        if (this.joined !== joined) return;
        this.#leave();
        this.error = text;
      });
      joined.on("assigned", (lab) => {
        this.notice = `Your instructor assigned the lab “${lab.title}”.`;
        void this.#go({ view: "lab", id: lab.id });
      });
      this.joined = joined;
      await this.#show();
    } catch (error) {
      this.error = joinErrorText(error);
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

  /** Run what the current view needs, then move the focus to the view. */
  async #show(): Promise<void> {
    const joined = this.joined;
    if (!joined) return;
    const route = this.route;
    const workbench = await joined.show(route.view, route.view === "lab" ? route.id : undefined);
    await this.updateComplete;
    if (route.view === "workbench") {
      if (workbench && joined.workbench === workbench) await this.renderRoot.querySelector("wirelab-dashboard")?.focusComposer();
      return;
    }
    const view = this.renderRoot.querySelector<WirelabLab | WirelabLabList | WirelabClass>("wirelab-lab, wirelab-lab-list, wirelab-class");
    await view?.updateComplete;
    view?.focusHeading();
  }

  #leave(): void {
    this.joined?.leave();
    this.joined = undefined;
  }
}

customElements.define("wirelab-app", WirelabApp);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-app": WirelabApp;
  }
}
