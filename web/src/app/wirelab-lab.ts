/**
 * One lab: its instructions, the scenario with Run and Stop and the progress, live charts, the
 * result, the checkpoints and the exports. It loads the lab by id and keeps a LabSession, the
 * model every part renders; leaving the page stops a run.
 */
import { LitElement, css, html, type PropertyValues } from "lit";
import { HttpError } from "../isomorphic/kit/JsonClient.js";
import { labNeedsInstructor } from "../isomorphic/lab/index.js";
import type { LabCatalog } from "../viewmodels/LabCatalog.js";
import { LabSession } from "../viewmodels/LabSession.js";
import type { Role } from "../isomorphic/protocol/index.js";
import { ChangeController } from "./controllers/ChangeController.js";
import { download } from "./download.js";
import type { FeedClient } from "../isomorphic/kit/FeedClient.js";
import "./wirelab-lab-handin.js";
import { withoutTitle } from "./markdown.js";
import { hrefFor, onLinkClick } from "./navigate.js";
import { base } from "./theme.js";
import "./wirelab-checkpoint.js";
import "./wirelab-lab-charts.js";
import "./wirelab-lab-results.js";
import "./wirelab-lab-run.js";
import "./wirelab-lab-wire.js";
import "./wirelab-markdown.js";

export interface LabPageEnvironment {
  baseUrl: string;
  /** Where to read the session's current token (it is refreshed): the same function for the whole session. */
  token: string | (() => string);
  role: Role;
  /** Where students join a class server (its addresses on the class network); shared links use the first. */
  joinUrls?: readonly string[];
  /** Who runs the labs: named in exported results. */
  learner?: { name: string };
  /** Each lab client as it is made, for the class's check-ins. */
  watchClient?: (client: FeedClient) => (() => void) | void;
}

const LABS = { view: "labs" as const };

/** The tab's session storage, or none where the browser refuses it (a sandboxed frame, storage disabled). */
function tabStorage(): Storage | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined;
  }
}

function sameEnvironment(a: LabPageEnvironment, b: LabPageEnvironment): boolean {
  return a.baseUrl === b.baseUrl && a.token === b.token && a.role === b.role;
}

export class WirelabLab extends LitElement {
  static override properties = {
    catalog: { attribute: false },
    env: { attribute: false },
    labId: { attribute: "lab-id" },
    session: { state: true },
    loadError: { state: true },
    copied: { state: true },
  };
  declare catalog: LabCatalog | undefined;
  declare env: LabPageEnvironment | undefined;
  declare labId: string;
  declare session: LabSession | undefined;
  declare loadError: string;
  /** Feedback of the Copy link button. */
  declare copied: string;
  #loads = 0;
  /** Focus the heading once the lab has loaded (the app asks as soon as the page opens). */
  #focusWanted = false;

  static override styles = [
    base,
    css`
      :host {
        display: grid;
        gap: 1.1rem;
      }
      .back {
        font-weight: 600;
        color: var(--accent-strong);
      }
      .title {
        display: flex;
        flex-wrap: wrap;
        align-items: baseline;
        gap: 0.4rem 0.8rem;
      }
      h2 {
        margin: 0;
        font-size: 1.75rem;
        line-height: 1.2;
      }
      h2:focus {
        outline: none;
      }
      .number {
        color: var(--accent);
        margin-right: 0.4rem;
      }
      .chip {
        padding: 0.05rem 0.55rem;
        border-radius: 999px;
        font-size: 0.85rem;
        font-weight: 600;
        background: var(--state-wait-bg);
        color: var(--state-wait-fg);
      }
      .summary {
        margin: 0.35rem 0 0;
        font-size: 1.15rem;
        max-width: 70rem;
      }
      .share {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.4rem 0.6rem;
        margin-top: 0.55rem;
        font-size: 0.92rem;
      }
      .share input {
        font-family: var(--mono);
        font-size: 0.88rem;
        width: min(100%, 30rem);
        border: 1px solid var(--border);
        border-radius: 6px;
        padding: 0.2rem 0.45rem;
        background: var(--surface-sunken);
        color: var(--text);
      }
      .top {
        display: grid;
        grid-template-columns: minmax(0, 1.2fr) minmax(0, 1fr);
        gap: 1.1rem;
        align-items: start;
      }
      @media (max-width: 1100px) {
        .top {
          grid-template-columns: minmax(0, 1fr);
        }
      }
      .card {
        background: var(--surface);
        border: 1px solid var(--border);
        border-radius: 8px;
        padding: 0.9rem 1.1rem;
        box-shadow: var(--shadow);
        min-width: 0;
      }
      h3 {
        margin: 0 0 0.6rem;
        font-size: 1.2rem;
      }
      .section-head {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem 0.8rem;
        margin-bottom: 0.6rem;
      }
      .section-head h3 {
        margin: 0;
      }
      .exports {
        display: flex;
        flex-wrap: wrap;
        gap: 0.45rem;
        margin-left: auto;
      }
      .checkpoints {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(min(100%, 34rem), 1fr));
        gap: 0.9rem;
      }
      .error {
        color: var(--error);
        white-space: pre-wrap;
        overflow-wrap: anywhere;
      }
      .error code {
        font-family: var(--mono);
      }
    `,
  ];

