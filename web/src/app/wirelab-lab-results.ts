/**
 * The lab's numbers: one row per metric the lab measures, one column per transport. Live while
 * the lab runs, final once it is done.
 */
import { LitElement, css, html } from "lit";
import { METRIC_LABELS, metricValue } from "../isomorphic/lab/index.js";
import type { LabSession } from "../viewmodels/LabSession.js";
import { formatMetric } from "../viewmodels/labText.js";
import { ChangeController } from "./controllers/ChangeController.js";
import { TRANSPORT_LOOK } from "./transports.js";
import { base } from "./theme.js";

export class WirelabLabResults extends LitElement {
  static override properties = { session: { attribute: false } };
  declare session: LabSession | undefined;

  static override styles = [
    base,
    css`
      :host {
        display: block;
        overflow-x: auto;
      }
      table {
        border-collapse: collapse;
        font-size: 1.05rem;
      }
      caption {
        text-align: left;
        padding-bottom: 0.4rem;
        color: var(--text-muted);
      }
      th,
      td {
        padding: 0.35rem 0.9rem;
        border-bottom: 1px solid var(--border);
        white-space: nowrap;
      }
      thead th:not(:first-child) {
        min-width: 9rem;
      }
      tbody tr:nth-child(even) {
        background: var(--surface-sunken);
      }
      thead th {
        text-align: right;
        color: var(--transport-color);
        border-bottom: 3px solid var(--transport-color);
        font-size: 1.05rem;
      }
      thead th:first-child {
        text-align: left;
        color: var(--text-muted);
        border-bottom-color: var(--border-strong);
        font-weight: 600;
      }
      tbody th {
        text-align: left;
        font-weight: 600;
      }
      td {
        text-align: right;
        font-variant-numeric: tabular-nums;
      }
      td.none {
        color: var(--text-muted);
      }
      .empty {
        margin: 0;
      }
    `,
  ];

  constructor() {
    super();
    this.session = undefined;
    new ChangeController(this, () => this.session);
  }

  override render() {
    const s = this.session;
    const result = s?.live;
    if (!s || !result) return html`<p class="empty muted">No numbers yet: run the lab.</p>`;
    const sent = `${result.sent} message${result.sent === 1 ? "" : "s"} sent`;
    // Until the final count, "lost" is every message that has not arrived yet.
    const notYet = s.lab.measure.includes("lost") ? " · “lost” counts what has not arrived yet" : "";
    const caption = s.running ? `Live, as the lab runs · ${sent}${notYet}` : s.state === "done" ? `Final · ${sent}` : `Numbers when the run ended · ${sent}${notYet}`;
    return html`<table>
      <caption>
        ${caption}
      </caption>
      <thead>
        <tr>
          <th scope="col">metric</th>
          ${result.transports.map((t) => html`<th scope="col" style="--transport-color: ${TRANSPORT_LOOK[t.transport].color}">${TRANSPORT_LOOK[t.transport].label}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${s.lab.measure.map(
          (metric) => html`<tr data-metric=${metric}>
            <th scope="row">${METRIC_LABELS[metric]}</th>
            ${result.transports.map((t) => {
              const value = metricValue(t, metric);
              return html`<td class=${value === null ? "none" : ""} data-transport=${t.transport}>${formatMetric(metric, value)}</td>`;
            })}
          </tr>`,
        )}
      </tbody>
    </table>`;
  }
}

customElements.define("wirelab-lab-results", WirelabLabResults);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-lab-results": WirelabLabResults;
  }
}
