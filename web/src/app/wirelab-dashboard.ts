/** The workbench laid out: composer, four transport panels, comparison charts, wire view. */
import { LitElement, css, html } from "lit";
import { TRANSPORTS } from "../isomorphic/protocol/index.js";
import type { Workbench } from "../viewmodels/Workbench.js";
import { base } from "./theme.js";
import "./wirelab-charts.js";
import "./wirelab-composer.js";
import "./wirelab-controls.js";
import "./wirelab-panel.js";
import "./wirelab-wire-log.js";

export class WirelabDashboard extends LitElement {
  static override properties = { workbench: { attribute: false } };
  declare workbench: Workbench | undefined;

  static override styles = [
    base,
    css`
      :host {
        display: grid;
        /* minmax(0, …): a wide child (a chart, a long wire line) shrinks instead of widening the page. */
        grid-template-columns: minmax(0, 1fr);
        gap: 1.25rem;
      }
      h2 {
        margin: 0 0 0.5rem;
        font-size: 1.15rem;
      }
      h2 small {
        font-weight: 400;
        font-size: 0.85rem;
        margin-left: 0.5rem;
      }
      .composer {
        position: sticky;
        top: 0;
        z-index: 2;
        background: var(--surface);
        border: 1px solid var(--border);
        border-radius: 8px;
        padding: 0.7rem 0.9rem 0.3rem;
        box-shadow: var(--shadow);
      }
      .controls {
        background: var(--surface);
        border: 1px solid var(--border);
        border-radius: 8px;
        padding: 0.7rem 0.9rem 0.5rem;
      }
      .controls h2 {
        font-size: 1rem;
      }
      .four {
        display: grid;
        grid-template-columns: repeat(4, minmax(0, 1fr));
        gap: 0.9rem;
      }
      @media (max-width: 1180px) {
        .four {
          grid-template-columns: repeat(2, minmax(0, 1fr));
        }
      }
      @media (max-width: 640px) {
        .four {
          grid-template-columns: minmax(0, 1fr);
        }
      }
      /* On a phone (or a short window) a sticky composer would sit over the panels: it scrolls away with the page. */
      @media (max-width: 640px), (max-height: 520px) {
        .composer {
          position: static;
        }
      }
    `,
  ];

  constructor() {
    super();
    this.workbench = undefined;
  }

  override render() {
    const wb = this.workbench;
    if (!wb) return html``;
    return html`
      <section class="composer" aria-label="composer">
        <wirelab-composer .workbench=${wb}></wirelab-composer>
      </section>
      ${wb.controls
        ? html`<section class="controls" aria-labelledby="h-controls">
            <h2 id="h-controls">Network &amp; faults <small class="muted">instructor controls: they reach every client of this server</small></h2>
            <wirelab-controls .controls=${wb.controls} .feedUrl=${wb.feedUrl}></wirelab-controls>
          </section>`
        : ""}
      <section aria-labelledby="h-transports">
        <h2 id="h-transports" class="visually-hidden">Transports</h2>
        <div class="four">
          ${TRANSPORTS.map((t) => html`<wirelab-panel .monitor=${wb.monitors[t]} .server=${wb.server} .selfId=${wb.user.id}></wirelab-panel>`)}
        </div>
      </section>
      <section aria-labelledby="h-charts">
        <h2 id="h-charts">Comparison</h2>
        <wirelab-charts .workbench=${wb}></wirelab-charts>
      </section>
      <section aria-labelledby="h-wire">
        <h2 id="h-wire">On the wire <small class="muted">↑ sent · ↓ received · ⇅ HTTP round trip · payload, then what the transport adds around it</small></h2>
        <div class="four">${TRANSPORTS.map((t) => html`<wirelab-wire-log .monitor=${wb.monitors[t]} .server=${wb.server}></wirelab-wire-log>`)}</div>
      </section>
    `;
  }

  /** Put the caret in the composer (once it has rendered). */
  async focusComposer(): Promise<void> {
    await this.updateComplete;
    const composer = this.renderRoot.querySelector("wirelab-composer");
    await composer?.updateComplete;
    composer?.focus();
  }
}

customElements.define("wirelab-dashboard", WirelabDashboard);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-dashboard": WirelabDashboard;
  }
}
