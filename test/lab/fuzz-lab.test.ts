/**
 * Lab-file fuzzing (fast-check, seeded, fixed runs). parseLab reads what an instructor wrote, so
 * whatever the text — arbitrary characters, arbitrary bytes, YAML-shaped garbage, or one of the
 * real labs in labs/ with a field dropped, of the wrong type, huge, deeply nested, unknown, or the
 * text cut, shuffled and duplicated — it returns a LabDefinition that keeps every documented limit
 * (docs/authoring-labs.md), or throws a LabFormatError that names the file and, for a mutated
 * field, that field (or the one that refers to it), with a message. Never another exception, and
 * never a hang: big inputs are parsed in a worker under a deadline. The server's lab routes
 * (GET /v1/labs, GET /v1/labs/{id}, PUT /v1/class/assignment) answer a broken lab with 422, an
 * unknown one with 404, never a 500, and a broken file in the labs folder keeps nothing else from
 * being served.
 *
 * FUZZ_SEED=n runs other inputs (the seed is printed); a failure prints the shrunk input.
 */
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Wirelab } from "../../server/app.js";
import { packageRoot } from "../../server/paths.js";
import { TRANSPORTS } from "../../web/src/isomorphic/protocol/index.js";
import { AssignmentRequestSchema } from "../../web/src/isomorphic/protocol/class.js";
import { LabFormatError, labIdOf, parseLab } from "../../web/src/isomorphic/lab/labFile.js";
import { PHASE_KINDS, type LabDefinition } from "../../web/src/isomorphic/lab/LabDefinition.js";
import { METRICS } from "../../web/src/isomorphic/lab/metrics.js";
import { session, startServer, tempDir } from "../helpers.js";
import { wrongValue } from "../server/http/httpInputs.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_409);
const runs = (n: number) => ({ seed: SEED, numRuns: n });
console.log(`fuzz-lab: seed ${SEED}`);

const LABS_DIR = join(packageRoot(), "labs");
const REAL_LABS = readdirSync(LABS_DIR)
  .filter((f) => /^\d\d-.*\.md$/.test(f))
  .sort()
  .map((name) => ({ file: `labs/${name}`, text: readFileSync(join(LABS_DIR, name), "utf8") }));

/** The front matter and the body of a lab file, as labFile.ts splits them. */
const SPLIT = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/;
const REAL = REAL_LABS.map(({ file, text }) => {
  const [, front, body] = SPLIT.exec(text)!;
  return { file, text, front: parseYaml(front!) as Record<string, unknown>, body: body! };
});
const rebuild = (front: unknown, body: string) => `---\n${stringifyYaml(front)}---\n${body}`;

// ---- the oracle ----

type Outcome = { lab: LabDefinition; error?: undefined } | { lab?: undefined; error: LabFormatError };

/** parseLab's answer: a lab or a LabFormatError; anything else thrown fails here, with the input. */
function outcome(file: string, text: string): Outcome {
  try {
    return { lab: parseLab(file, text) };
  } catch (error) {
    if (error instanceof LabFormatError) return { error };
    throw new Error(`parseLab threw ${(error as Error)?.constructor?.name ?? typeof error} (not a LabFormatError): ${String((error as Error)?.message ?? error).slice(0, 300)}\nfile ${file}\ntext ${JSON.stringify(text.slice(0, 1_500))}`, { cause: error });
  }
}

/** A LabFormatError names the file and says, problem by problem, what is wrong. */
function expectSoundError(file: string, error: LabFormatError, context: string): void {
  expect(error.file, context).toBe(file);
  expect(error.message.startsWith(`${file}: `), `the message names the file\n${error.message}\n${context}`).toBe(true);
  expect(error.problems.length, `no problems listed\n${context}`).toBeGreaterThan(0);
  for (const problem of error.problems) {
    expect(typeof problem.field, context).toBe("string");
    expect(problem.message.trim().length, `an empty problem message\n${error.message}\n${context}`).toBeGreaterThan(0);
  }
}

