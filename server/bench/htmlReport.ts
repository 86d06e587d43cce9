/**
 * The HTML form of a BenchReport: one self-contained file (Chart.js inlined from node_modules,
 * the report embedded as JSON) with the tables and three charts per scenario: the latency CDF
 * per transport, deliveries per second over time, and server memory against open connections.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { BenchReport } from "./BenchReport.js";
import { ROWS, columnName, comparisons, scenarioColumns } from "./textReport.js";

async function chartJsSource(): Promise<string> {
  const require = createRequire(import.meta.url);
  const file = join(dirname(require.resolve("chart.js")), "chart.umd.js");
  const source = await readFile(file, "utf8");
  // Inline: no source-map fetch, and nothing that could close the script element early.
  return source.replace(/\/\/# sourceMappingURL=.*$/m, "").replace(/<\/script/gi, "<\\/script");
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function formatCell(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", { maximumFractionDigits: Number.isInteger(value) ? 0 : digits });
}

function tables(report: BenchReport): string {
  return report.scenarios
    .map((s, index) => {
      const columns = scenarioColumns(s);
      const head = `<tr><th></th>${columns.map((t) => `<th>${escapeHtml(columnName(t))}</th>`).join("")}</tr>`;
      const body = ROWS.map(([label, value, digits]) => {
        const bad = label.includes("must be 0");
        const cells = columns.map((t) => {
          const v = value(t);
          return `<td${bad && v ? ' class="bad"' : ""}>${formatCell(v, digits ?? 1)}</td>`;
        });
        return `<tr><th>${escapeHtml(label)}</th>${cells.join("")}</tr>`;
      }).join("\n");
      const ratios = comparisons(s);
      return `<section>
<h2>${escapeHtml(s.name)}</h2>
<p>${escapeHtml(s.description)}${s.together ? " — every transport at once, on one server" : ""}. ${s.sent.toLocaleString("en-US")} messages sent.</p>
${ratios.map((ratio) => `<p class="ratio">${escapeHtml(ratio)}</p>`).join("\n")}
<table>${head}\n${body}</table>
<div class="charts">
<figure><figcaption>Latency CDF (ms, log scale)</figcaption><canvas id="cdf-${index}"></canvas></figure>
<figure><figcaption>Deliveries per second over time</figcaption><canvas id="rate-${index}"></canvas></figure>
<figure><figcaption>Server RSS vs open connections (MB)</figcaption><canvas id="mem-${index}"></canvas></figure>
</div>
</section>`;
    })
    .join("\n");
}

const SCRIPT = `
const report = JSON.parse(document.getElementById("report").textContent);
const colors = { "short-poll": "#d97706", "long-poll": "#7c3aed", sse: "#059669", websocket: "#2563eb", ws: "#111827", "socket.io": "#6b7280", "socket.io-redis": "#9ca3af", "socket.io-polling": "#a78bfa" };
// The same names as the tables (columnName); a baseline is its transport's colour, dashed.
const nameOf = (t) => t.servedBy === "wirelab" ? t.transport : t.servedBy === "baseline" ? t.transport + " (baseline)" : t.servedBy + " (peer)";
const colorOf = (t) => colors[t.servedBy === "wirelab" || t.servedBy === "baseline" ? t.transport : t.servedBy] || "#111";
const line = (t, data) => ({ label: nameOf(t), data, borderColor: colorOf(t), backgroundColor: colorOf(t), borderDash: t.servedBy === "baseline" ? [6, 4] : [], pointRadius: 0, borderWidth: 2, showLine: true });
report.scenarios.forEach((s, i) => {
  const all = [...s.transports.flatMap((t) => [t, ...s.baseline.filter((b) => b.transport === t.transport)]), ...s.peers];
  new Chart(document.getElementById("cdf-" + i), { type: "scatter", data: { datasets: all.filter((t) => t.latency.cdf.length).map((t) => line(t, t.latency.cdf.map((p) => ({ x: Math.max(p.ms, 0.01), y: p.percentile })))) },
    options: { animation: false, scales: { x: { type: "logarithmic", title: { display: true, text: "latency (ms)" } }, y: { min: 0, max: 100, title: { display: true, text: "percentile" } } } } });
  new Chart(document.getElementById("rate-" + i), { type: "scatter", data: { datasets: all.map((t) => line(t, t.timeline.map((p) => ({ x: p.t / 1000, y: p.perSecond })))) },
    options: { animation: false, scales: { x: { title: { display: true, text: "seconds into the measured window" } }, y: { min: 0, title: { display: true, text: "deliveries/s" } } } } });
  new Chart(document.getElementById("mem-" + i), { type: "scatter", data: { datasets: all.map((t) => ({ ...line(t, t.memorySamples.map((p) => ({ x: p.connections, y: p.rssBytes / 1048576 }))), pointRadius: 3 })) },
    options: { animation: false, scales: { x: { title: { display: true, text: "open connections of the transport" } }, y: { title: { display: true, text: "server RSS (MB)" } } } } });
});
`;

export async function renderHtml(report: BenchReport): Promise<string> {
  const chartJs = await chartJsSource();
  const json = JSON.stringify(report).replace(/</g, "\\u003c");
  const m = report.machine;
  const failures = report.failures.length
    ? `<p class="bad">✘ ${report.failures.length} failure(s):</p><ul>${report.failures.map((f) => `<li>${escapeHtml(f)}</li>`).join("")}</ul>`
    : `<p class="ok">✔ no message lost or duplicated</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wirelab bench — ${escapeHtml(new Date(report.startedAt).toISOString())}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #111; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { padding: .2rem .7rem; border-bottom: 1px solid #e5e7eb; text-align: right; font-variant-numeric: tabular-nums; }
th:first-child { text-align: left; font-weight: normal; color: #374151; }
tr:first-child th { font-weight: 600; color: #111; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 1rem; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: .3rem; }
.bad { color: #b91c1c; font-weight: 600; } .ok { color: #047857; font-weight: 600; } .ratio { font-weight: 600; }
code { background: #f3f4f6; padding: 0 .25rem; }
</style>
</head>
<body>
<h1>wirelab bench</h1>
<p><code>${escapeHtml(report.command)}</code> — ${escapeHtml(new Date(report.startedAt).toISOString())}, ${((report.finishedAt - report.startedAt) / 1000).toFixed(1)} s</p>
<p>${m.cpus} × ${escapeHtml(m.cpuModel)}, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${escapeHtml(m.platform)} ${escapeHtml(m.release)}, Node ${escapeHtml(m.node)}, open files ${m.openFilesLimit ?? "?"}</p>
${failures}
${tables(report)}
<script type="application/json" id="report">${json}</script>
<script>${chartJs}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
