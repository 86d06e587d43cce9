/**
 * Turns a Workbench into the data of the four comparison charts. Pure (no DOM, no Chart.js
 * instance), so what a chart shows can be tested in Node.
 */
import type { ChartData, ChartDataset } from "chart.js";
import { TRANSPORTS } from "../../isomorphic/protocol/index.js";
import { SPECTRUM_PERCENTILES } from "../../isomorphic/stats/LatencyDistribution.js";
import type { Point } from "../../viewmodels/TimeSeries.js";
import type { Workbench } from "../../viewmodels/Workbench.js";
import { TRANSPORT_LOOK } from "../transports.js";

type XY = ChartData<"scatter", Point[]>;
type LineDataset = ChartDataset<"scatter", Point[]>;

function series(label: string, color: string, points: readonly Point[], extra: Partial<LineDataset> = {}): LineDataset {
  return {
    label,
    data: points.slice(),
    borderColor: color,
    backgroundColor: color,
    showLine: true,
    borderWidth: 2,
    pointRadius: 0,
    pointHitRadius: 6,
    ...extra,
  };
}

/** Each counted message's latency at the moment it arrived. */
export function latencyOverTime(workbench: Workbench): XY {
  return {
    datasets: TRANSPORTS.map((t) =>
      series(TRANSPORT_LOOK[t].label, TRANSPORT_LOOK[t].color, workbench.monitors[t].latencySeries.points, { showLine: false, pointRadius: 3.5 }),
    ),
  };
}

export const SPECTRUM_LABELS = SPECTRUM_PERCENTILES.map((p) => (p === 0 ? "min" : p === 100 ? "max" : `p${p}`));

/** The latency at each percentile (from the HdrHistogram): the whole distribution in one line. */
export function latencyDistribution(workbench: Workbench): ChartData<"line", Array<number | null>, string> {
  return {
    labels: SPECTRUM_LABELS,
    datasets: TRANSPORTS.map((t) => {
      const spectrum = workbench.monitors[t].latency.spectrum();
      return {
        label: TRANSPORT_LOOK[t].label,
        data: SPECTRUM_PERCENTILES.map((_, i) => spectrum[i]?.ms ?? null),
        borderColor: TRANSPORT_LOOK[t].color,
        backgroundColor: TRANSPORT_LOOK[t].color,
        borderWidth: 2,
        pointRadius: 3,
      };
    }),
  };
}

/** HTTP requests per second each client made (over a 5 s window), sampled once a second. */
export function requestRate(workbench: Workbench): XY {
  return {
    datasets: TRANSPORTS.map((t) => series(TRANSPORT_LOOK[t].label, TRANSPORT_LOOK[t].color, workbench.monitors[t].requestRateSeries.points)),
  };
}

/**
 * Bytes since joining: solid, what the server counted on the wire for the transport (headers and
 * framing included, all clients); dashed, the payload this dashboard's client saw.
 */
export function cumulativeBytes(workbench: Workbench): XY {
  return {
    datasets: TRANSPORTS.flatMap((t) => [
      series(`${TRANSPORT_LOOK[t].label} wire`, TRANSPORT_LOOK[t].color, workbench.server.bytesSeries[t].points),
      series(`${TRANSPORT_LOOK[t].label} payload`, TRANSPORT_LOOK[t].color, workbench.monitors[t].bytesSeries.points, {
        borderDash: [6, 4],
        borderWidth: 1.5,
      }),
    ]),
  };
}