/** The longest a timer waits (setTimeout runs a longer one at once): a phase longer than that is not the lab it says. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A lab parseLab accepted keeps every limit docs/authoring-labs.md gives, and goes over the wire as JSON. */
function expectSoundLab(file: string, lab: LabDefinition, context: string): void {
  const where = (what: string) => `${what}\n${context}`;
  const duration = (ms: unknown, what: string) =>
    expect(typeof ms === "number" && Number.isFinite(ms) && ms >= 0 && ms <= MAX_TIMER_MS, where(`${what} is ${String(ms)} ms: not a duration`)).toBe(true);
  const int = (n: unknown, min: number, max: number, what: string) => expect(Number.isInteger(n) && (n as number) >= min && (n as number) <= max, where(`${what} is ${String(n)}`)).toBe(true);
  const text = (s: unknown, what: string) => expect(typeof s === "string" && s.length > 0, where(`${what} is not text`)).toBe(true);
  expect(lab.id, context).toBe(labIdOf(file));
  text(lab.title, "title");
  text(lab.summary, "summary");
  expect(typeof lab.browserOnly, context).toBe("boolean");
  expect(typeof lab.body, context).toBe("string");
  const s = lab.scenario;
  expect(s.transports.length, where("no transports")).toBeGreaterThan(0);
  for (const t of s.transports) expect(TRANSPORTS, context).toContain(t);
  int(s.clients, 1, 1000, "scenario.clients");
  int(s.messageBytes, 1, 2000, "scenario.messageBytes");
  int(s.instances, 1, 8, "scenario.instances");
  duration(s.pollIntervalMs, "scenario.pollInterval");
  duration(s.longPollWaitMs, "scenario.longPollWait");
  duration(s.requestTimeoutMs, "scenario.requestTimeout");
  duration(s.settleMs, "scenario.settle");
  duration(s.backoff.baseMs, "scenario.backoff.base");
  duration(s.backoff.capMs, "scenario.backoff.cap");
  expect(typeof s.backoff.jitter, context).toBe("boolean");
  expect(s.phases.length, where("no phases")).toBeGreaterThan(0);
  s.phases.forEach((p, i) => {
    const at = `scenario.phases[${i}]`;
    expect(PHASE_KINDS, context).toContain(p.kind);
    expect(typeof p.name, where(`${at}.name is not text`)).toBe("string");
    if ("ms" in p) duration(p.ms, `${at}.ms`);
    if (p.kind === "restart") duration(p.downtimeMs, `${at}.downtime`);
    if (p.kind === "send") expect(p.rate > 0 && p.rate <= 1000, where(`${at}.send.rate is ${p.rate}`)).toBe(true);
    if (p.kind === "burst") int(p.count, 1, 10_000, `${at}.burst`);
    if ((p.kind === "send" || p.kind === "burst") && p.via) expect(s.transports, where(`${at} sends via a transport the lab does not run`)).toContain(p.via);
    if (p.kind === "drop") expect([...TRANSPORTS, "all"], context).toContain(p.transport);
    if (p.kind === "jitter") expect(typeof p.on, context).toBe("boolean");
    if (p.kind === "kill") expect(s.instances, where("a kill with one instance")).toBeGreaterThanOrEqual(2);
  });
  for (const m of lab.measure) expect(METRICS, context).toContain(m);
  for (const c of lab.checkpoints) {
    expect(c.id, context).toMatch(/^[a-z0-9-]+$/);
    text(c.question, "a checkpoint's question");
    expect(METRICS, context).toContain(c.answer.metric);
    if (c.answer.phase !== undefined) expect(s.phases.map((p) => p.name), where("an answer reads a phase that does not exist")).toContain(c.answer.phase);
    expect(c.tolerance >= 0 && c.tolerance <= 10, where(`tolerance ${c.tolerance}`)).toBe(true);
  }
  // The server answers GET /v1/labs/{id} with it as JSON.
  expect(() => JSON.stringify(lab), context).not.toThrow();
}

function expectSound(file: string, text: string): Outcome {
  const context = `file ${file}\ntext ${JSON.stringify(text.slice(0, 1_500))}`;
  const result = outcome(file, text);
  if (result.error) expectSoundError(file, result.error, context);
  else expectSoundLab(file, result.lab, context);
  return result;
}

// ---- paths into a lab's front matter ----

type Path = Array<string | number>;
const pathText = (path: Path) => path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
/** A problem's field ("scenario.phases[2].send.rate") as a path. */
const segmentsOf = (field: string): Path => [...field.matchAll(/\[(\d+)\]|([^.[\]]+)/g)].map((m) => (m[1] !== undefined ? Number(m[1]) : m[2]!));
const startsWith = (path: Path, prefix: Path) => prefix.length <= path.length && prefix.every((p, i) => String(p) === String(path[i]));

/** Fields that refer to others: a change to a phase, a transport or the instances shows up at them. */
const CROSS_REFERENCES = [/^checkpoints\[\d+\]\.answer\.phase$/, /^checkpoints\[\d+\]\.explain/, /^scenario\.phases$/, /^scenario\.instances$/];

/** Does the error point at the mutated field: it, a field inside it, the field it is part of, or a field that refers to it? */
function names(error: LabFormatError, path: Path): boolean {
  return error.problems.some(({ field }) => {
    if (field === "" || field === "front matter") return false;
    const at = segmentsOf(field);
    return startsWith(path, at) || startsWith(at, path) || CROSS_REFERENCES.some((re) => re.test(field));
  });
}

/** Every node of the front matter below the root, with its path. */
function nodesOf(value: unknown, path: Path = []): Array<{ path: Path; value: unknown }> {
  const here = path.length > 0 ? [{ path, value }] : [];
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => nodesOf(v, [...path, i]))];
  if (value !== null && typeof value === "object") return [...here, ...Object.entries(value).flatMap(([k, v]) => nodesOf(v, [...path, k]))];
  return here;
}

/** Network conditions take any shape (a preset name or conditions): what is "wrong" there is the emulator's to say. */
const inNetwork = (path: Path) => path.includes("network");

const clone = <T>(value: T): T => structuredClone(value);
function getAt(root: unknown, path: Path): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], root);
}
function setAt(root: unknown, path: Path, value: unknown): void {
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, unknown>;
  // defineProperty: a key such as "__proto__" becomes a field, as YAML makes it.
  Object.defineProperty(parent, path.at(-1)!, { value, enumerable: true, configurable: true, writable: true });
}
function dropAt(root: unknown, path: Path): void {
  const parent = getAt(root, path.slice(0, -1));
  if (Array.isArray(parent)) parent.splice(path.at(-1) as number, 1);
  else delete (parent as Record<string, unknown>)[path.at(-1) as string];
}

