/**
 * The workbench page: a join form until the learner has a session, then the dashboard.
 * Joining gets a token (POST /v1/session) and starts a Workbench on the page's own server.
 */
import { LitElement, css, html } from "lit";
import { DEFAULT_ROOM, isRoomName } from "../protocol/index.js";
import { Workbench } from "../measure/Workbench.js";
import { formatElapsed } from "../measure/format.js";
import { ChangeController } from "./controllers/ChangeController.js";
import { base } from "./theme.js";
import "./wirelab-dashboard.js";
import "./wirelab-join.js";
import type { JoinDetail } from "./wirelab-join.js";

const NAME_KEY = "wirelab.name";

export class WirelabApp extends LitElement {
  static override properties = {
    workbench: { state: true },
    joining: { state: true },
    error: { state: true },
  };
  declare workbench: Workbench | undefined;
  declare joining: boolean;
  declare error: string;

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
    this.joining = false;
    this.error = "";
    // The header shows the server's uptime, refreshed with every stats answer.
    new ChangeController(this, () => this.workbench?.server);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.workbench?.stop();
  }

  override render() {
    const wb = this.workbench;
    const uptime = wb?.server.latest?.uptimeMs;
    return html`<header>
        <h1>wirelab<span>four transports, one chat</span></h1>
        ${wb
          ? html`<div class="who">
              <span>room <b data-room>${wb.room}</b></span>
              <span>you are <b>${wb.user.name}</b></span>
              <span title="how long the server has been running">server up ${uptime === undefined ? "…" : formatElapsed(uptime)}</span>
              <button @click=${this.#leave}>Leave</button>
            </div>`
          : ""}
      </header>
      <main>
        ${wb
          ? html`<wirelab-dashboard .workbench=${wb}></wirelab-dashboard>`
          : html`<wirelab-join .name=${readName()} .room=${roomFromUrl()} .busy=${this.joining} .error=${this.error} @join=${this.#join}></wirelab-join>`}
      </main>`;
  }

  async #join(event: CustomEvent<JoinDetail>): Promise<void> {
    const { name, room } = event.detail;
    this.joining = true;
    this.error = "";
    try {
      const workbench = await Workbench.join(location.origin, name, room);
      saveName(name);
      const url = new URL(location.href);
      url.searchParams.set("room", room);
      history.replaceState(null, "", url);
      this.workbench = workbench;
      await workbench.start();
      await this.updateComplete;
      await this.renderRoot.querySelector("wirelab-dashboard")?.focusComposer();
    } catch (error) {
      this.error = `Could not join: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      this.joining = false;
    }
  }

  #leave(): void {
    this.workbench?.stop();
    this.workbench = undefined;
  }
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
