/**
 * Chart data of the class view, from the ClassMonitor's numbers: the reconnect timeline (one row
 * per learner, one dot per client coming back, restarts as vertical rules) and the latency
 * distribution (deliveries per bucket, per transport). Pure: tested in Node.
 */
import type { ChartData } from "chart.js";
import type { TimelineEntry } from "../../isomorphic/protocol/class.js";
import type { TransportName } from "../../isomorphic/protocol/index.js";
import { bucketLabels, type RestartMark } from "../../viewmodels/ClassMonitor.js";
import { TRANSPORT_LOOK } from "../transports.js";

const PAGE_COLOR = "#6b7280";

/** x: seconds from `origin` (server clock); y: the learner's row. */
export function timelineData(timeline: readonly TimelineEntry[], marks: readonly RestartMark[], origin: number): { data: ChartData<"scatter">; rows: string[] } {
  const rows = [...new Set(timeline.map((e) => e.user.name))].sort((a, b) => a.localeCompare(b));
  const row = (name: string) => rows.indexOf(name);
  const links = [...new Set(timeline.map((e) => e.link))];
  const datasets: ChartData<"scatter">["datasets"] = links.map((link) => {
    const color = link === "page" ? PAGE_COLOR : TRANSPORT_LOOK[link as TransportName].color;
    return {
      label: link === "page" ? "page (check-ins)" : TRANSPORT_LOOK[link as TransportName].label,
      data: timeline.filter((e) => e.link === link).map((e) => ({ x: (e.at - origin) / 1000, y: row(e.user.name) })),
      backgroundColor: color,
      borderColor: color,
      pointRadius: 4,
      showLine: false,
    };
  });
  for (const mark of marks) {
    datasets.push({
      label: `restart (${mark.jitter ? "jitter" : "no jitter"})`,
      data: [
        { x: (mark.at - origin) / 1000, y: -0.5 },
        { x: (mark.at - origin) / 1000, y: Math.max(rows.length - 0.5, 0.5) },
      ],
      borderColor: "#b91c1c",
      backgroundColor: "#b91c1c",
      showLine: true,
      pointRadius: 0,
      borderDash: mark.jitter ? [6, 4] : [],
    });
  }
  return { data: { datasets }, rows };
}

export function latencyData(rows: ReadonlyArray<{ transport: TransportName; buckets: number[] }>): ChartData<"bar"> {
  return {
    labels: bucketLabels(),
    datasets: rows.map(({ transport, buckets }) => ({
      label: TRANSPORT_LOOK[transport].label,
      data: buckets,
      backgroundColor: TRANSPORT_LOOK[transport].color,
    })),
  };
}
