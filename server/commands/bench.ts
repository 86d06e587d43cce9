/**
 * `wirelab bench`: the transports compared on identical work. The server is a real `wirelab
 * serve` child process, the clients run in forked load workers, and the run ends with tables,
 * an optional JSON and HTML report, and a non-zero exit on any lost or duplicated message.
 */
import { writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { BenchRunner } from "../bench/BenchRunner.js";
import { validateReport } from "../bench/BenchReport.js";
import { renderHtml } from "../bench/htmlReport.js";
import { BENCH_USAGE, parseBenchArgs } from "../bench/options.js";
import { isUsageError } from "../UsageError.js";
import { formatReport } from "../bench/textReport.js";
import { ProgressLine } from "../terminal.js";

export { BENCH_USAGE };

export async function benchCommand(args: string[]): Promise<number> {
  let options;
  try {
    options = parseBenchArgs(args, availableParallelism());
  } catch (error) {
    if (isUsageError(error)) {
      process.stderr.write(`wirelab bench: ${(error as Error).message}\n\n${BENCH_USAGE}`);
      return 2;
    }
    throw error;
  }
  if (options === "help") {
    process.stdout.write(BENCH_USAGE);
    return 0;
  }
  const { parameters } = options;
  const runner = new BenchRunner(parameters, `wirelab bench ${args.join(" ")}`.trim());
  const progress = new ProgressLine();
  runner.on("progress", (p) => progress.update(p.fraction, p.label));
  const total = parameters.transports.reduce((sum, t) => sum + parameters.clients[t], 0);
  process.stderr.write(
    `wirelab bench${parameters.quick ? " --quick" : ""}: ${parameters.scenarios.join(", ")} over ${parameters.transports.join(", ")}; ` +
      `${total.toLocaleString("en-US")} clients in ${parameters.workers} worker(s)` +
      `${parameters.instances > 1 ? `; ${parameters.instances} instances on ${parameters.redisUrl}, the sender on the first` : ""}` +
      `${parameters.peers.length > 0 ? `; peers ${parameters.peers.join(", ")}` : ""}` +
      `${parameters.baseline !== null ? `; baseline ${parameters.baseline}` : ""}\n`,
  );
  let report;
  try {
    report = await runner.run();
  } finally {
    progress.done();
  }
  process.stdout.write(`\n${formatReport(report)}\n`);
  if (options.json) await writeFile(options.json, `${JSON.stringify(report, null, 2)}\n`);
  if (options.html) await writeFile(options.html, await renderHtml(report));
  // The report that was written must itself pass the gate: shape, and nothing lost or duplicated.
  const problems = validateReport(JSON.parse(JSON.stringify(report)));
  if (problems.length > 0) {
    process.stderr.write(`wirelab bench: failed:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
    return 1;
  }
  return 0;
}
