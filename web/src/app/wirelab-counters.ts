/**
 * A transport's numbers: what the client counted next to what the server counted for the same
 * transport, and the latency percentiles. Renders what it is given; computes nothing.
 */
import { LitElement, css, html } from "lit";
import type { ClientCounters } from "../isomorphic/kit/index.js";
import type { TrafficSnapshot } from "../isomorphic/protocol/index.js";
import { formatBytes, formatCount, formatMs, formatRate } from "../viewmodels/format.js";
import { base } from "./theme.js";

export interface LatencySummary {
  last: number | undefined;
  median: number | undefined;
  p95: number | undefined;
  count: number;
}

export class WirelabCounters extends LitElement {
  static override properties = {
    counters: { attribute: false },
    server: { attribute: false },
    latency: { attribute: false },
    requestRate: { attribute: false },
    serverRequestRate: { attribute: false },
  };
  declare counters: ClientCounters | undefined;
  /** What the server counted for this transport since the dashboard joined (all clients). */
  declare server: TrafficSnapshot | undefined;
  declare latency: LatencySummary | undefined;
  declare requestRate: number;
  /** Requests per second the server saw for this transport (all clients); undefined before it answered. */
  declare serverRequestRate: number | undefined;

  static override styles = [
    base,
    css`
      :host {
        display: block;
      }
      .latency {
        display: grid;
        grid-template-columns: repeat(3, 1fr);
        gap: 0.4rem;
        margin-bottom: 0.6rem;
      }
      .stat {
        background: var(--surface-sunken);
        border-radius: 6px;
        padding: 0.3rem 0.5rem;
        text-align: center;
      }
      .stat .value {
        display: block;
        font-size: 1.2em;
        font-weight: 650;
        white-space: nowrap;
      }
      .stat .name {
        font-size: 0.8em;
        color: var(--text-muted);
      }
      table {
        width: 100%;
        border-collapse: collapse;
        font-size: 0.9em;
        table-layout: fixed;
      }
      th,
      td {
        padding: 0.12rem 0.25rem;
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      thead th {
        font-weight: 600;
        color: var(--text-muted);
        font-size: 0.85em;
        border-bottom: 1px solid var(--border);
      }
      tbody th {
        text-align: left;
        font-weight: 400;
      }
      td {
        text-align: right;
      }
      td.server {
        color: var(--text-muted);
      }
      tbody tr:nth-child(even) {
        background: var(--surface-sunken);
      }
    `,
  ];

  constructor() {
    super();
    this.counters = undefined;
    this.server = undefined;
    this.latency = undefined;
    this.requestRate = 0;
    this.serverRequestRate = undefined;
  }

  override render() {
    const c = this.counters;
    const s = this.server;
    const l = this.latency;
    const row = (name: string, key: string, client: string, server = "", title = "") =>
      html`<tr data-counter=${key} title=${title}>
        <th scope="row">${name}</th>
        <td class="client" data-value=${client}>${client}</td>
        <td class="server">${server}</td>
      </tr>`;
    return html`
      <div class="latency" aria-label="latency, send to arrival">
        <div class="stat" data-latency="last"><span class="value">${formatMs(l?.last)}</span><span class="name">last</span></div>
        <div class="stat" data-latency="median"><span class="value">${formatMs(l?.median)}</span><span class="name">median</span></div>
        <div class="stat" data-latency="p95"><span class="value">${formatMs(l?.p95)}</span><span class="name">p95 (n=${formatCount(l?.count ?? 0)})</span></div>
      </div>
      <table>
        <colgroup>
          <col style="width:52%" />
          <col style="width:24%" />
          <col style="width:24%" />
        </colgroup>
        <thead>
          <tr>
            <th scope="col"><span class="visually-hidden">counter</span></th>
            <th scope="col" style="text-align:right">client</th>
            <th scope="col" style="text-align:right" title="counted at the server's sockets since you joined, headers and framing included, all clients">server</th>
          </tr>
        </thead>
        <tbody>
          ${row("HTTP requests", "requests", formatCount(c?.requests ?? 0), s ? formatCount(s.requests) : "…", "requests made: polls, sends, history fills, the stream or upgrade request")}
          ${row("requests/s", "rate", formatRate(this.requestRate), this.serverRequestRate === undefined ? "…" : formatRate(this.serverRequestRate), "HTTP requests per second over the last 5 s")}
          ${row("bytes in", "bytesIn", formatBytes(c?.bytesIn ?? 0), s ? formatBytes(s.bytesOut) : "…", "client: payload received; server: bytes it wrote, headers and framing included")}
          ${row("bytes out", "bytesOut", formatBytes(c?.bytesOut ?? 0), s ? formatBytes(s.bytesIn) : "…", "client: payload sent; server: bytes it read, headers and framing included")}
          ${row("messages", "messages", formatCount(c?.messages ?? 0), s ? formatCount(s.delivered) : "…", "client: messages shown, in order, once each; server: messages delivered")}
          ${row("reconnects", "reconnects", formatCount(c?.reconnects ?? 0), "", "connection attempts after the first, automatic or by the Reconnect button")}
          ${row("duplicates dropped", "duplicates", formatCount(c?.duplicates ?? 0))}
          ${row("gaps filled", "gapsFilled", formatCount(c?.gapsFilled ?? 0))}
          ${row("open connections", "connections", "", s ? formatCount(s.connections) : "…", "requests in flight or streams open at the server right now, all clients")}
        </tbody>
      </table>
    `;
  }
}

customElements.define("wirelab-counters", WirelabCounters);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-counters": WirelabCounters;
  }
}