/** What a field documentedly takes, by kind of value (docs/authoring-labs.md): a value of any other kind is refused. */
type Kind = "string" | "number" | "boolean" | "null" | "array" | "object";
const kindOf = (v: unknown): Kind => (v === null ? "null" : Array.isArray(v) ? "array" : (typeof v as Kind));
const DURATIONS = new Set(["idle", "settle", "refuse", "stall", "for", "pollInterval", "longPollWait", "requestTimeout", "base", "cap", "downtime"]);
function kindsTaken(path: Path, value: unknown): Kind[] {
  const key = String(path.at(-1));
  const phaseKey = path.length === 4 && path[0] === "scenario" && path[1] === "phases";
  if (DURATIONS.has(key)) return ["string", "number"];
  if (key === "expect") return ["string", "number"];
  if (key === "explain") return ["string", "array"];
  if (phaseKey && key === "burst") return ["number", "object"];
  if (phaseKey && key === "restart") return ["boolean", "object"];
  return [kindOf(value)];
}

/** Fields a lab cannot do without (the tables of docs/authoring-labs.md, and a phase's one kind). */
const REQUIRED = [
  /^(title|summary|scenario|scenario\.phases)$/,
  /^checkpoints\[\d+\]\.(question|answer)$/,
  /^checkpoints\[\d+\]\.answer\.(most|least|total|value|transport)$/,
  /^checkpoints\[\d+\]\.explain\[\d+\]\.text$/,
  /^scenario\.phases\[\d+\]\.(?!name$)[a-z]+$/,
  /^scenario\.phases\[\d+\]\.(send\.(rate|for)|blackhole\.for|burst\.count)$/,
];
/** Fields whose wrong shape is reported by the union they belong to ("must be one of …"), not by the unknown key. */
const UNION_FIELDS = /\.(answer|explain|burst|restart)$/;

// ---- mutations ----

type Mutation =
  | { kind: "drop"; path: Path }
  | { kind: "wrong-type"; path: Path; value: unknown }
  | { kind: "unknown-field"; path: Path; key: string; value: unknown }
  | { kind: "huge"; path: Path; value: unknown }
  | { kind: "deep"; path: Path; value: unknown }
  | { kind: "long-string"; path: Path; value: string };

const HUGE_NUMBERS = [1e308, -1e308, Infinity, -Infinity, Number.NaN, 2 ** 53 + 2, 1e21, -1, 0, 0.5, 1.5, 1001, 2001, 10_001, 2 ** 31, -0];
const HUGE_DURATIONS = [`${"9".repeat(400)}s`, `${"9".repeat(40)}ms`, "40000m", "35791m", "2147483647ms", "2147483648ms", "1e3s", "-5s", "Infinity", "5 s", "5S", "5sec", "1.5.5s", "0.0001ms"];

/** A value nested `depth` levels deep (arrays and maps by turns). */
function nested(depth: number, leaf: unknown, maps: boolean): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = maps && i % 2 ? { a: value } : [value];
  return value;
}

const KEYS = ["colour", "titel", "Title", "phases", "__proto__", "constructor", "toString", "hasOwnProperty", "", " ", "idle", "send", "0", "a.b", "ünïcode"];
/** Optional fields somewhere in the format: added where they belong, they are no unknown field. */
const OPTIONAL_FIELDS = new Set(["browserOnly", "measure", "checkpoints", "transports", "clients", "messageBytes", "pollInterval", "longPollWait", "requestTimeout", "backoff", "network", "instances", "settle", "base", "cap", "jitter", "name", "via", "downtime", "transport", "id", "expect", "tolerance", "explain", "phase"]);

/** One mutation of a real lab's front matter, with the oracle that fits it. */
function mutation(front: Record<string, unknown>): fc.Arbitrary<Mutation> {
  const nodes = nodesOf(front);
  const pick = <T>(list: T[]) => fc.constantFrom(...list);
  const objects = [{ path: [] as Path, value: front as unknown }, ...nodes].filter((n) => kindOf(n.value) === "object" && !inNetwork(n.path));
  const numbers = nodes.filter((n) => typeof n.value === "number" || DURATIONS.has(String(n.path.at(-1))));
  const strings = nodes.filter((n) => typeof n.value === "string");
  return fc.oneof(
    pick(nodes).map(({ path }): Mutation => ({ kind: "drop", path })),
    pick(nodes.filter((n) => !inNetwork(n.path))).chain(({ path, value }) =>
      wrongValue.filter((v) => !kindsTaken(path, value).includes(kindOf(v))).map((v): Mutation => ({ kind: "wrong-type", path, value: v })),
    ),
    fc
      .tuple(pick(objects), fc.oneof(pick(KEYS), fc.string({ maxLength: 12 })), wrongValue)
      .filter(([{ value }, key]) => !Object.prototype.hasOwnProperty.call(value, key) && !OPTIONAL_FIELDS.has(key))
      .map(([{ path }, key, value]): Mutation => ({ kind: "unknown-field", path, key, value })),
    fc.tuple(pick(numbers), fc.oneof(pick(HUGE_NUMBERS), pick(HUGE_DURATIONS))).map(([{ path }, value]): Mutation => ({ kind: "huge", path, value })),
    fc.tuple(pick(nodes), fc.integer({ min: 1, max: 60 }), fc.boolean(), fc.constantFrom<unknown>(1, "x", null, {}, [])).map(([{ path }, depth, maps, leaf]): Mutation => ({ kind: "deep", path, value: nested(depth, leaf, maps) })),
    fc
      .tuple(pick(strings), fc.constantFrom(" ", "\t", "a", "{", "}", "{{", "=", "<", " and ", "{answer}", "{latency.p50 of sse}", "😀", "\u0000", "\ud800"), fc.integer({ min: 100, max: 3_000 }))
      .map(([{ path, value }, piece, count]): Mutation => ({ kind: "long-string", path, value: `${String(value)}${piece.repeat(count)}x` })),
  );
}

