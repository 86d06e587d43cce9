/**
 * A small Chart.js plugin: dashed vertical lines where a lab's steps began, each labelled at the
 * top (a label that would overlap the previous one is left out; hovering the chart is not needed
 * to read them). Charts without `plugins.stepMarkers.markers` are not touched.
 */
import type { Chart, ChartType, Plugin } from "chart.js";

export interface StepMarkerOptions {
  markers?: Array<{ x: number; label: string }>;
  color?: string;
}

declare module "chart.js" {
  interface PluginOptionsByType<TType extends ChartType> {
    stepMarkers?: StepMarkerOptions;
  }
}

export const stepMarkersPlugin: Plugin<"scatter" | "line", StepMarkerOptions> = {
  id: "stepMarkers",
  afterDatasetsDraw(chart: Chart, _args, options: StepMarkerOptions) {
    const markers = options.markers;
    const x = chart.scales.x;
    if (!markers?.length || !x) return;
    const { top, bottom, left, right } = chart.chartArea;
    const ctx = chart.ctx;
    ctx.save();
    ctx.strokeStyle = options.color ?? "rgba(29, 36, 51, 0.55)";
    ctx.fillStyle = options.color ?? "rgba(29, 36, 51, 0.85)";
    ctx.lineWidth = 1;
    ctx.setLineDash([4, 4]);
    ctx.font = `12px ${chart.options.font?.family ?? "sans-serif"}`;
    ctx.textBaseline = "top";
    let freeFrom = -Infinity;
    for (const marker of markers) {
      const px = x.getPixelForValue(marker.x);
      if (px < left - 1 || px > right + 1) continue;
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, bottom);
      ctx.stroke();
      const width = ctx.measureText(marker.label).width;
      if (px + 4 >= freeFrom && px + 4 + width <= right) {
        ctx.fillText(marker.label, px + 4, top + 2);
        freeFrom = px + 4 + width + 8;
      }
    }
    ctx.restore();
  },
};
