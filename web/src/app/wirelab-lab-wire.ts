/**
 * The lab's wire view: the latest HTTP round trips, SSE events and WebSocket frames of the lab's
 * clients, newest first, with the client, the sizes and (HTTP) the duration, which includes any
 * time a request waited in the browser for a free connection. Everything comes from the LabSession.
 */
import { LitElement, css, html } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { LabSession } from "../viewmodels/LabSession.js";
import { formatBytes, formatMs } from "../viewmodels/format.js";
import { ChangeController } from "./controllers/ChangeController.js";
import { TRANSPORT_LOOK } from "./transports.js";
import { base } from "./theme.js";
import type { TransportName } from "../isomorphic/protocol/index.js";

/** Lines shown; the session keeps more. */
const SHOWN = 40;
const ARROWS = { out: "↑", in: "↓", both: "⇅" } as const;

export class WirelabLabWire extends LitElement {
  static override properties = { session: { attribute: false } };
  declare session: LabSession | undefined;

  static override styles = [
    base,
    css`
      :host {
        display: block;
      }
      .log {
        max-height: 18rem;
        overflow-y: auto;
        background: var(--surface-sunken);
        border: 1px solid var(--border);
        border-radius: 6px;
      }
      table {
        width: 100%;
        border-collapse: collapse;
        font-family: var(--mono);
        font-size: 0.8rem;
      }
      th {
        position: sticky;
        top: 0;
        background: var(--surface);
        text-align: left;
        font-family: var(--sans, inherit);
        font-weight: 650;
      }
      th,
      td {
        padding: 0.15rem 0.45rem;
        white-space: nowrap;
      }
      td.what {
        white-space: normal;
        overflow-wrap: anywhere;
      }
      td.num {
        text-align: right;
        font-variant-numeric: tabular-nums;
      }
      td.client {
        color: var(--transport-color);
        font-weight: 650;
      }
      tr.slow td.duration {
        color: var(--error);
        font-weight: 700;
      }
    `,
  ];

  constructor() {
    super();
    this.session = undefined;
    // A new run empties the view (change); each line adds to it (wire).
    new ChangeController(this, () => this.session);
    new ChangeController(this, () => this.session, "wire");
  }

  override render() {
    const entries = this.session?.wire ?? [];
    if (entries.length === 0) return html`<p class="muted">Run the lab: every request, event and frame of its clients appears here.</p>`;
    const latest = entries.slice(-SHOWN).reverse();
    return html`<div class="log" tabindex="0" aria-label="the latest requests, events and frames, newest first">
      <table data-wire>
        <thead>
          <tr><th>client</th><th aria-label="direction"></th><th>what</th><th>bytes</th><th>took</th></tr>
        </thead>
        <tbody>
          ${repeat(
            latest,
            (e) => e.n,
            (e) => {
              const transport = e.client.replace(/-\d+$/, "") as TransportName;
              // A held long poll or stream is slow on purpose; a short poll or a send that took seconds waited.
              const slow = e.durationMs !== undefined && e.durationMs >= 1000 && transport === "short-poll";
              return html`<tr class=${slow ? "slow" : ""} data-kind=${e.kind} style="--transport-color: ${TRANSPORT_LOOK[transport]?.color ?? "inherit"}">
                <td class="client">${e.client}</td>
                <td aria-label=${e.direction}>${ARROWS[e.direction]}</td>
                <td class="what">${e.label}</td>
                <td class="num">${e.kind === "http" ? `↑${formatBytes(e.bytesOut)} ↓${formatBytes(e.bytesIn)}` : formatBytes(e.bytesIn + e.bytesOut)}</td>
                <td class="num duration">${e.durationMs !== undefined ? formatMs(e.durationMs) : ""}</td>
              </tr>`;
            },
          )}
        </tbody>
      </table>
    </div>`;
  }
}

customElements.define("wirelab-lab-wire", WirelabLabWire);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-lab-wire": WirelabLabWire;
  }
}