function apply(front: Record<string, unknown>, m: Mutation): Record<string, unknown> {
  const out = clone(front);
  if (m.kind === "drop") dropAt(out, m.path);
  else if (m.kind === "unknown-field") setAt(out, [...m.path, m.key], m.value);
  else setAt(out, m.path, m.value);
  return out;
}

/** Changes to the text itself: cut, lines dropped, doubled (duplicate keys), swapped or indented, junk inserted, line ends and markers changed. */
const textMutation: fc.Arbitrary<(text: string) => string> = fc.oneof(
  fc.nat().map((n) => (t: string) => t.slice(0, n % (t.length + 1))),
  fc.nat().map((n) => (t: string) => lines(t, (ls) => ls.splice(n % ls.length, 1))),
  fc.nat().map((n) => (t: string) => lines(t, (ls) => ls.splice(n % ls.length, 0, ls[n % ls.length]!))),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => (t: string) => lines(t, (ls) => ([ls[a % ls.length], ls[b % ls.length]] = [ls[b % ls.length]!, ls[a % ls.length]!]))),
  fc.tuple(fc.nat(), fc.constantFrom(" ", "  ", "\t", "- ")).map(([n, indent]) => (t: string) => lines(t, (ls) => (ls[n % ls.length] = indent + ls[n % ls.length]))),
  fc
    .tuple(fc.nat(), fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom(": ", "- ", "&a ", "*a", "*nope", "!!binary ", "!!set ", "? ", "|", ">", "'", '"', "#", "{", "[", "]", "}", "\n---\n", "\n...\n", "%YAML 1.1\n", "<<: *a\n", "\t", "\r")))
    .map(([n, junk]) => (t: string) => t.slice(0, n % (t.length + 1)) + junk + t.slice(n % (t.length + 1))),
  fc.constantFrom(
    (t: string) => t.replace(/\n/g, "\r\n"),
    (t: string) => `\ufeff${t}`,
    (t: string) => t.replace(/\n---\n/, "\n"),
    (t: string) => t.replace(/^---\n/, "--- \n"),
    (t: string) => t.replace(/^---\n/, "---\n%YAML 1.1\n---\n"),
    (t: string) => t.replace(/\n---\n/, `\n${"  ".repeat(200)}x: ${"[".repeat(3_000)}${"]".repeat(3_000)}\n---\n`),
  ),
);

function lines(text: string, change: (lines: string[]) => unknown): string {
  const list = text.split("\n");
  change(list);
  return list.join("\n");
}

const labOf = (file: string) => REAL.find((lab) => lab.file === file)!;
/** A real lab, by file name (so a counterexample names the file, not its whole text). */
const realLab = fc.constantFrom(...REAL.map((lab) => lab.file));

// ---- parseLab ----

