/**
 * A lab's live charts: messages delivered, HTTP requests and median latency per transport over
 * the run, redrawn with every progress tick, with a dashed marker where each step began.
 */
import { LitElement, css, html } from "lit";
import type { ChartOptions } from "chart.js";
import { scaleLab } from "../isomorphic/lab/index.js";
import type { LabSession } from "../viewmodels/LabSession.js";
import { plannedMs } from "../viewmodels/labText.js";
import { LAB_CHARTS, labSeries, stepMarkers } from "./charts/labChartData.js";
import { registerCharts } from "./charts/registerCharts.js";
import { stepMarkersPlugin } from "./charts/stepMarkers.js";
import { ChangeController } from "./controllers/ChangeController.js";
import { base } from "./theme.js";
import "./wirelab-chart.js";
import type { WirelabChart } from "./wirelab-chart.js";

const grid = { color: "rgba(60, 70, 90, 0.12)" };

let markersRegistered = false;

function options(axis: string, seconds: number, markers: Array<{ x: number; label: string }>): ChartOptions<"scatter"> {
  return {
    plugins: {
      legend: { position: "bottom", labels: { boxWidth: 14, boxHeight: 3, padding: 10 } },
      stepMarkers: { markers },
    },
    scales: {
      x: { type: "linear", min: 0, suggestedMax: seconds, title: { display: true, text: "seconds into the run" }, grid, ticks: { precision: 0 } },
      y: { beginAtZero: true, title: { display: true, text: axis }, grid, ticks: { precision: 0 } },
    },
  };
}

export class WirelabLabCharts extends LitElement {
  static override properties = { session: { attribute: false } };
  declare session: LabSession | undefined;

  static override styles = [
    base,
    css`
      :host {
        display: block;
        --chart-height: 250px;
      }
      .grid {
        display: grid;
        grid-template-columns: repeat(3, minmax(0, 1fr));
        gap: 1rem;
      }
      @media (max-width: 1100px) {
        .grid {
          grid-template-columns: minmax(0, 1fr);
        }
      }
      figure {
        margin: 0;
        min-width: 0;
      }
      figcaption strong {
        display: block;
        font-size: 1.05rem;
      }
      figcaption span {
        display: block;
        font-size: 0.88rem;
        min-height: 2.6em;
      }
    `,
  ];

  constructor() {
    super();
    this.session = undefined;
    new ChangeController(this, () => this.session);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (!markersRegistered) {
      registerCharts().register(stepMarkersPlugin);
      markersRegistered = true;
    }
  }

  override render() {
    const s = this.session;
    if (!s) return html``;
    // The x axis covers the whole plan from the start, so the lines grow into it.
    const seconds = Math.ceil(plannedMs(scaleLab(s.lab, s.timeScale)) / 1000) + 2;
    const markers = stepMarkers(s.phaseStarts);
    return html`<div class="grid">
      ${LAB_CHARTS.map(
        (chart) => html`<figure data-chart=${chart.id}>
          <figcaption><strong>${chart.title}</strong><span class="muted">${chart.caption}</span></figcaption>
          <wirelab-chart
            type="scatter"
            .data=${labSeries(s.live, s.transports, chart.field)}
            .options=${options(chart.axis, Math.max(seconds, (s.elapsedMs / 1000) | 0), markers)}
            label=${`${chart.title} per transport over the run`}
          ></wirelab-chart>
        </figure>`,
      )}
    </div>`;
  }

  /** Every chart with its title on one white PNG (a data URL); null before anything was drawn. */
  toPng(title: string): string | null {
    const charts = [...this.renderRoot.querySelectorAll<WirelabChart>("wirelab-chart")];
    const canvases = charts.map((c) => c.canvas).filter((c): c is HTMLCanvasElement => c !== undefined && c.width > 0);
    if (canvases.length === 0) return null;
    const ratio = canvases[0]!.width / Math.max(1, canvases[0]!.clientWidth);
    const pad = Math.round(16 * ratio);
    const header = Math.round(44 * ratio);
    const caption = Math.round(30 * ratio);
    const width = canvases.reduce((w, c) => w + c.width, 0) + pad * (canvases.length + 1);
    const height = header + caption + Math.max(...canvases.map((c) => c.height)) + pad;
    const out = document.createElement("canvas");
    out.width = width;
    out.height = height;
    const ctx = out.getContext("2d")!;
    const font = getComputedStyle(this).fontFamily || "sans-serif";
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = "#1d2433";
    ctx.textBaseline = "middle";
    ctx.font = `700 ${Math.round(20 * ratio)}px ${font}`;
    ctx.fillText(title, pad, header / 2 + pad / 4);
    let x = pad;
    canvases.forEach((canvas, i) => {
      ctx.font = `650 ${Math.round(15 * ratio)}px ${font}`;
      ctx.fillText(LAB_CHARTS[i]?.title ?? "", x, header + caption / 2);
      ctx.drawImage(canvas, x, header + caption);
      x += canvas.width + pad;
    });
    return out.toDataURL("image/png");
  }
}

customElements.define("wirelab-lab-charts", WirelabLabCharts);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-lab-charts": WirelabLabCharts;
  }
}
