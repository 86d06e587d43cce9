/**
 * The labs the server has: number, title, summary, a browser-only marker, and — for
 * instructors — the lab files that could not be read, with what is wrong in each.
 */
import { LitElement, css, html, type PropertyValues } from "lit";
import type { LabCatalog, LabListing } from "../viewmodels/LabCatalog.js";
import type { Role } from "../isomorphic/protocol/index.js";
import { hrefFor, onLinkClick } from "./navigate.js";
import { base } from "./theme.js";

export class WirelabLabList extends LitElement {
  static override properties = {
    catalog: { attribute: false },
    role: {},
    listing: { state: true },
    error: { state: true },
    loading: { state: true },
  };
  declare catalog: LabCatalog | undefined;
  declare role: Role;
  declare listing: LabListing | undefined;
  declare error: string;
  declare loading: boolean;

  static override styles = [
    base,
    css`
      :host {
        display: block;
        max-width: 72rem;
        margin: 0 auto;
      }
      .head {
        display: flex;
        align-items: baseline;
        gap: 1rem;
        flex-wrap: wrap;
      }
      h2 {
        margin: 0.25rem 0 0.35rem;
        font-size: 1.6rem;
      }
      h2:focus {
        outline: none;
      }
      .head button {
        margin-left: auto;
      }
      .intro {
        margin: 0 0 1.1rem;
        max-width: 60rem;
        font-size: 1.05rem;
      }
      ol {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(min(100%, 32rem), 1fr));
        gap: 0.9rem;
      }
      li a {
        display: grid;
        grid-template-columns: auto minmax(0, 1fr);
        column-gap: 0.9rem;
        height: 100%;
        padding: 0.9rem 1.1rem;
        background: var(--surface);
        border: 1px solid var(--border);
        border-left: 5px solid var(--accent);
        border-radius: 8px;
        box-shadow: var(--shadow);
        color: inherit;
        text-decoration: none;
      }
      li a:hover {
        background: var(--surface-hover);
      }
      li a:hover .title {
        text-decoration: underline;
      }
      .number {
        grid-row: span 2;
        font-size: 1.5rem;
        font-weight: 700;
        color: var(--accent);
        line-height: 1.2;
      }
      .title {
        font-size: 1.2rem;
        font-weight: 650;
        color: var(--accent-strong);
      }
      .summary {
        margin: 0.25rem 0 0;
      }
      .chip {
        display: inline-block;
        margin-left: 0.5rem;
        padding: 0.05rem 0.5rem;
        border-radius: 999px;
        font-size: 0.8rem;
        font-weight: 600;
        vertical-align: 0.15em;
        background: var(--state-wait-bg);
        color: var(--state-wait-fg);
      }
      .problems {
        margin-top: 1.6rem;
        padding: 0.9rem 1.1rem;
        background: var(--surface);
        border: 1px solid var(--border);
        border-left: 5px solid var(--error);
        border-radius: 8px;
      }
      .problems h3 {
        margin: 0 0 0.4rem;
        font-size: 1.15rem;
      }
      .problems ul {
        margin: 0;
        padding: 0;
        list-style: none;
        display: grid;
        gap: 0.6rem;
      }
      .problems code {
        font-family: var(--mono);
        font-weight: 650;
      }
      .problems .message {
        margin: 0.2rem 0 0;
        font-family: var(--mono);
        font-size: 0.9rem;
        white-space: pre-wrap;
        overflow-wrap: anywhere;
        color: var(--error);
      }
      .error {
        color: var(--error);
      }
    `,
  ];

  constructor() {
    super();
    this.catalog = undefined;
    this.role = "learner";
    this.listing = undefined;
    this.error = "";
    this.loading = false;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has("catalog") && this.catalog) void this.reload();
  }

  /** Read the list again: the server reads its lab folder on every request. */
  async reload(): Promise<void> {
    if (!this.catalog || this.loading) return;
    this.loading = true;
    try {
      this.listing = await this.catalog.list();
      this.error = "";
    } catch (error) {
      this.error = `Could not read the labs: ${(error as Error).message}`;
    } finally {
      this.loading = false;
    }
  }

  focusHeading(): void {
    this.renderRoot.querySelector<HTMLElement>("h2")?.focus();
  }

  override render() {
    const listing = this.listing;
    const instructor = this.role === "instructor";
    return html`<div class="head">
        <h2 tabindex="-1">Labs</h2>
        <button @click=${() => this.reload()} ?disabled=${this.loading} title="The server reads the lab folder again">
          ${this.loading ? "Reading…" : "Reload list"}
        </button>
      </div>
      <p class="intro muted">
        Each lab runs a scenario against this server with its own clients, in a room of its own, measures it and asks you what the numbers
        show. Open one to read it, run it and answer its questions.
      </p>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ""}
      ${!listing ? (this.error ? "" : html`<p class="muted">Reading the labs…</p>`) : ""}
      ${listing && listing.labs.length === 0 ? html`<p>This server has no labs.</p>` : ""}
      ${listing && listing.labs.length
        ? html`<ol aria-label="labs">
            ${listing.labs.map((lab) => {
              const route = { view: "lab" as const, id: lab.id };
              return html`<li data-lab=${lab.id}>
                <a href=${hrefFor(route)} @click=${onLinkClick(route)}>
                  <span class="number" aria-hidden="true">${lab.id.slice(0, 2)}</span>
                  <span class="title"
                    >${lab.title}${lab.browserOnly
                      ? html`<span class="chip" data-browser-only title="Only makes sense in a browser: the command line and CI skip it">browser only</span>`
                      : ""}</span
                  >
                  <p class="summary">${lab.summary}</p>
                </a>
              </li>`;
            })}
          </ol>`
        : ""}
      ${listing && instructor && listing.errors.length
        ? html`<section class="problems" aria-labelledby="h-problems">
            <h3 id="h-problems">Lab files with problems <span class="muted">(only instructors see this)</span></h3>
            <ul>
              ${listing.errors.map(
                (e) => html`<li data-file=${e.file}>
                  <code>${e.file}</code>
                  <p class="message">${e.message.startsWith(`${e.file}: `) ? e.message.slice(e.file.length + 2) : e.message}</p>
                </li>`,
              )}
            </ul>
          </section>`
        : ""}`;
  }
}

customElements.define("wirelab-lab-list", WirelabLabList);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-lab-list": WirelabLabList;
  }
}
