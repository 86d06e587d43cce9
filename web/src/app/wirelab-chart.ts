/**
 * A Chart.js chart as an element: give it `type`, `data` and `options`; it draws, redraws when
 * `data` changes (without animation, so nothing jumps), and frees the chart when removed.
 */
import { LitElement, css, html, type PropertyValues } from "lit";
import type { Chart, ChartData, ChartOptions, ChartType } from "chart.js";
import { registerCharts } from "./charts/registerCharts.js";
import { base } from "./theme.js";

export class WirelabChart extends LitElement {
  static override properties = {
    type: {},
    data: { attribute: false },
    options: { attribute: false },
    label: {},
  };
  declare type: ChartType;
  declare data: ChartData | undefined;
  declare options: ChartOptions | undefined;
  /** Text alternative for the canvas. */
  declare label: string;
  #chart: Chart | undefined;

  static override styles = [
    base,
    css`
      :host {
        display: block;
        position: relative;
        height: var(--chart-height, 260px);
      }
      canvas {
        display: block;
      }
    `,
  ];

  constructor() {
    super();
    this.type = "line";
    this.data = undefined;
    this.options = undefined;
    this.label = "chart";
  }

  override render() {
    return html`<canvas role="img" aria-label=${this.label}></canvas>`;
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (!this.data) return;
    if (!this.#chart) {
      const Chart = registerCharts();
      const canvas = this.renderRoot.querySelector("canvas")!;
      this.#chart = new Chart(canvas, {
        type: this.type,
        data: this.data,
        options: { responsive: true, maintainAspectRatio: false, ...this.options },
      });
      return;
    }
    const newOptions = changed.has("options") && this.options;
    if (newOptions) this.#chart.options = { responsive: true, maintainAspectRatio: false, ...this.options };
    if (changed.has("data")) mergeData(this.#chart.data, this.data);
    if (newOptions || changed.has("data")) this.#chart.update("none");
  }

  /** The chart as drawn (Chart.js's own canvas, transparent where nothing is drawn); undefined before the first draw. */
  get canvas(): HTMLCanvasElement | undefined {
    return this.#chart?.canvas;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#chart?.destroy();
    this.#chart = undefined;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Re-attached after a removal: draw again on the next update.
    if (this.hasUpdated) this.requestUpdate();
  }
}

/**
 * Copy new points into the chart's own dataset objects: Chart.js keys a dataset's state (hidden
 * from the legend, hovered) to the object, so replacing them would undo the learner's clicks.
 */
function mergeData(target: ChartData, next: ChartData): void {
  target.labels = next.labels;
  next.datasets.forEach((dataset, i) => {
    const current = target.datasets[i];
    if (current && current.label === dataset.label) current.data = dataset.data;
    else target.datasets[i] = dataset;
  });
  target.datasets.length = next.datasets.length;
}

customElements.define("wirelab-chart", WirelabChart);

declare global {
  interface HTMLElementTagNameMap {
    "wirelab-chart": WirelabChart;
  }
}
