/**
 * The short chaos soak, both variants, in every test run: every kind of fault once (the schedule
 * guarantees it), with clients of all four transports in two rooms; then every room's history
 * must pass every rule. Fixed seeds keep the gate deterministic; SOAK_SEED explores others, and a
 * failure prints the line that replays it with `npm run soak`.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import { formatSoak } from "../../../server/commands/soak.js";
import { packageRoot } from "../../../server/paths.js";
import { SOAK_DEFAULTS, runSoak } from "../../../server/soak/SoakRun.js";
import type { SoakVariant } from "../../../server/soak/faults.js";

const SEEDS: Record<SoakVariant, number> = { single: 1, cluster: 2 };
const cli = join(packageRoot(), "dist", "node", "server", "cli.js");
const run = promisify(execFile);

describe("the chaos soak", () => {
  test.each(["single", "cluster"] as const)(
    "%s: after every kind of fault, every room's history is whole, in order, once, the same for every client",
    async (variant) => {
      const seed = process.env.SOAK_SEED ? Number(process.env.SOAK_SEED) : SEEDS[variant];
      const lines: string[] = [];
      const report = await runSoak({
        ...SOAK_DEFAULTS,
        seed,
        variant,
        durationMs: 0,
        gapMs: 1_000,
        rooms: 2,
        clientsPerTransport: 2,
        sendIntervalMs: 400,
        settleTimeoutMs: 30_000,
        log: (line) => lines.push(line),
      });
      const text = formatSoak(report, 0);
      process.stdout.write(`${lines.join("\n")}\n${text}`);
      expect(report.violations, text).toEqual([]);
      expect(new Set(report.schedule.map((s) => s.fault.kind)).size).toBe(variant === "cluster" ? 7 : 6);
      // The faults did bite: every transport reconnected, and the rooms hold what was acknowledged.
      for (const [transport, n] of Object.entries(report.reconnects)) expect(n, transport).toBeGreaterThan(0);
      for (const room of report.rooms) expect(room.stored).toBeGreaterThanOrEqual(room.acknowledged);
      expect(report.rooms.every((r) => r.acknowledged > 50)).toBe(true);
    },
    240_000,
  );
});

describe("wirelab soak", () => {
  test("a usage error exits 2 and names the flag", async () => {
    const failure = await run(process.execPath, [cli, "soak", "--variant", "triple"]).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toContain("--variant must be single, cluster or both");
    const mixed = await run(process.execPath, [cli, "soak", "--hold", "--seed", "3"]).catch((error: { code: number; stderr: string }) => error);
    expect(mixed).toMatchObject({ code: 2 });
  });

  test("--hold: connections held at a steady rate, sampled over time, nothing lost", async () => {
    const { stdout } = await run(process.execPath, [cli, "soak", "--hold", "--duration", "10", "--connections", "40", "--rate", "10", "--sample-interval", "2"], { timeout: 90_000 });
    expect(stdout).toMatch(/t \(s\)\s+RSS\s+lag p99/);
    expect(stdout).toMatch(/(\d+) sent, (\d+) of \2 deliveries, 0 duplicated/);
    expect(stdout).toContain("PASS  hold");
  }, 120_000);
});
