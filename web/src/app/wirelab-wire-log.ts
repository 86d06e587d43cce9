/**
 * What crossed the wire for one transport, newest at the bottom: HTTP round trips with status,
 * body sizes and duration; SSE events; WebSocket frames with direction, payload and frame header.
 */
import { LitElement, css, html } from "lit";
import { repeat } from "lit/directives/repeat.js";
import type { TransportMonitor } from "../viewmodels/TransportMonitor.js";
import type { ServerStats } from "../viewmodels/ServerStats.js";
import type { WireEntry } from "../viewmodels/wire.js";
import { formatBytes, formatMs } from "../viewmodels/format.js";
import { ChangeController } from "./controllers/ChangeController.js";
import { TRANSPORT_LOOK } from "./transports.js";
import { base } from "./theme.js";

const ARROWS: Record<WireEntry["direction"], string> = { out: "↑", in: "↓", both: "⇅" };
const DIRECTION_WORDS: Record<WireEntry["direction"], string> = { out: "sent", in: "received", both: "request and response" };

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** "07:18.305": minutes, seconds and ms of the wall clock; the hour is in the tooltip. */
function shortTime(at: number): string {
  const d = new Date(at);
  return `${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function fullTime(at: number): string {
  return `${new Date(at).toLocaleTimeString("en-GB")}.${pad(new Date(at).getMilliseconds(), 3)}`;
}

function sizes(entry: WireEntry): string {
  if (entry.kind === "http") return `↑${formatBytes(entry.bytesOut)} ↓${formatBytes(entry.bytesIn)}`;
  return formatBytes(entry.bytesIn + entry.bytesOut);
}

function framing(entry: WireEntry): string {
  if (entry.framingBytes === undefined) return "+headers";
  return `${entry.framingExact ? "" : "≈"}+${entry.framingBytes} B`;
}

export class WirelabWireLog extends LitElement {
  static override properties = {
    monitor: { attribute: false },
    server: { attribute: false },
  };
  declare monitor: TransportMonitor | undefined;
  declare server: ServerStats | undefined;

  static override styles = [
    base,
    css`
      :host {
        display: block;
        min-width: 0;
      }
      section {
        background: var(--surface);
        border: 1px solid var(--border);
        border-top: 5px solid var(--transport-color);
        border-radius: 8px;
        padding: 0.6rem 0.7rem;
        box-shadow: var(--shadow);
      }
      h3 {
        margin: 0 0 0.2rem;
        font-size: 1.05rem;
        color: var(--transport-color);
      }
      .summary {
        margin: 0 0 0.4rem;
        font-size: 0.82em;
        min-height: 2.5em;
      }
      .log {
        /* A reversed flex column: the browser keeps the newest entry in view at the bottom. */
        display: flex;
        flex-direction: column-reverse;
        height: var(--wire-height, 17rem);
        overflow-y: auto;
        background: var(--surface-sunken);
        border: 1px solid var(--border);
        border-radius: 6px;
        font-family: var(--mono);
        font-size: 0.78rem;
      }
      ol {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      li {
        display: grid;
        grid-template-columns: 1.1em minmax(0, 1fr) auto;
        grid-template-areas: "dir what what" "dir detail time";
        column-gap: 0.4em;
        padding: 0.18rem 0.45rem;
        border-bottom: 1px solid var(--border);
      }
      .dir {
        grid-area: dir;
        font-weight: 700;
      }
      li[data-direction="out"] .dir {
        color: var(--wire-out);
      }
      li[data-direction="in"] .dir {
        color: var(--wire-in);
      }
      .what {
        grid-area: what;
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .time,
      .detail {
        color: var(--text-muted);
      }
      .time {
        grid-area: time;
        text-align: right;
      }
      .detail {
        grid-area: detail;
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .framing {
        color: var(--framing);
        font-weight: 600;
      }
      li.error .what {
        color: var(--error);
      }
      .empty {
        display: block;
        padding: 0.4rem;
        color: var(--text-muted);
        font-style: italic;
        font-family: inherit;
      }
    `,
  ];

  constructor() {
    super();
    this.monitor = undefined;
    this.server = undefined;
    new ChangeController(this, () => this.monitor);
    new ChangeController(this, () => this.server);
  }

  override render() {
    const m = this.monitor;
    if (!m) return html``;
    const look = TRANSPORT_LOOK[m.transport];
    const c = m.counters;
    const s = this.server?.since(m.transport);
    return html`<section style=${`--transport-color:${look.color}`} data-transport=${m.transport} aria-label=${`${look.label} wire log`}>
      <h3>${look.label}</h3>
      <p class="summary muted">
        payload ${formatBytes(c.bytesIn + c.bytesOut)} in ${c.requests} request${c.requests === 1 ? "" : "s"}${s
          ? html`; on the wire (server) ${formatBytes(s.bytesIn + s.bytesOut)}`
          : ""}${m.paused ? html` · <strong>paused, ${m.wire.waiting} waiting</strong>` : ""}
      </p>
      <div class="log" tabindex="0" role="log" aria-live="off" aria-label=${`what crossed the wire for ${look.label}`}>
        <ol>
          ${m.wire.items.length === 0 ? html`<li class="empty">Nothing yet.</li>` : ""}
          ${repeat(
            m.wire.items,
            (e) => e.n,
            (e) => html`<li data-kind=${e.kind} data-direction=${e.direction} class=${e.status !== undefined && e.status >= 400 ? "error" : ""}>
              <span class="dir" title=${DIRECTION_WORDS[e.direction]}>${ARROWS[e.direction]}</span>
              <span class="what" title=${e.label}>${e.label}</span>
              <span class="time" title=${fullTime(e.at)}>${shortTime(e.at)}</span>
              <span class="detail"
                >${sizes(e)} <span class="framing" title=${e.framingBytes === undefined ? "HTTP headers: not visible to fetch(); the server counts them" : e.framingExact ? "frame header, exact" : "SSE field names and chunk header, estimated"}>${framing(e)}</span>${e.durationMs !== undefined ? ` ${formatMs(e.durationMs)}` : ""}</span
              >
            </li>`,
          )}
        </ol>
      </div>
    </section>`;
  }
}

customElements.define("wirelab-wire-log", WirelabWireLog);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-wire-log": WirelabWireLog;
  }
}