describe("parseLab on arbitrary input: a LabDefinition or a LabFormatError, nothing else", () => {
  const fileName = fc.oneof({ weight: 4, arbitrary: fc.constant("labs/10-fuzzed.md") }, fc.constantFrom("labs/lab one.md", "10-x.md", "labs/README.md", "", "labs/99-ünï.md"), fc.string({ maxLength: 30 }));

  test("arbitrary text, with and without a front matter around it", () => {
    fc.assert(
      fc.property(
        fileName,
        fc.oneof(fc.string({ unit: "binary", maxLength: 400 }), fc.string({ unit: "grapheme", maxLength: 400 })),
        fc.constantFrom("bare", "fenced", "fenced-crlf"),
        (file, text, frame) => {
          const framed = frame === "bare" ? text : frame === "fenced" ? `---\n${text}\n---\n# Body\n` : `---\r\n${text}\r\n---\r\n`;
          expectSound(file, framed);
        },
      ),
      runs(800),
    );
  });

  test("arbitrary bytes decoded as UTF-8 (as the server reads a file)", () => {
    fc.assert(
      fc.property(fileName, fc.uint8Array({ maxLength: 400 }), fc.boolean(), (file, bytes, fenced) => {
        const text = new TextDecoder().decode(bytes);
        expectSound(file, fenced ? `---\n${text}\n---\n` : text);
      }),
      runs(500),
    );
  });

  test("YAML-shaped garbage: the tokens of the format and of YAML, in any order", () => {
    const token = fc.constantFrom(
      "title: T", "summary: S", "scenario:", "  phases:", "    - idle: 1s", "    - send: { rate: 5, for: 2s }", "    - burst: 3", "    - kill: busiest", "measure: [lost]",
      "checkpoints:", "  - question: Q", "    answer: { total: lost }", "    explain:", "      - when: \"{answer} = 0\"", "        text: t", "      - text: u",
      "- ", "  ", "\n", "\n  ", ": ", "? ", "{", "}", "[", "]", ",", "&a", "*a", "<<: *a", "!!binary", "!!set", "!!omap", "!!timestamp", "!!js/function", "!tag",
      "%YAML 1.1", "%TAG ! tag:x:", "---", "...", "|", ">-", "'", '"', "#", "~", "null", ".inf", "-.inf", ".nan", "0x1F", "0o17", "1e400", "2001-12-14",
      "__proto__:", "constructor:", "\t", "@", "`", "\\", "\u0000", "\ufeff", "😀", "{answer}", "{{", "}}", " and ", " <= ", "none",
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 40 }), fc.constantFrom("", " ", "\n"), (tokens, glue) => {
        expectSound("labs/10-fuzzed.md", `---\n${tokens.join(glue)}\n---\n# Body\n`);
      }),
      runs(800),
    );
  });

  test("arbitrary structures as YAML front matter, with the format's own keys among the random ones", () => {
    const key = fc.oneof(
      fc.constantFrom("title", "summary", "browserOnly", "scenario", "measure", "checkpoints", "transports", "clients", "phases", "idle", "send", "rate", "for", "via", "burst", "count", "name", "question", "answer", "most", "total", "phase", "explain", "when", "text", "expect", "tolerance", "network", "instances", "backoff"),
      fc.string({ maxLength: 8 }),
    );
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: "small", withCrossShrink: true }, fc.jsonValue({ maxDepth: 0 }), fc.array(tie("tree"), { maxLength: 4 }), fc.dictionary(key, tie("tree"), { maxKeys: 5 })),
    }));
    fc.assert(
      fc.property(tree, (front) => {
        expectSound("labs/10-fuzzed.md", `---\n${stringifyYaml(front)}---\n# Body\n`);
      }),
      runs(500),
    );
  });
});

describe("parseLab on the real labs, mutated: structured but wrong", () => {
  test("the labs survive the round trip through YAML that the mutations take", () => {
    for (const { file, text, front, body } of REAL) expect(parseLab(file, rebuild(front, body))).toEqual(parseLab(file, text));
  });

  test("one field dropped, of the wrong type, unknown, huge, deeply nested or very long: refused naming it, or a lab within the limits", () => {
    fc.assert(
      fc.property(realLab.chain((file) => mutation(labOf(file).front).map((m) => [file, m] as const)), ([file, m]) => {
        const lab = labOf(file);
        const text = rebuild(apply(lab.front, m), lab.body);
        const context = `mutation ${m.kind} at ${pathText(m.path)} of ${lab.file}: ${JSON.stringify(m).slice(0, 300)}`;
        const result = expectSound(lab.file, text);
        const at = pathText(m.path);
        if (m.kind === "wrong-type" || (m.kind === "drop" && REQUIRED.some((re) => re.test(at)))) {
          expect(result.error, `accepted ${m.kind === "drop" ? "without" : "a wrong type at"} ${at}\n${context}`).toBeDefined();
        }
        if (m.kind === "unknown-field") {
          expect(result.error, `accepted an unknown field\n${context}`).toBeDefined();
          const parent = pathText(m.path);
          const named = result.error!.problems.some(
            ({ field, message }) => (field === parent || (parent !== "" && names(result.error!, m.path))) && (message.includes(m.key) || UNION_FIELDS.test(field)),
          );
          expect(named, `the error does not say which field is unknown, and where\n${result.error!.message}\n${context}`).toBe(true);
        } else if (result.error) {
          expect(names(result.error, m.path), `the error does not name ${at}\n${result.error.message}\n${context}`).toBe(true);
        }
      }),
      runs(700),
    );
  });

  test("the text itself cut, shuffled, doubled and spliced, several changes at once, mixed with mutated fields", () => {
    fc.assert(
      fc.property(
        realLab.chain((file) => fc.tuple(fc.constant(file), fc.array(mutation(labOf(file).front), { maxLength: 2 }), fc.array(textMutation, { minLength: 1, maxLength: 3 }))),
        ([file, fields, edits]) => {
          const lab = labOf(file);
          let front = lab.front;
          for (const m of fields) {
            // A later path may be gone after an earlier drop: then that mutation is skipped.
            try {
              front = apply(front, m);
            } catch {
              continue;
            }
          }
          const text = edits.reduce((t, edit) => edit(t), rebuild(front, lab.body));
          expectSound(lab.file, text);
        },
      ),
      runs(500),
    );
  });
});

/**
 * A worker that parses with the built parseLab (dist/, which the test run's global setup builds),
 * so a parse that never ends is reported at a deadline instead of blocking this process.
 */
class ParseWorker {
  #worker: Worker | null = null;
  readonly #url = pathToFileURL(join(packageRoot(), "dist", "node", "web", "src", "isomorphic", "lab", "labFile.js")).href;

