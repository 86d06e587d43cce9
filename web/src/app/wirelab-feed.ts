/**
 * The chat as one transport saw it, with a divider wherever its client reconnected and resumed.
 * Text is rendered as text (Lit escapes it), never as HTML.
 * The scroller is a reversed flex column, so the browser itself keeps the newest message in
 * view (also across resizes) while the reader is at the bottom.
 */
import { LitElement, css, html } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { FeedEntry, FeedRow } from "../viewmodels/TransportMonitor.js";
import { formatMs } from "../viewmodels/format.js";
import { base } from "./theme.js";

export class WirelabFeed extends LitElement {
  static override properties = {
    rows: { attribute: false },
    selfId: { attribute: false },
    label: {},
  };
  declare rows: readonly FeedRow[];
  declare selfId: string | undefined;
  declare label: string;

  static override styles = [
    base,
    css`
      :host {
        display: block;
      }
      .scroller {
        display: flex;
        flex-direction: column-reverse;
        height: var(--feed-height, 16rem);
        overflow-y: auto;
        background: var(--surface-sunken);
        border: 1px solid var(--border);
        border-radius: 6px;
      }
      ol {
        list-style: none;
        margin: 0;
        padding: 0.3rem 0.5rem;
      }
      li {
        padding: 0.2rem 0;
        border-bottom: 1px solid var(--border);
        overflow-wrap: anywhere;
        line-height: 1.35;
      }
      li:last-child {
        border-bottom: none;
      }
      .who {
        font-weight: 650;
        margin-right: 0.35em;
      }
      li.mine .who {
        color: var(--accent-strong);
      }
      .meta {
        float: right;
        margin-left: 0.5em;
        font-size: 0.8em;
        color: var(--text-muted);
      }
      li.reconnect {
        display: flex;
        align-items: center;
        gap: 0.5em;
        border-bottom: none;
        font-size: 0.8em;
        font-weight: 600;
        color: var(--state-wait-fg);
        text-align: center;
        overflow-wrap: normal;
      }
      li.reconnect::before,
      li.reconnect::after {
        content: "";
        flex: 1 1 1rem;
        border-top: 1px dashed currentColor;
      }
      .empty {
        color: var(--text-muted);
        border: none;
        font-style: italic;
      }
    `,
  ];

  constructor() {
    super();
    this.rows = [];
    this.selfId = undefined;
    this.label = "chat";
  }

  override render() {
    return html`<div class="scroller" tabindex="0" role="log" aria-live="off" aria-label=${this.label}><ol>
      ${this.rows.length === 0 ? html`<li class="empty">No messages yet.</li>` : ""}
      ${repeat(
        this.rows,
        (row) => row.key,
        (row) => (row.kind === "message" ? this.#message(row.entry) : html`<li class="reconnect" data-resumed-from=${row.mark.resumedFrom ?? ""} title=${row.title}>${row.text}</li>`),
      )}
    </ol></div>`;
  }

  #message(entry: FeedEntry) {
    return html`<li class=${entry.from.id === this.selfId ? "mine" : ""} data-seq=${entry.seq}>
          <span class="meta" title=${entry.counted ? "latency: send to arrival" : "history or catch-up: not counted as latency"}
            >#${entry.seq}${entry.latencyMs !== undefined && entry.counted ? html` · ${formatMs(entry.latencyMs)}` : ""}</span
          ><span class="who">${entry.from.name}</span><span class="text">${entry.text}</span>
        </li>`;
  }
}

customElements.define("wirelab-feed", WirelabFeed);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-feed": WirelabFeed;
  }
}
