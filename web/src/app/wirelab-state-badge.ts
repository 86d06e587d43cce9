/**
 * A connection state as a coloured badge with its name (never colour alone), time in state and,
 * when given, how long ago the last byte arrived: a dead stream still says "open", but its
 * silence keeps growing.
 */
import { LitElement, css, html } from "lit";
import type { ConnectionState } from "../isomorphic/kit/index.js";
import { formatElapsed } from "../viewmodels/format.js";
import { base } from "./theme.js";

const WORDS: Record<ConnectionState, string> = {
  idle: "idle",
  connecting: "connecting",
  open: "open",
  reconnecting: "reconnecting",
  closed: "disconnected",
};

export class WirelabStateBadge extends LitElement {
  static override properties = {
    state: { reflect: true },
    since: { type: Number },
    now: { type: Number },
    lastByteAt: { attribute: false },
  };
  declare state: ConnectionState;
  /** When the state began (ms since the epoch). */
  declare since: number;
  declare now: number;
  /** When the last byte arrived (ms since the epoch); null: none yet; undefined: the line is not shown. */
  declare lastByteAt: number | null | undefined;

  static override styles = [
    base,
    css`
      :host {
        display: inline-grid;
        justify-items: end;
        row-gap: 0.15rem;
        white-space: nowrap;
      }
      .badge {
        display: inline-flex;
        align-items: center;
        gap: 0.4em;
        min-width: 10em;
        padding: 0.15em 0.6em;
        border-radius: 999px;
        font-weight: 600;
        font-size: 0.9em;
        background: var(--state-idle-bg);
        color: var(--state-idle-fg);
      }
      .dot {
        width: 0.6em;
        height: 0.6em;
        border-radius: 50%;
        background: currentColor;
        flex: none;
      }
      :host([state="open"]) .badge {
        background: var(--state-open-bg);
        color: var(--state-open-fg);
      }
      :host([state="connecting"]) .badge,
      :host([state="reconnecting"]) .badge {
        background: var(--state-wait-bg);
        color: var(--state-wait-fg);
      }
      :host([state="reconnecting"]) .dot {
        animation: pulse 1s ease-in-out infinite alternate;
      }
      :host([state="closed"]) .badge {
        background: var(--state-closed-bg);
        color: var(--state-closed-fg);
      }
      .elapsed {
        font-size: 0.85em;
      }
      @keyframes pulse {
        to {
          opacity: 0.25;
        }
      }
      @media (prefers-reduced-motion: reduce) {
        :host([state="reconnecting"]) .dot {
          animation: none;
        }
      }
    `,
  ];

  constructor() {
    super();
    this.state = "idle";
    this.since = Date.now();
    this.now = Date.now();
    this.lastByteAt = undefined;
  }

  override render() {
    return html`<span class="badge" data-state=${this.state}><span class="dot" aria-hidden="true"></span>${WORDS[this.state]}</span>
      <span class="elapsed muted" title="time in this state">for ${formatElapsed(this.now - this.since)}</span>${this.#silence()}`;
  }

  #silence() {
    if (this.lastByteAt === undefined) return "";
    const silentMs = this.lastByteAt === null ? undefined : Math.max(0, this.now - this.lastByteAt);
    return html`<span class="elapsed muted" data-silent-ms=${silentMs ?? ""} title="time since this client last received anything: a message, a heartbeat, a poll's answer"
      >${silentMs === undefined ? "no byte yet" : `last byte ${formatElapsed(silentMs)} ago`}</span
    >`;
  }
}

customElements.define("wirelab-state-badge", WirelabStateBadge);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-state-badge": WirelabStateBadge;
  }
}
