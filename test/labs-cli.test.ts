/**
 * Every lab that is not browser-only runs headless from the CLI, against its own `wirelab serve`
 * child, with small client counts and shortened phases; its correctness checkpoints must pass.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, test } from "vitest";
import { parseLab } from "../web/src/lab/index.js";

const ROOT = new URL("..", import.meta.url).pathname;
const BIN = join(ROOT, "bin", "wirelab.js");
const labs = readdirSync(join(ROOT, "labs"))
  .filter((f) => /^\d\d-.*\.md$/.test(f))
  .map((f) => parseLab(`labs/${f}`, readFileSync(join(ROOT, "labs", f), "utf8")));
const headless = labs.filter((l) => !l.browserOnly);
const out = mkdtempSync(join(tmpdir(), "wirelab-lab-cli-"));

test("lab list shows every lab", () => {
  const listing = execFileSync(process.execPath, [BIN, "lab", "list"]).toString();
  for (const lab of labs) expect(listing).toContain(lab.id);
});

test.each(headless.map((l) => [l.id, l] as const))("lab %s runs headless and its correctness checkpoints pass", async (id, lab) => {
  const json = join(out, `${id}.json`);
  const csv = join(out, `${id}.csv`);
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, "lab", "run", id, "--clients", "1", "--time-scale", "0.3", "--json", json, "--csv", csv], {
    timeout: 120_000,
  });
  expect(stdout).toContain(lab.title);
  const report = JSON.parse(readFileSync(json, "utf8"));
  expect(report.result.lab.id).toBe(id);
  expect(report.result.sent).toBeGreaterThan(0);
  for (const t of report.result.transports) {
    expect(t.lost, `${id} ${t.transport} lost`).toBe(0);
    expect(t.duplicated, `${id} ${t.transport} duplicated`).toBe(0);
    expect(t.delivered).toBe(t.expected);
  }
  const correctness = report.checkpoints.filter((c: { passed?: boolean }) => c.passed !== undefined);
  expect(correctness.length).toBeGreaterThan(0);
  for (const c of correctness) expect(c.passed, c.question).toBe(true);
  expect(readFileSync(csv, "utf8").split("\n")[0]).toMatch(/^transport,clients,/);
}, 150_000);

test("an unknown lab and bad options fail with a reason", async () => {
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, [BIN, "lab", ...args]).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
  expect(await run(["run", "99-nothing"])).toMatchObject({ code: 1, stderr: expect.stringContaining('there is no lab "99-nothing"') });
  expect(await run(["run", "01-polling-tax", "--clients", "zero"])).toMatchObject({ code: 2, stderr: expect.stringContaining("--clients takes a positive whole number") });
  expect(await run(["run"])).toMatchObject({ code: 2, stderr: expect.stringContaining("name the lab to run") });
});
