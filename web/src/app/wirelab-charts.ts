/** The four comparison charts, redrawn once a second when the workbench takes its sample. */
import { LitElement, css, html } from "lit";
import type { ChartOptions } from "chart.js";
import type { Workbench } from "../viewmodels/Workbench.js";
import { formatBytes, formatMs } from "../viewmodels/format.js";
import { cumulativeBytes, latencyDistribution, latencyOverTime, requestRate } from "./charts/chartData.js";
import { ChangeController } from "./controllers/ChangeController.js";
import { base } from "./theme.js";
import "./wirelab-chart.js";

const grid = { color: "rgba(60, 70, 90, 0.12)" };
const legend = { position: "bottom" as const, labels: { boxWidth: 14, boxHeight: 3, padding: 10 } };
const seconds = { type: "linear" as const, title: { display: true, text: "seconds since you joined" }, grid, ticks: { precision: 0 } };

/** The latency axis: linear shows how far apart polling and push are; logarithmic shows the detail. */
function latencyAxis(log: boolean) {
  return log
    ? { type: "logarithmic" as const, title: { display: true, text: "latency (ms, log scale)" }, grid, ticks: { callback: (v: string | number) => logTick(Number(v)) } }
    : { type: "linear" as const, beginAtZero: true, title: { display: true, text: "latency (ms)" }, grid };
}

/** Label only 1, 2, 5 × 10ⁿ on a log axis, so the ticks stay readable. */
function logTick(value: number): string {
  const leading = value / 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5].some((d) => Math.abs(leading - d) < 1e-9) ? formatMs(value) : "";
}

const latencyTooltip = { callbacks: { label: (c: { dataset: { label?: string }; parsed: { y: number | null } }) => `${c.dataset.label}: ${formatMs(c.parsed.y ?? undefined)}` } };

function latencyTimeOptions(log: boolean): ChartOptions<"scatter"> {
  return { plugins: { legend, tooltip: latencyTooltip }, scales: { x: seconds, y: latencyAxis(log) } };
}

function distributionOptions(log: boolean): ChartOptions<"line"> {
  return {
    spanGaps: true,
    plugins: { legend, tooltip: latencyTooltip },
    scales: { x: { title: { display: true, text: "percentile (share of messages at or below)" }, grid }, y: latencyAxis(log) },
  };
}

const LINEAR = { time: latencyTimeOptions(false), distribution: distributionOptions(false) };
const LOG = { time: latencyTimeOptions(true), distribution: distributionOptions(true) };

const rateOptions: ChartOptions<"scatter"> = {
  plugins: { legend },
  scales: { x: seconds, y: { beginAtZero: true, title: { display: true, text: "requests per second" }, grid } },
};

const bytesOptions: ChartOptions<"scatter"> = {
  plugins: {
    legend: { ...legend, labels: { ...legend.labels, font: { size: 11 } } },
    tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${formatBytes(c.parsed.y ?? 0)}` } },
  },
  scales: {
    x: seconds,
    y: { beginAtZero: true, title: { display: true, text: "bytes, in + out" }, grid, ticks: { callback: (v) => formatBytes(Number(v)) } },
  },
};

export class WirelabCharts extends LitElement {
  static override properties = {
    workbench: { attribute: false },
    logScale: { state: true },
  };
  declare workbench: Workbench | undefined;
  /** Latency charts on a logarithmic axis. */
  declare logScale: boolean;

  static override styles = [
    base,
    css`
      :host {
        display: block;
      }
      .grid {
        display: grid;
        grid-template-columns: repeat(2, minmax(0, 1fr));
        gap: 1rem;
      }
      @media (max-width: 900px) {
        .grid {
          grid-template-columns: minmax(0, 1fr);
        }
      }
      figure {
        margin: 0;
        background: var(--surface);
        border: 1px solid var(--border);
        border-radius: 8px;
        padding: 0.7rem 0.9rem 0.5rem;
        box-shadow: var(--shadow);
      }
      figcaption {
        margin-bottom: 0.4rem;
      }
      .scale {
        display: inline-flex;
        align-items: center;
        gap: 0.4rem;
        margin-bottom: 0.6rem;
        cursor: pointer;
      }
      .scale input {
        width: 1.05rem;
        height: 1.05rem;
        margin: 0;
      }
      .scale .muted {
        font-size: 0.85em;
      }
      figcaption strong {
        display: block;
        font-size: 1.05rem;
      }
      figcaption span {
        font-size: 0.85em;
      }
    `,
  ];

  constructor() {
    super();
    this.workbench = undefined;
    this.logScale = false;
    new ChangeController(this, () => this.workbench, "tick");
  }

  override render() {
    const wb = this.workbench;
    if (!wb) return html``;
    const latency = this.logScale ? LOG : LINEAR;
    return html`<label class="scale">
        <input type="checkbox" .checked=${this.logScale} @change=${(e: Event) => (this.logScale = (e.target as HTMLInputElement).checked)} />
        Logarithmic latency axis <span class="muted">(tells the push transports apart; 0 ms samples are not drawn)</span>
      </label>
      <div class="grid">
      <figure data-chart="latency-time">
        <figcaption><strong>Latency over time</strong><span class="muted">Each message, send to arrival, per transport.</span></figcaption>
        <wirelab-chart type="scatter" .data=${latencyOverTime(wb)} .options=${latency.time} label="latency of each message over time, per transport"></wirelab-chart>
      </figure>
      <figure data-chart="latency-distribution">
        <figcaption><strong>Latency distribution</strong><span class="muted">Percentiles from an HdrHistogram: p95 is the latency 95 % of messages beat.</span></figcaption>
        <wirelab-chart type="line" .data=${latencyDistribution(wb)} .options=${latency.distribution} label="latency percentiles per transport"></wirelab-chart>
      </figure>
      <figure data-chart="request-rate">
        <figcaption><strong>Requests per second</strong><span class="muted">HTTP requests each client makes, averaged over 5 s. Idle polling still costs.</span></figcaption>
        <wirelab-chart type="scatter" .data=${requestRate(wb)} .options=${rateOptions} label="HTTP requests per second per transport"></wirelab-chart>
      </figure>
      <figure data-chart="bytes">
        <figcaption><strong>Cumulative bytes</strong><span class="muted">Solid: on the wire, counted by the server (headers included). Dashed: payload the client saw.</span></figcaption>
        <wirelab-chart type="scatter" .data=${cumulativeBytes(wb)} .options=${bytesOptions} label="cumulative bytes per transport, wire and payload"></wirelab-chart>
      </figure>
    </div>`;
  }
}

customElements.define("wirelab-charts", WirelabCharts);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-charts": WirelabCharts;
  }
}