  constructor() {
    super();
    this.catalog = undefined;
    this.env = undefined;
    this.labId = "";
    this.session = undefined;
    this.loadError = "";
    this.copied = "";
    new ChangeController(this, () => this.session);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    // A new lab, or another session: load again (and stop a run). An equal environment is no change.
    const before = changed.get("env") as LabPageEnvironment | undefined;
    const envChanged = changed.has("env") && !(before && this.env && sameEnvironment(before, this.env));
    if ((changed.has("labId") || changed.has("catalog") || envChanged) && this.catalog && this.env && this.labId) void this.#load();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.session?.stop();
  }

  focusHeading(): void {
    this.#focusWanted = true;
    this.#focusIfWanted();
  }

  protected override updated(): void {
    this.#focusIfWanted();
  }

  #focusIfWanted(): void {
    const heading = this.renderRoot.querySelector<HTMLElement>("h2");
    if (!this.#focusWanted || !heading) return;
    this.#focusWanted = false;
    heading.focus();
  }

  async #load(): Promise<void> {
    const load = ++this.#loads;
    this.session?.stop();
    this.session = undefined;
    this.loadError = "";
    try {
      const lab = await this.catalog!.load(this.labId);
      if (load !== this.#loads) return;
      // In a browser: each client may get connections of its own; the finished run is kept for this tab.
      this.session = new LabSession(lab, { ...this.env!, browser: true, storage: tabStorage() });
    } catch (error) {
      if (load !== this.#loads) return;
      this.loadError =
        error instanceof HttpError && error.status === 404
          ? `There is no lab “${this.labId}” on this server.`
          : error instanceof HttpError && error.status === 422
            ? `This lab file has a problem, so it cannot be run:\n${error.message}`
            : `Could not load the lab: ${(error as Error).message}`;
    }
  }

  override render() {
    const back = html`<a class="back" href=${hrefFor(LABS)} @click=${onLinkClick(LABS)}>← All labs</a>`;
    const s = this.session;
    if (!s) {
      return html`${back}
        ${this.loadError
          ? html`<h2 tabindex="-1">Lab ${this.labId}</h2>
              <p class="error" role="alert">${this.loadError}</p>`
          : html`<p class="muted">Loading the lab…</p>`}`;
    }
    const lab = s.lab;
    const done = s.state === "done";
    // On a class server the link is the students' address, not the one this page was opened at.
    const origin = new URL(this.env!.joinUrls?.[0] ?? this.env!.baseUrl).origin;
    const link = `${origin}/?lab=${encodeURIComponent(lab.id)}`;
    return html`${back}
      <header>
        <div class="title">
          <h2 tabindex="-1"><span class="number">${lab.id.slice(0, 2)}</span>${lab.title}</h2>
          ${lab.browserOnly ? html`<span class="chip" title="Only makes sense in a browser: the command line and CI skip it">browser only</span>` : ""}
          ${labNeedsInstructor(lab) ? html`<span class="chip" title="It changes the network or the server">instructor runs it</span>` : ""}
        </div>
        <p class="summary">${lab.summary}</p>
        <div class="share">
          <label for="share-link" class="muted">Link to this lab</label>
          <input id="share-link" readonly .value=${link} @focus=${(e: Event) => (e.target as HTMLInputElement).select()} />
          <button @click=${() => this.#copy(link)}>Copy link</button>
          <span role="status" class="muted">${this.copied}</span>
        </div>
      </header>
      <div class="top">
        <section class="card" aria-labelledby="h-instructions">
          <h3 id="h-instructions">Instructions</h3>
          <wirelab-markdown data-instructions .markdown=${withoutTitle(lab.body, lab.title)}></wirelab-markdown>
        </section>
        <section class="card" aria-label="run">
          <wirelab-lab-run .session=${s}></wirelab-lab-run>
        </section>
      </div>
      <section class="card" aria-labelledby="h-charts">
        <div class="section-head">
          <h3 id="h-charts">Live charts</h3>
          <span class="muted">Dashed lines: where each step began.</span>
        </div>
        <wirelab-lab-charts .session=${s}></wirelab-lab-charts>
      </section>
      <section class="card" aria-labelledby="h-wire">
        <div class="section-head">
          <h3 id="h-wire">Wire view</h3>
          <span class="muted">The lab's clients, newest first. An HTTP request's time includes any wait for a free connection in the browser.</span>
        </div>
        <wirelab-lab-wire .session=${s}></wirelab-lab-wire>
      </section>
      <section class="card" aria-labelledby="h-result">
        <div class="section-head">
          <h3 id="h-result">Result</h3>
          <div class="exports" role="group" aria-label="export the result">
            <button data-export="json" ?disabled=${!done} @click=${this.#exportJson}>Download JSON</button>
            <button data-export="csv" ?disabled=${!done} @click=${this.#exportCsv}>Download CSV</button>
            <button data-export="png" ?disabled=${!done} @click=${this.#exportPng}>Download charts (PNG)</button>
          </div>
        </div>
        <wirelab-lab-results .session=${s}></wirelab-lab-results>
      </section>
      ${lab.checkpoints.length
        ? html`<section aria-labelledby="h-checkpoints">
            <div class="section-head">
              <h3 id="h-checkpoints">Checkpoints</h3>
              <span class="muted">Predict before you run, if you like; Check works once the run is done.</span>
            </div>
            <div class="checkpoints">
              ${lab.checkpoints.map((c, i) => html`<wirelab-checkpoint .session=${s} .checkpoint=${c} .number=${i + 1}></wirelab-checkpoint>`)}
            </div>
          </section>`
        : ""}
      ${this.env?.role === "learner"
        ? html`<section class="card" aria-labelledby="h-handin">
            <h3 id="h-handin">Hand in</h3>
            <wirelab-lab-handin .session=${s} .baseUrl=${this.env.baseUrl} .token=${this.env.token}></wirelab-lab-handin>
          </section>`
        : ""}`;
  }

  #exportJson = (): void => {
    const s = this.session;
    if (s?.result) download(s.fileName("json"), new Blob([s.exportJson()], { type: "application/json" }));
  };

  #exportCsv = (): void => {
    const s = this.session;
    if (s?.result) download(s.fileName("csv"), new Blob([s.exportCsv()], { type: "text/csv" }));
  };

  #exportPng = (): void => {
    const s = this.session;
    if (!s?.result) return;
    const when = new Date(s.result.startedAt).toLocaleString();
    const png = this.renderRoot.querySelector("wirelab-lab-charts")?.toPng(`${s.lab.id.slice(0, 2)} ${s.lab.title} · ${when}`);
    if (png) download(s.fileName("png", "-charts"), png);
  };

  async #copy(link: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(link);
      this.copied = "Copied.";
    } catch {
      // No clipboard (plain http on a class server): select the text for Ctrl+C.
      this.renderRoot.querySelector<HTMLInputElement>("#share-link")?.select();
      this.copied = "Press Ctrl+C to copy.";
    }
  }
}

customElements.define("wirelab-lab", WirelabLab);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-lab": WirelabLab;
  }
}
