/**
 * The lab's receiving clients while it runs: per transport, how many are in each state, and a
 * small state badge per client (its number; its host and time in state on hover), so a lab can
 * say "watch each client's state badge go to reconnecting and back". Everything comes from the
 * LabSession.
 */
import { LitElement, css, html } from "lit";
import type { ConnectionState } from "../isomorphic/kit/index.js";
import type { LabClientState } from "../isomorphic/lab/index.js";
import type { LabSession } from "../viewmodels/LabSession.js";
import { formatElapsed } from "../viewmodels/format.js";
import { ChangeController } from "./controllers/ChangeController.js";
import { TRANSPORT_LOOK } from "./transports.js";
import { base } from "./theme.js";

const WORDS: Record<ConnectionState, string> = { idle: "idle", connecting: "connecting", open: "open", reconnecting: "reconnecting", closed: "closed" };
const ORDER: ConnectionState[] = ["open", "connecting", "reconnecting", "idle", "closed"];

export class WirelabLabClients extends LitElement {
  static override properties = { session: { attribute: false } };
  declare session: LabSession | undefined;

  static override styles = [
    base,
    css`
      :host {
        display: block;
        margin-top: 0.7rem;
      }
      h4 {
        margin: 0 0 0.35rem;
        font-size: 1rem;
      }
      .transports {
        display: grid;
        gap: 0.35rem;
        margin: 0;
        padding: 0;
        list-style: none;
      }
      .transport {
        display: grid;
        grid-template-columns: 6.5rem minmax(0, 1fr);
        align-items: start;
        column-gap: 0.5rem;
      }
      .label {
        font-weight: 650;
        color: var(--transport-color);
      }
      .counts {
        font-size: 0.88rem;
      }
      ol {
        display: flex;
        flex-wrap: wrap;
        gap: 0.2rem;
        margin: 0.15rem 0 0;
        padding: 0;
        list-style: none;
      }
      .badge {
        display: inline-flex;
        align-items: center;
        gap: 0.25em;
        padding: 0 0.45em;
        border-radius: 999px;
        font-size: 0.8rem;
        font-weight: 600;
        font-variant-numeric: tabular-nums;
        background: var(--state-idle-bg);
        color: var(--state-idle-fg);
      }
      .dot {
        width: 0.55em;
        height: 0.55em;
        border-radius: 50%;
        background: currentColor;
      }
      .badge[data-state="open"] {
        background: var(--state-open-bg);
        color: var(--state-open-fg);
      }
      .badge[data-state="connecting"],
      .badge[data-state="reconnecting"] {
        background: var(--state-wait-bg);
        color: var(--state-wait-fg);
      }
      /* Waiting shows as a hollow dot too: never colour alone. */
      .badge[data-state="connecting"] .dot,
      .badge[data-state="reconnecting"] .dot {
        background: transparent;
        border: 2px solid currentColor;
      }
      .instance {
        font-weight: 400;
        opacity: 0.85;
      }
      .badge[data-state="closed"] {
        background: var(--state-closed-bg);
        color: var(--state-closed-fg);
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
    const clients = s?.clientStates ?? [];
    if (!s || clients.length === 0) return html``;
    const now = Date.now();
    // With several instances (lab 09), each badge names the one serving its client.
    const several = s.lab.scenario.instances > 1;
    return html`<h4 id="h-clients">Clients and their state badges</h4>
      <ul class="transports" aria-labelledby="h-clients">
        ${s.lab.scenario.transports.map((t) => {
          const mine = clients.filter((c) => c.transport === t);
          return html`<li class="transport" data-transport=${t} style="--transport-color: ${TRANSPORT_LOOK[t].color}">
            <span class="label">${TRANSPORT_LOOK[t].label}</span>
            <span>
              <span class="counts" data-counts>${counts(mine)}</span>
              <ol aria-label="${TRANSPORT_LOOK[t].label} clients">
                ${mine.map(
                  (c) => html`<li class="badge" data-client=${c.index + 1} data-state=${c.state} title="${c.host}: ${WORDS[c.state]} for ${formatElapsed(now - c.since)}${c.instance ? `, on instance ${c.instance}` : ""}"
                    data-instance=${c.instance ?? ""}>
                    <span class="dot" aria-hidden="true"></span>${c.index + 1}${several && c.instance ? html`<span class="instance">@${c.instance}</span>` : ""}<span class="visually-hidden"
                      >: ${WORDS[c.state]}</span
                    >
                  </li>`,
                )}
              </ol>
            </span>
          </li>`;
        })}
      </ul>`;
  }
}

/** "8 open · 2 reconnecting". */
function counts(clients: readonly LabClientState[]): string {
  return ORDER.map((state) => [state, clients.filter((c) => c.state === state).length] as const)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${WORDS[state]}`)
    .join(" · ");
}

customElements.define("wirelab-lab-clients", WirelabLabClients);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-lab-clients": WirelabLabClients;
  }
}
