/**
 * One transport, live: its state, its own view of the chat, its counters next to the server's,
 * and its controls. All logic is in the TransportMonitor; this only renders it.
 */
import { LitElement, css, html } from "lit";
import type { TransportMonitor } from "../viewmodels/TransportMonitor.js";
import type { ServerStats } from "../viewmodels/ServerStats.js";
import { ChangeController } from "./controllers/ChangeController.js";
import { NowController } from "./controllers/NowController.js";
import { TRANSPORT_LOOK } from "./transports.js";
import { base } from "./theme.js";
import "./wirelab-counters.js";
import "./wirelab-feed.js";
import "./wirelab-state-badge.js";

export class WirelabPanel extends LitElement {
  static override properties = {
    monitor: { attribute: false },
    server: { attribute: false },
    selfId: { attribute: false },
  };
  declare monitor: TransportMonitor | undefined;
  declare server: ServerStats | undefined;
  declare selfId: string | undefined;
  readonly #now = new NowController(this);

  static override styles = [
    base,
    css`
      :host {
        display: block;
        min-width: 0;
      }
      section {
        height: 100%;
        display: flex;
        flex-direction: column;
        gap: 0.55rem;
        background: var(--surface);
        border: 1px solid var(--border);
        border-top: 5px solid var(--transport-color);
        border-radius: 8px;
        padding: 0.7rem 0.8rem 0.6rem;
        box-shadow: var(--shadow);
      }
      header {
        display: grid;
        grid-template-columns: minmax(0, 1fr) auto;
        align-items: start;
        column-gap: 0.5rem;
      }
      h2 {
        margin: 0;
        font-size: 1.2rem;
        line-height: 1.3;
        color: var(--transport-color);
      }
      .blurb {
        margin: 0.1rem 0 0;
        font-size: 0.85em;
        line-height: 1.3;
        /* Two lines reserved, so every panel's rows line up whatever the blurb's length. */
        min-height: 2.6em;
      }
      .controls {
        display: flex;
        gap: 0.35rem;
      }
      .controls button {
        flex: 1;
        min-width: 0;
        padding-inline: 0.3rem;
      }
      .controls button[aria-pressed="true"] {
        background: var(--state-wait-bg);
        border-color: var(--state-wait-fg);
      }
      .status {
        margin: 0;
        font-size: 0.8em;
        min-height: 1.3em;
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .status.error {
        color: var(--error);
      }
    `,
  ];

  constructor() {
    super();
    this.monitor = undefined;
    this.server = undefined;
    this.selfId = undefined;
    new ChangeController(this, () => this.monitor);
    new ChangeController(this, () => this.server);
  }

  override render() {
    const m = this.monitor;
    if (!m) return html``;
    const look = TRANSPORT_LOOK[m.transport];
    const id = `panel-${m.transport}`;
    const closed = m.state === "closed" || m.state === "idle";
    const error = m.lastError && !closed && m.state !== "open" ? m.lastError.message : undefined;
    return html`<section aria-labelledby=${id} style=${`--transport-color:${look.color}`} data-transport=${m.transport}>
      <header>
        <div>
          <h2 id=${id}>${look.label}</h2>
          <p class="blurb muted">${look.blurb}</p>
        </div>
        <wirelab-state-badge .state=${m.state} .since=${m.stateSince} .now=${this.#now.now} .lastByteAt=${m.lastByteAt ?? null}></wirelab-state-badge>
      </header>
      <div class="controls" role="group" aria-label=${`${look.label} controls`}>
        <button
          data-action="pause"
          aria-pressed=${m.paused ? "true" : "false"}
          title="hold the feed and wire log still; the connection keeps running"
          @click=${() => (m.paused ? m.resume() : m.pause())}
        >
          ${m.paused ? "Resume" : "Pause"}
        </button>
        <button data-action="disconnect" ?disabled=${closed} title="close this transport's connection" @click=${() => m.disconnect()}>Disconnect</button>
        <button data-action="reconnect" title="open a fresh connection; it resumes from the last message seen" @click=${() => m.reconnect()}>Reconnect</button>
      </div>
      <wirelab-counters
        .counters=${m.counters}
        .server=${this.server?.since(m.transport)}
        .latency=${{ last: m.latency.last, median: m.latency.median, p95: m.latency.p95, count: m.latency.count }}
        .requestRate=${m.requestsPerSecond}
        .serverRequestRate=${this.server?.latest ? this.server.requestsPerSecond(m.transport) : undefined}
      ></wirelab-counters>
      <wirelab-feed .rows=${m.feedRows} .selfId=${this.selfId} .label=${`chat as ${look.label} sees it`}></wirelab-feed>
      ${this.#status(m, error)}
    </section>`;
  }

  #status(m: TransportMonitor, error: string | undefined) {
    if (m.paused) return html`<p class="status" role="status">Paused: ${m.feed.waiting} new message${m.feed.waiting === 1 ? "" : "s"} waiting.</p>`;
    if (error) return html`<p class="status error" title=${error}>${error}</p>`;
    // Which server instance answered last: a restart or a failover to another instance changes it.
    const instance = m.client.instance;
    return html`<p class="status muted">
      cursor ${m.client.cursor ?? "—"} · <span data-instance=${instance ?? ""} title="the server instance serving this panel">instance ${instance ?? "—"}</span>
    </p>`;
  }
}

customElements.define("wirelab-panel", WirelabPanel);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-panel": WirelabPanel;
  }
}