  #start(): Worker {
    const code = `
      const { parentPort, workerData } = require("node:worker_threads");
      const ready = import(workerData.url);
      parentPort.on("message", async ({ file, text }) => {
        const { parseLab, LabFormatError } = await ready;
        try {
          parseLab(file, text);
          parentPort.postMessage({ kind: "lab" });
        } catch (error) {
          parentPort.postMessage({ kind: error instanceof LabFormatError ? "format-error" : "other", message: String(error && error.message) });
        }
      });`;
    return new Worker(code, { eval: true, workerData: { url: this.#url } });
  }

  async parse(file: string, text: string, deadlineMs: number): Promise<{ kind: "lab" | "format-error" | "other" | "no answer"; message?: string }> {
    const worker = (this.#worker ??= this.#start());
    let timer: NodeJS.Timeout | undefined;
    try {
      const answer = await Promise.race([
        new Promise<{ kind: "lab" | "format-error" | "other"; message?: string }>((resolve, reject) => {
          worker.once("message", resolve);
          worker.once("error", reject);
          worker.postMessage({ file, text });
        }),
        new Promise<{ kind: "no answer" }>((resolve) => (timer = setTimeout(() => resolve({ kind: "no answer" }), deadlineMs))),
      ]);
      if (answer.kind === "no answer") {
        // Not awaited: a worker stuck in one regular expression may take long to stop.
        void worker.terminate();
        this.#worker = null;
      }
      return answer;
    } finally {
      clearTimeout(timer);
      worker.removeAllListeners("message");
      worker.removeAllListeners("error");
    }
  }

  async stop(): Promise<void> {
    await this.#worker?.terminate();
    this.#worker = null;
  }
}

describe("big lab files: parsed in time, whatever they hold", () => {
  const worker = new ParseWorker();
  afterAll(() => worker.stop());
  /** Far beyond what parsing a lab takes (milliseconds): only a parse that effectively never ends misses it. */
  const DEADLINE_MS = 10_000;

  test("a real lab with one text field (a question, an explanation, a condition) grown to hundreds of KB", async () => {
    const strings = REAL.flatMap(({ file, front }) => nodesOf(front).filter((n) => typeof n.value === "string").map(({ path }) => ({ file, path })));
    // The explanation language (explain.ts) is parsed by hand: its fields are fuzzed most.
    const explained = strings.filter((s) => s.path.includes("explain"));
    const conditions = explained.filter((s) => s.path.at(-1) === "when");
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constantFrom(...conditions), fc.constantFrom(...explained), fc.constantFrom(...strings)),
        fc.oneof(fc.constantFrom(" ", "\t", "\n", " \t"), fc.constantFrom("a", "1", "=", "<", " and ", "{", "}", "{{", "{answer} ", " during ", "ms", "😀")),
        fc.integer({ min: 50_000, max: 250_000 }),
        async ({ file, path }, piece, size) => {
          const lab = labOf(file);
          const value = getAt(lab.front, path);
          const front = clone(lab.front);
          const grown = `${String(value)}${piece.repeat(Math.ceil(size / piece.length))}b`;
          setAt(front, path, grown);
          const answer = await worker.parse(lab.file, rebuild(front, lab.body), DEADLINE_MS);
          const context = `${pathText(path)} of ${lab.file} set to ${JSON.stringify(piece)} × ${Math.ceil(size / piece.length)}`;
          expect(answer.kind, `no answer within ${DEADLINE_MS / 1000} s\n${context}`).not.toBe("no answer");
          expect(answer.kind, `${answer.message}\n${context}`).not.toBe("other");
        },
      ),
      // No shrinking: every shrink of a parse that never ends would wait out the deadline again.
      { ...runs(20), endOnFailure: true },
    );
  }, 120_000);
});

// ---- the server's lab routes ----

