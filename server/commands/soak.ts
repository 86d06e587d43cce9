/**
 * `wirelab soak`: the chaos soak over both variants (or the load hold with --hold). It prints the
 * seed and the fault schedule first, every rule a room broke at the end, and the command that
 * replays the run; the exit status says whether every check passed.
 */
import { writeFile } from "node:fs/promises";
import { isUsageError } from "../UsageError.js";
import { runHold, type HoldReport } from "../soak/LoadHold.js";
import { SOAK_USAGE, parseSoakArgs } from "../soak/options.js";
import { SeededRandom } from "../soak/SeededRandom.js";
import { runSoak, type SoakReport } from "../soak/SoakRun.js";

export { SOAK_USAGE };

export async function soakCommand(args: string[]): Promise<number> {
  let command;
  try {
    command = parseSoakArgs(args);
  } catch (error) {
    if (isUsageError(error)) {
      process.stderr.write(`wirelab soak: ${(error as Error).message}\n\n${SOAK_USAGE}`);
      return 2;
    }
    throw error;
  }
  if (command === "help") {
    process.stdout.write(SOAK_USAGE);
    return 0;
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  if (command.kind === "hold") {
    const report = await runHold({ ...command.hold, log });
    process.stdout.write(formatHold(report));
    if (command.json) await writeFile(command.json, `${JSON.stringify(report, null, 2)}\n`);
    return report.passed ? 0 : 1;
  }
  const seed = command.seed ?? SeededRandom.freshSeed();
  const reports: SoakReport[] = [];
  for (const variant of command.variants) {
    const report = await runSoak({ ...command.run, seed, variant, log });
    reports.push(report);
    process.stdout.write(formatSoak(report, command.run.durationMs));
  }
  if (command.json) await writeFile(command.json, `${JSON.stringify(reports, null, 2)}\n`);
  return reports.every((r) => r.passed) ? 0 : 1;
}

export function formatSoak(report: SoakReport, durationMs: number): string {
  const lines = [
    "",
    `${report.passed ? "PASS" : "FAIL"}  soak ${report.variant}, seed ${report.seed}: ${report.schedule.length} faults, ${report.clients} clients, ${(report.elapsedMs / 1000).toFixed(0)} s`,
    ...report.rooms.map((r) => `  ${r.room}: ${r.stored} stored, ${r.acknowledged} acknowledged, ${r.failedSends} sends given up`),
    `  reconnects: ${Object.entries(report.reconnects).map(([t, n]) => `${t} ${n}`).join(", ")}`,
  ];
  const shown = report.violations.slice(0, 50);
  for (const v of shown) lines.push(`  ✗ ${v.room} ${v.who}: ${v.rule}: ${v.detail}`);
  if (report.violations.length > shown.length) lines.push(`  … and ${report.violations.length - shown.length} more`);
  if (!report.passed) lines.push(`  replay: npm run soak -- --seed ${report.seed} --variant ${report.variant} --duration ${Math.round(durationMs / 1000)}`);
  return `${lines.join("\n")}\n`;
}

export function formatHold(report: HoldReport): string {
  const mb = (b: number | null) => (b === null ? "—" : `${(b / 1024 / 1024).toFixed(1)} MB`);
  const ms = (v: number | null) => (v === null ? "—" : `${v.toFixed(1)} ms`);
  const lines = [
    "",
    `${"t (s)".padStart(7)}  ${"RSS".padStart(9)}  ${"lag p99".padStart(9)}  ${"lat p50".padStart(9)}  ${"lat p99".padStart(9)}  ${"delivered".padStart(9)}  open`,
    ...report.samples.map((s) => `${s.t.toFixed(0).padStart(7)}  ${mb(s.rssBytes).padStart(9)}  ${ms(s.eventLoopLagP99Ms).padStart(9)}  ${ms(s.latencyP50Ms).padStart(9)}  ${ms(s.latencyP99Ms).padStart(9)}  ${String(s.delivered).padStart(9)}  ${s.open}`),
    "",
    `trend (fitted after the warm-up): RSS ${mb(report.trends.rss.start)} → ${mb(report.trends.rss.end)}, lag p99 ${ms(report.trends.lag.start)} → ${ms(report.trends.lag.end)}, latency p99 ${ms(report.trends.latency.start)} → ${ms(report.trends.latency.end)}`,
    `${report.sent} sent, ${report.delivered} of ${report.expected} deliveries, ${report.duplicated} duplicated`,
    report.passed ? "PASS  hold" : `FAIL  hold:\n${report.problems.map((p) => `  ✗ ${p}`).join("\n")}`,
  ];
  return `${lines.join("\n")}\n`;
}
