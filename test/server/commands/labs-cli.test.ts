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
import { evaluateAll, labExport, parseLab, perTransport, type LabResult } from "../../../web/src/isomorphic/lab/index.js";
import { CLAIMS, Facts } from "../../labs-claims.js";
import { LAB_USAGE, editDistance, resolveLabId } from "../../../server/commands/lab.js";
import { wrapText } from "../../../server/terminal.js";
import { packageRoot } from "../../../server/paths.js";

const ROOT = packageRoot();
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
  for (const line of stdout.split("\n")) expect(line.length, line).toBeLessThanOrEqual(100);
  const report = JSON.parse(readFileSync(json, "utf8"));
  // The dashboard's export format (LabExport), for this very result: the same file either way.
  const { exportedAt: _at, ...expected } = labExport(report.result, evaluateAll(lab.checkpoints, report.result));
  expect({ ...report, exportedAt: undefined }).toEqual({ ...expected, exportedAt: undefined });
  checkExplanations(lab, report, stdout);
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

/**
 * Each checkpoint's explanation, as the CLI printed it (under its answer, wrapped) and wrote it to
 * the JSON, is the one rendered from this run's result; every number it names is the result's; and
 * what it claims holds for the result (labs-claims.ts, written apart from the renderer).
 */
function checkExplanations(lab: ReturnType<typeof parseLab>, report: { result: LabResult; checkpoints: Array<{ id: string; explanation?: string }> }, stdout: string): void {
  const flat = stdout.replace(/\s+/g, " ");
  const facts = new Facts(report.result);
  for (const e of evaluateAll(lab.checkpoints, report.result)) {
    const c = e.checkpoint;
    const written = report.checkpoints.find((x) => x.id === c.id)!;
    if (!e.explanation) {
      expect(written.explanation, `${lab.id} ${c.id}`).toBeUndefined();
      continue;
    }
    const at = `${lab.id} ${c.id} explain`;
    expect(written.explanation, at).toBe(e.explanation.text);
    expect(flat, at).toContain(e.explanation.text.replace(/\s+/g, " "));
    expect(e.explanation.text, at).not.toMatch(/[{}]\w/);
    for (const { ref, value } of e.explanation.values) {
      if (ref.kind === "value") expect(value, `${at}: ${ref.metric} of ${ref.transport}`).toBe(perTransport(ref.metric, ref.phase, report.result).get(ref.transport));
      if (ref.kind === "clients") expect(value, at).toBe(report.result.parameters.clients);
      if (ref.kind === "answer") expect(value, at).toEqual(e.accepted.length > 0 ? e.accepted : e.answer);
    }
    const claims = CLAIMS[lab.id]?.[c.id];
    expect(claims, `${at}: say in test/labs-claims.ts what it claims`).toBeDefined();
    claims!(e.explanation.text, facts);
  }
}