describe("the lab routes, with broken files in the labs folder", () => {
  let server: Wirelab;
  let token: string;
  const labs = tempDir();
  const good = REAL.map(({ file }) => labIdOf(file));
  /** Files that are no lab, each as the folder holds it. */
  const BROKEN: Record<string, string | Buffer | "directory" | "dangling link"> = {
    "10-broken-yaml.md": "---\ntitle: [unclosed\n---\n",
    "11-unknown-field.md": REAL[0]!.text.replace(/^---\n/, "---\ncolour: red\n"),
    "12-no-front-matter.md": "# just text\n",
    "13-empty.md": "",
    "14-not-utf8.md": Buffer.from([0x2d, 0x2d, 0x2d, 0x0a, 0xff, 0xfe, 0xc3, 0x28, 0x0a, 0x2d, 0x2d, 0x2d, 0x0a]),
    "15-a-directory.md": "directory",
    "16-dangling.md": "dangling link",
    "17-deep.md": `---\ntitle: ${"[".repeat(5_000)}${"]".repeat(5_000)}\n---\n`,
    "Bad Name.md": REAL[0]!.text,
  };
  const brokenIds = Object.keys(BROKEN).map(labIdOf);
  const FUZZED = "20-fuzzed";
  /** encodeURIComponent cannot spell half a surrogate pair (and no client can send one). */
  const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

  beforeAll(async () => {
    for (const { file, text } of REAL) writeFileSync(join(labs.dir, file.replace(/^labs\//, "")), text);
    for (const [name, content] of Object.entries(BROKEN)) {
      if (content === "directory") mkdirSync(join(labs.dir, name));
      else if (content === "dangling link") symlinkSync(join(labs.dir, "nowhere.md"), join(labs.dir, name));
      else writeFileSync(join(labs.dir, name), content);
    }
    // The labs are read per request: the server starts whatever the folder holds.
    server = await startServer({ labsDir: labs.dir });
    token = (await session(server)).token;
  });
  afterAll(async () => {
    await server?.close();
    labs.cleanup();
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }) },
      ...(body !== undefined && { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, text, json: json as Record<string, unknown> & { error?: { code: string; message: string } } };
  };
  const assign = (lab: unknown) => call("PUT", "/class/assignment", { lab });

  test("the list serves every good lab and names every broken file with its problem", async () => {
    const listing = await call("GET", "/labs");
    expect(listing.status, listing.text).toBe(200);
    const { labs: listed, errors } = listing.json as unknown as { labs: Array<{ id: string }>; errors: Array<{ file: string; message: string }> };
    expect(listed.map((l) => l.id)).toEqual(good);
    expect(errors.map((e) => e.file).sort()).toEqual(Object.keys(BROKEN).map((name) => `labs/${name}`).sort());
    for (const { file, message } of errors) expect(message.length, file).toBeGreaterThan(0);
  });

  test("each lab by id: a good one 200, a broken one 422 naming its file, an unknown one 404; assigning it likewise", async () => {
    for (const id of good) {
      expect((await call("GET", `/labs/${id}`)).status, id).toBe(200);
      expect((await assign(id)).status, id).toBe(200);
    }
    for (const [name, id] of Object.keys(BROKEN).map((name) => [name, labIdOf(name)] as const)) {
      for (const answer of [await call("GET", `/labs/${encodeURIComponent(id)}`), await assign(id)]) {
        expect(answer.status, `${name}: ${answer.text}`).toBe(422);
        expect(answer.json.error?.code, answer.text).toBe("invalid_body");
        expect(answer.json.error?.message.startsWith(`labs/${name}: `), answer.text).toBe(true);
      }
    }
    for (const id of ["99-none", "README", "readme", "nowhere"]) {
      expect((await call("GET", `/labs/${id}`)).status, id).toBe(404);
      expect((await assign(id)).status, id).toBe(404);
    }
    expect((await assign(null)).status).toBe(200);
    expect((await call("GET", "/class")).status).toBe(200);
  });

  test("fuzzed ids: 200 for a lab, 422 for a broken one, 404 for none, 400 for what is no id; never a 5xx", async () => {
    const id = fc.oneof(
      fc.constantFrom(...good, ...brokenIds, FUZZED, "01-polling-tax.md", "../labs/01-polling-tax", "01-POLLING-TAX", " 01-polling-tax", "01-polling-tax ", "a".repeat(64), "a".repeat(65), "\u0000", "%", "."),
      fc.string({ maxLength: 70 }),
      fc.string({ unit: "grapheme", maxLength: 20 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 4, arbitrary: id }, { weight: 1, arbitrary: wrongValue }), fc.boolean(), async (lab, viaGet) => {
        const known = typeof lab === "string" && good.includes(lab);
        const broken = typeof lab === "string" && brokenIds.includes(lab);
        if (viaGet) {
          // An id the path cannot hold as one segment ("", ".", "..") is another route, or none.
          fc.pre(typeof lab === "string" && lab !== "" && lab !== "." && lab !== ".." && !LONE_SURROGATE.test(lab));
          const answer = await call("GET", `/labs/${encodeURIComponent(lab as string)}`);
          expect(answer.status, `GET ${JSON.stringify(lab)}: ${answer.text}`).toBe(known ? 200 : broken ? 422 : 404);
        } else {
          const answer = await assign(lab);
          const valid = AssignmentRequestSchema.safeParse({ lab }).success;
          const status = !valid ? 400 : lab === null || known ? 200 : broken ? 422 : 404;
          expect(answer.status, `PUT ${JSON.stringify(lab)}: ${answer.text}`).toBe(status);
          if (status >= 400) expect(answer.json.error?.code, answer.text).toBe(status === 404 ? "not_found" : "invalid_body");
        }
      }),
      runs(200),
    );
  });

  test("a mutated lab file in the folder: served when parseLab takes it, 422 with parseLab's own message when not; never a 5xx", async () => {
    const path = join(labs.dir, `${FUZZED}.md`);
    await fc.assert(
      fc.asyncProperty(realLab.chain((file) => fc.tuple(fc.constant(file), fc.option(mutation(labOf(file).front), { nil: undefined }), fc.array(textMutation, { maxLength: 2 }))), async ([file, m, edits]) => {
        const lab = labOf(file);
        const text = edits.reduce((t, edit) => edit(t), rebuild(m ? apply(lab.front, m) : lab.front, lab.body));
        writeFileSync(path, text);
        const parsed = outcome(`labs/${FUZZED}.md`, text);
        const context = JSON.stringify(text.slice(0, 800));
        const [one, assigned, listing] = [await call("GET", `/labs/${FUZZED}`), await assign(FUZZED), await call("GET", "/labs")];
        if (parsed.lab) {
          expect(one.status, `${one.text}\n${context}`).toBe(200);
          expect(one.json, context).toEqual(JSON.parse(JSON.stringify(parsed.lab)));
          expect(assigned.status, `${assigned.text}\n${context}`).toBe(200);
          expect((listing.json.labs as Array<{ id: string }>).map((l) => l.id), context).toContain(FUZZED);
        } else {
          for (const answer of [one, assigned]) {
            expect(answer.status, `${answer.text}\n${context}`).toBe(422);
            expect(answer.json.error, context).toEqual({ code: "invalid_body", message: parsed.error.message });
          }
          expect(listing.json.errors, context).toContainEqual({ file: `labs/${FUZZED}.md`, message: parsed.error.message });
        }
        // The other labs are served all the while.
        expect((listing.json.labs as Array<{ id: string }>).map((l) => l.id).filter((id) => id !== FUZZED), context).toEqual(good);
      }),
      runs(80),
    );
  });
});

/** Inputs this suite found, each a bug fixed in the parser or the server. */
describe("found by fuzzing (regressions)", () => {
  const lab02 = () => labOf("labs/02-latency-and-bursts.md");
  const WHEN: Path = ["checkpoints", 1, "explain", 0, "when"];
  const withField = (file: string, path: Path, value: unknown) => {
    const lab = labOf(file);
    const front = clone(lab.front);
    setAt(front, path, value);
    return rebuild(front, lab.body);
  };

  test("a condition with a long run of whitespace is parsed at once, not in quadratic time (which froze the server on every lab request)", async () => {
    // Was: /\s+and\s+/ and /^(.*?)\s*(op)\s*(.*)$/ backtracked over the run: 250,000 tabs took over a minute.
    const worker = new ParseWorker();
    try {
      for (const when of [`{answer} = sse${"\t".repeat(250_000)}b`, `{answer}${" ".repeat(200_000)}x`]) {
        const answer = await worker.parse(lab02().file, withField(lab02().file, WHEN, when), 10_000);
        expect(answer.kind, `no answer within 10 s for ${JSON.stringify(when.slice(0, 20))}…`).toBe("format-error");
        expect(answer.message).toContain("checkpoints[1].explain[0].when");
      }
    } finally {
      await worker.stop();
    }
    // And a run of whitespace around the operators and "and" still reads as before.
    const spaced = outcome(lab02().file, withField(lab02().file, WHEN, `{answer}${" ".repeat(50)}=\t\tlong-poll   and\n{clients}   >   1`));
    expect(spaced.error?.message).toBeUndefined();
  }, 60_000);

  test("a duration past what a timer can wait is refused, naming the field (was: 400 nines of seconds became Infinity ms, 40000m a 1 ms idle)", () => {
    const file = "labs/01-polling-tax.md";
    for (const [path, value] of [
      [["scenario", "phases", 1, "send", "for"], `${"9".repeat(400)}s`],
      [["scenario", "phases", 0, "idle"], "40000m"],
      [["scenario", "settle"], 2 ** 31],
      [["scenario", "pollInterval"], "2147483648ms"],
    ] as Array<[Path, unknown]>) {
      const { error } = outcome(file, withField(file, path, value));
      expect(error, `${pathText(path)} = ${String(value).slice(0, 20)}`).toBeInstanceOf(LabFormatError);
      expect(error!.message).toContain(`${pathText(path)}: must be a duration`);
    }
    // The longest a timer waits is still a duration.
    expect(outcome(file, withField(file, ["scenario", "settle"], "2147483647ms")).lab?.scenario.settleMs).toBe(2 ** 31 - 1);
  });

  test("a phase name that is not text is refused, naming it (was: dropped silently, so no checkpoint could find the phase)", () => {
    const file = "labs/04-heartbeats-and-zombies.md";
    for (const name of [null, 3, true, ["a"], { a: 1 }]) {
      const { error } = outcome(file, withField(file, ["scenario", "phases", 1, "name"], name));
      expect(error, JSON.stringify(name)).toBeInstanceOf(LabFormatError);
      expect(error!.message).toContain("scenario.phases[1].name: must be text");
    }
  });

  test("a lab file the server cannot read (a directory, a dangling link) is a broken lab, 422 naming it, not a 500", async () => {
    const dir = tempDir();
    mkdirSync(join(dir.dir, "01-a-directory.md"));
    symlinkSync(join(dir.dir, "nowhere.md"), join(dir.dir, "02-dangling.md"));
    writeFileSync(join(dir.dir, "03-good.md"), REAL[0]!.text);
    const server = await startServer({ labsDir: dir.dir });
    try {
      const { token } = await session(server);
      const ask = (method: string, path: string, body?: unknown) =>
        fetch(`${server.url}/v1${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          ...(body !== undefined && { body: JSON.stringify(body) }),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: { code: string; message: string } } }));
      for (const name of ["01-a-directory.md", "02-dangling.md"]) {
        for (const answer of [await ask("GET", `/labs/${labIdOf(name)}`), await ask("PUT", "/class/assignment", { lab: labIdOf(name) })]) {
          expect(answer.status, JSON.stringify(answer.body)).toBe(422);
          expect(answer.body.error?.code).toBe("invalid_body");
          expect(answer.body.error?.message).toMatch(new RegExp(`^labs/${name}: cannot be read as a file \\((EISDIR|ENOENT)\\)$`));
        }
      }
      expect((await ask("GET", "/labs/03-good")).status).toBe(200);
    } finally {
      await server.close();
      dir.cleanup();
    }
  });
});