/** `wirelab lab ...` in a child process, with its exit status and both outputs. */
function lab(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [BIN, "lab", ...args], { timeout: 30_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

const HINT = "wirelab lab --help";

test("an unknown lab and bad options fail with a reason", async () => {
  expect(await lab(["run", "99-nothing"])).toMatchObject({ code: 2, stderr: expect.stringContaining('there is no lab "99-nothing"') });
  expect(await lab(["run", "01-polling-tax", "--clients", "zero"])).toMatchObject({ code: 2, stderr: expect.stringContaining("--clients takes a positive whole number") });
  expect(await lab(["run"])).toMatchObject({ code: 2, stderr: expect.stringContaining("name the lab to run") });
});

test.each([[["--help"]], [["-h"]], [["help"]], [["run", "--help"]], [["run", "04", "-h"]]])("wirelab lab %j prints the usage and exits 0", async (args) => {
  expect(await lab(args)).toEqual({ code: 0, stdout: LAB_USAGE, stderr: "" });
});

test("an unknown lab lists the labs and suggests the nearest id", async () => {
  const typo = await lab(["run", "04-hearbeats"]);
  expect(typo.code).toBe(2);
  expect(typo.stderr).toContain('there is no lab "04-hearbeats"; did you mean 04-heartbeats-and-zombies?');
  for (const l of labs) expect(typo.stderr).toContain(l.id);
  expect(typo.stderr).toContain(HINT);
  // Nothing near: the list, but no guess.
  const far = await lab(["run", "banana"]);
  expect(far.code).toBe(2);
  expect(far.stderr).not.toContain("did you mean");
  for (const l of labs) expect(far.stderr).toContain(l.id);
});

test("lab run takes a lab's number for its id", async () => {
  // Port 1 on loopback: nothing listens, so the run stops at once, after naming the lab it resolved.
  const run = await lab(["run", "04", "--url", "http://127.0.0.1:1"]);
  expect(run.stdout).toContain("(04-heartbeats-and-zombies)");
  expect(run.code).toBe(1);
  expect((await lab(["run", "1", "--url", "http://127.0.0.1:1"])).stdout).toContain("(01-polling-tax)");
});

test.each([
  [["run", "01", "--colour"], 'unknown option "--colour"'],
  [["run", "01", "--client", "2"], 'unknown option "--client"; did you mean --clients?'],
  [["run", "01", "-x"], 'unknown option "-x"'],
  [["run", "01", "--clients"], "--clients needs a number, e.g. --clients 4"],
  [["run", "01", "--clients", "--json", "out.json"], "--clients needs a number, e.g. --clients 4"],
  [["run", "01", "--json"], "--json needs a file name"],
  [["--help=yes"], "--help takes no value"],
  [["run", "01", "--clients", "0"], '--clients takes a positive whole number, got "0"'],
  [["run", "01", "--clients", "1.5"], '--clients takes a positive whole number, got "1.5"'],
  [["run", "01", "--time-scale", "abc"], '--time-scale takes a positive number, got "abc"'],
  [["run", "01", "02"], 'lab run takes one lab id, got "01" and "02"'],
  [["start", "01"], 'unknown lab command "start"'],
])("wirelab lab %j exits 2 and says, in its own words: %s", async (args, message) => {
  const { code, stderr } = await lab(args);
  expect(code).toBe(2);
  expect(stderr).toContain(`wirelab: ${message}`);
  expect(stderr).toContain(HINT);
  // Not Node's own wording (parseArgs: "Unknown option '--colour'. To specify a positional argument...").
  expect(stderr).not.toMatch(/To specify|ERR_PARSE_ARGS|argument missing|ambiguous/);
});

test("a browser-only lab says it runs only in the dashboard instead of running", async () => {
  const browserOnly = labs.filter((l) => l.browserOnly);
  expect(browserOnly.length).toBeGreaterThan(0);
  for (const l of browserOnly) {
    const { code, stdout, stderr } = await lab(["run", l.id.slice(0, 2)]);
    expect(code).toBe(2);
    expect(stderr).toContain(`wirelab: ${l.id} runs only in the browser`);
    expect(stderr).toContain("dashboard");
    expect(stdout).toBe("");
  }
});

test("resolveLabId takes an id, its number or an unambiguous prefix; else it names the nearest", () => {
  const ids = ["01-polling-tax", "04-heartbeats-and-zombies", "07-six-connection-limit", "12-a", "12-b"];
  expect(resolveLabId("01-polling-tax", ids)).toEqual({ id: "01-polling-tax" });
  expect(resolveLabId("1", ids)).toEqual({ id: "01-polling-tax" });
  expect(resolveLabId("01", ids)).toEqual({ id: "01-polling-tax" });
  expect(resolveLabId("004", ids)).toEqual({ id: "04-heartbeats-and-zombies" });
  expect(resolveLabId("04-heart", ids)).toEqual({ id: "04-heartbeats-and-zombies" });
  expect(resolveLabId("six-connection-limit", ids)).toEqual({ id: "07-six-connection-limit" });
  expect(resolveLabId("12", ids)).toEqual({ ambiguous: ["12-a", "12-b"] });
  expect(resolveLabId("04-hearbeats", ids)).toEqual({ nearest: "04-heartbeats-and-zombies" });
  expect(resolveLabId("poling-tax", ids)).toEqual({ nearest: "01-polling-tax" });
  expect(resolveLabId("99", ids)).toEqual({});
  expect(resolveLabId("banana", ids)).toEqual({});
});

test("editDistance counts single-character edits; as a prefix distance it ignores the rest of the target", () => {
  expect(editDistance("kitten", "sitting")).toBe(3);
  expect(editDistance("", "abc")).toBe(3);
  expect(editDistance("abc", "abc")).toBe(0);
  expect(editDistance("04-hearbeats", "04-heartbeats-and-zombies", { prefix: true })).toBe(1);
  expect(editDistance("heart", "heartbeats", { prefix: true })).toBe(0);
});

test("wrapText breaks at spaces within the width and indents every line", () => {
  expect(wrapText("one two three four", 9, "  ")).toBe("  one two\n  three\n  four");
  // A word longer than the line stands alone rather than being cut.
  expect(wrapText("a supercalifragilistic b", 10)).toBe("a\nsupercalifragilistic\nb");
  expect(wrapText("  spaced\n out  ", 80)).toBe("spaced out");
});
