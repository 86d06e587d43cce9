/**
 * Reading a lab file: Markdown (`labs/NN-slug.md`) whose YAML front matter declares the scenario,
 * what to measure and the checkpoints. Isomorphic (the server lists labs, the dashboard and the
 * CLI run them); every error names the file, the field and the fix.
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { FAULT_LIMITS, LIMITS, TRANSPORTS, type TransportName } from "../protocol/index.js";
import { DURATION_HINT, parseDuration } from "./duration.js";
import { PHASE_METRICS } from "../protocol/labResult.js";
import { METRICS } from "./metrics.js";
import { ExplainSyntaxError, parseCondition, parseTemplate, type ExplainContext, type ExplainVariant } from "./explain.js";
import { PHASE_KINDS, type Answer, type Checkpoint, type LabDefinition, type Phase, type PhaseKind, type Scenario } from "./LabDefinition.js";

/** A lab file that cannot be used: which file, which field, and what to write instead. */
export class LabFormatError extends Error {
  constructor(
    readonly file: string,
    readonly problems: Array<{ field: string; message: string }>,
  ) {
    super(`${file}: ${problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join("; ")}`);
    this.name = "LabFormatError";
  }
}

const transport = z.enum(TRANSPORTS, { error: `must be one of ${TRANSPORTS.join(", ")}` });
const duration = z.custom<string | number>((v) => parseDuration(v) !== null, { error: `must be ${DURATION_HINT}` });
const ms = (v: string | number) => parseDuration(v)!;
/** A duration within what the server takes for it (`why`), in the words a lab is written in. */
const durationWithin = (min: number, max: number, why: string) =>
  duration.transform(ms).pipe(z.number().min(min, `must be at least ${min}ms`).max(max, `must be at most ${max / 1000}s (${why})`));
const metric = z.enum(METRICS, { error: `must be one of ${METRICS.join(", ")}` });

const phaseSchemas = {
  idle: duration.transform(ms),
  settle: duration.transform(ms),
  send: z.strictObject({
    rate: z.number({ error: "must be a number of messages per second" }).positive("must be > 0").max(1000, "must be at most 1000"),
    for: duration.transform(ms),
    via: transport.optional(),
  }),
  burst: z.union([z.int().min(1).max(10_000), z.strictObject({ count: z.int().min(1).max(10_000), via: transport.optional() })], {
    error: "must be a number of messages (1–10,000) or { count, via }",
  }),
  drop: z.union([transport, z.literal("all")], { error: `must be "all" or one of ${TRANSPORTS.join(", ")}` }),
  restart: z.union([z.literal(true), z.strictObject({ downtime: durationWithin(0, FAULT_LIMITS.restartDowntimeMaxMs, "the longest restart the server does").optional() })], {
    error: 'must be true or { downtime: "1s" }',
  }),
  kill: z.literal("busiest", { error: 'must be "busiest": the instance serving the most of the lab\'s clients' }),
  network: z.union([z.string(), z.looseObject({ transport: transport.optional() })], { error: "must be a preset name or conditions" }),
  blackhole: z.strictObject({ for: duration.transform(ms), transport: transport.optional() }),
  refuse: durationWithin(1, FAULT_LIMITS.refuseMaxMs, "the longest the server refuses connections"),
  stall: durationWithin(1, FAULT_LIMITS.stallMaxMs, "the longest the server stalls"),
  jitter: z.boolean({ error: "must be true or false" }),
} satisfies Record<PhaseKind, z.ZodType>;

function toPhase(kind: PhaseKind, value: unknown, name: string): Phase {
  const v = value as never;
  switch (kind) {
    case "idle":
    case "settle":
    case "refuse":
    case "stall":
      return { kind, name, ms: v };
    case "send": {
      const s = v as { rate: number; for: number; via?: TransportName };
      return { kind, name, rate: s.rate, ms: s.for, ...(s.via && { via: s.via }) };
    }
    case "burst": {
      const b = typeof v === "number" ? { count: v as number } : (v as { count: number; via?: TransportName });
      return { kind, name, count: b.count, ...(b.via && { via: b.via }) };
    }
    case "drop":
      return { kind, name, transport: v };
    case "restart": {
      const r = v as true | { downtime?: number };
      return { kind, name, downtimeMs: r === true ? 1_000 : (r.downtime ?? 1_000) };
    }
    case "network": {
      if (typeof v === "string") return { kind, name, conditions: v };
      const { transport: t, ...conditions } = v as { transport?: TransportName };
      return { kind, name, conditions, ...(t && { transport: t }) };
    }
    case "blackhole": {
      const b = v as { for: number; transport?: TransportName };
      return { kind, name, ms: b.for, ...(b.transport && { transport: b.transport }) };
    }
    case "jitter":
      return { kind, name, on: v };
    case "kill":
      return { kind, name };
  }
}

const phaseName = z.string().min(1, "must name a phase").optional();
const answerSchema = z.union(
  [
    z.strictObject({ most: metric, phase: phaseName }).transform(({ most, phase }) => ({ kind: "most" as const, metric: most, ...(phase && { phase }) })),
    z.strictObject({ least: metric, phase: phaseName }).transform(({ least, phase }) => ({ kind: "least" as const, metric: least, ...(phase && { phase }) })),
    z.strictObject({ total: metric, phase: phaseName }).transform(({ total, phase }) => ({ kind: "total" as const, metric: total, ...(phase && { phase }) })),
    z
      .strictObject({ value: metric, transport, phase: phaseName })
      .transform(({ value, transport: t, phase }) => ({ kind: "value" as const, metric: value, transport: t, ...(phase && { phase }) })),
  ],
  { error: "must be one of { most: METRIC }, { least: METRIC }, { total: METRIC }, { value: METRIC, transport: NAME }, each with an optional phase: NAME" },
);

const frontMatterSchema = z.strictObject({
  title: z.string({ error: "must be text" }).min(1, "must not be empty"),
  summary: z.string({ error: "must be text" }).min(1, "must not be empty"),
  browserOnly: z.boolean().default(false),
  scenario: z.strictObject({
    transports: z.array(transport).min(1, "must name at least one transport").default([...TRANSPORTS]),
    clients: z.int("must be a whole number").min(1, "must be at least 1").max(1000, "must be at most 1000").default(2),
    messageBytes: z.int("must be a whole number").min(1).max(2000, "must be at most 2000 (the text limit)").default(100),
    pollInterval: duration.transform(ms).default(2_000),
    longPollWait: durationWithin(0, LIMITS.waitMaxMs, "the longest the server holds a long poll").default(25_000),
    requestTimeout: duration.transform(ms).default(10_000),
    backoff: z
      .strictObject({ base: duration.transform(ms).default(500), cap: duration.transform(ms).default(30_000), jitter: z.boolean().default(true) })
      .default({ base: 500, cap: 30_000, jitter: true }),
    network: z.unknown().optional(),
    instances: z.int("must be a whole number").min(1, "must be at least 1").max(8, "must be at most 8").default(1),
    settle: duration.transform(ms).default(5_000),
    phases: z.array(z.unknown(), { error: "must be a list of phases" }).min(1, "must list at least one phase"),
  }),
  measure: z.array(metric).default([...METRICS]),
  checkpoints: z
    .array(
      z.strictObject({
        id: z.string().regex(/^[a-z0-9-]+$/, "must be lower-case letters, digits and '-'").optional(),
        question: z.string().min(1, "must not be empty"),
        answer: answerSchema,
        expect: z.union([z.string(), z.number()]).optional(),
        tolerance: z.number().min(0).max(10).default(0.25),
        explain: z
          .union([z.string(), z.array(z.strictObject({ when: z.string().min(1, "must not be empty").optional(), text: z.string().min(1, "must not be empty") })).min(1)], {
            error: 'must be text, or a list of { when: CONDITION, text: TEXT } ending with one { text: TEXT } (shown when no condition holds)',
          })
          .optional(),
      }),
    )
    .default([]),
});

const FRONT_MATTER = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/;

/** The lab id of a file name: "labs/03-reconnect.md" → "03-reconnect". */
export function labIdOf(file: string): string {
  return file.replace(/^.*[\\/]/, "").replace(/\.md$/, "");
}

const LAB_ID = /^\d{2}-[a-z0-9-]+$/;

export function parseLab(file: string, text: string): LabDefinition {
  const id = labIdOf(file);
  const problems: Array<{ field: string; message: string }> = [];
  if (!LAB_ID.test(id)) problems.push({ field: "", message: `the file name must look like "NN-slug.md" (two digits, a dash, lower-case words), got "${id}.md"` });
  const match = FRONT_MATTER.exec(text);
  if (!match) throw new LabFormatError(file, [...problems, { field: "", message: "start the file with YAML front matter between two '---' lines" }]);
  let raw: unknown;
  try {
    raw = parseYaml(match[1]!);
  } catch (error) {
    throw new LabFormatError(file, [...problems, { field: "front matter", message: `is not valid YAML: ${(error as Error).message.split("\n")[0]}` }]);
  }
  const parsed = frontMatterSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
      const message =
        issue.code === "unrecognized_keys" ? `${issue.keys.join(", ")} ${issue.keys.length > 1 ? "are not known fields" : "is not a known field"}` : issue.message;
      problems.push({ field, message });
    }
    throw new LabFormatError(file, problems);
  }
  const fm = parsed.data;
  const phases: Phase[] = [];
  fm.scenario.phases.forEach((value, index) => {
    const field = `scenario.phases[${index}]`;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      problems.push({ field, message: `must be an object with one of ${PHASE_KINDS.join(", ")}, e.g. { idle: "5s" }` });
      return;
    }
    const { name, ...rest } = value as Record<string, unknown>;
    // A name that is not text was dropped silently, and a checkpoint naming that phase then found none.
    if (name !== undefined && typeof name !== "string") {
      problems.push({ field: `${field}.name`, message: "must be text: the name checkpoints and explanations refer to the phase by" });
      return;
    }
    const kinds = Object.keys(rest);
    const unknown = kinds.filter((k) => !(PHASE_KINDS as readonly string[]).includes(k));
    if (unknown.length > 0 || kinds.length !== 1) {
      const what = unknown.length ? `unknown phase "${unknown[0]}"` : kinds.length ? `one phase per step, got ${kinds.join(" and ")}` : "no phase given";
      problems.push({ field, message: `${what}; use exactly one of ${PHASE_KINDS.join(", ")}` });
      return;
    }
    const kind = kinds[0] as PhaseKind;
    const result = phaseSchemas[kind].safeParse(rest[kind]);
    if (!result.success) {
      for (const issue of result.error.issues) {
        problems.push({ field: [`${field}.${kind}`, ...issue.path.map(String)].join("."), message: issue.message });
      }
      return;
    }
    phases.push(toPhase(kind, result.data, typeof name === "string" ? name : defaultPhaseName(kind, rest[kind])));
  });
  fm.checkpoints.forEach((c, index) => {
    const field = `checkpoints[${index}].answer.phase`;
    if (!c.answer.phase) return;
    if (!phases.some((p) => p.name === c.answer.phase)) {
      problems.push({ field, message: `no phase is named "${c.answer.phase}"; name one with name: in scenario.phases` });
    } else if (!(PHASE_METRICS as readonly string[]).includes(c.answer.metric)) {
      problems.push({ field, message: `a per-phase answer can read ${PHASE_METRICS.join(", ")}, not ${c.answer.metric}` });
    }
  });
  const context: ExplainContext = { transports: fm.scenario.transports, phases: phases.map((p) => p.name) };
  const explanations = fm.checkpoints.map((c, index) => (c.explain === undefined ? undefined : parseExplain(c.explain, `checkpoints[${index}].explain`, context, problems)));
  for (const phase of phases) {
    if (phase.kind === "kill" && fm.scenario.instances < 2) {
      problems.push({ field: "scenario.instances", message: "a kill phase needs at least 2 instances, or nobody is left to fail over to" });
    }
    if ("via" in phase && phase.via && !fm.scenario.transports.includes(phase.via)) {
      problems.push({ field: "scenario.phases", message: `a phase sends via ${phase.via}, which is not in scenario.transports` });
    }
  }
  if (problems.length > 0) throw new LabFormatError(file, problems);

  const s = fm.scenario;
  return {
    id,
    title: fm.title,
    summary: fm.summary,
    browserOnly: fm.browserOnly,
    scenario: {
      transports: s.transports,
      clients: s.clients,
      messageBytes: s.messageBytes,
      pollIntervalMs: s.pollInterval,
      longPollWaitMs: s.longPollWait,
      requestTimeoutMs: s.requestTimeout,
      backoff: { baseMs: s.backoff.base, capMs: s.backoff.cap, jitter: s.backoff.jitter },
      ...(s.network !== undefined && { network: s.network }),
      instances: s.instances,
      phases,
      settleMs: s.settle,
    },
    measure: fm.measure,
    checkpoints: fm.checkpoints.map((c, i) => ({
      id: c.id ?? `q${i + 1}`,
      question: c.question,
      answer: c.answer,
      tolerance: c.tolerance,
      ...(c.expect !== undefined && { expect: c.expect }),
      ...(explanations[i] && { explain: explanations[i] }),
    })),
    body: match[2]!.trim(),
  };
}

/** An explanation as written (text, or variants) into variants; every mistake goes to `problems`. */
function parseExplain(
  written: string | Array<{ when?: string | undefined; text: string }>,
  field: string,
  context: ExplainContext,
  problems: Array<{ field: string; message: string }>,
): ExplainVariant[] | undefined {
  const list = typeof written === "string" ? [{ text: written }] : written;
  const variants: ExplainVariant[] = [];
  list.forEach((v, j) => {
    const at = typeof written === "string" ? field : `${field}[${j}]`;
    const last = j === list.length - 1;
    if (last && v.when !== undefined) {
      problems.push({ field: `${at}.when`, message: "the last variant must have no when: it is what is shown when no condition holds" });
    } else if (!last && v.when === undefined) {
      problems.push({ field: `${at}.when`, message: "only the last variant may leave out when (the ones after it would never be shown)" });
    }
    const when = v.when === undefined ? [] : explainPart(() => parseCondition(v.when!, context, METRICS), `${at}.when`, problems);
    const text = explainPart(() => parseTemplate(v.text, context, METRICS), typeof written === "string" ? at : `${at}.text`, problems);
    if (when && text) variants.push({ when, ...(v.when !== undefined && { whenText: v.when }), text });
  });
  return variants.length === list.length ? variants : undefined;
}

function explainPart<T>(parse: () => T, field: string, problems: Array<{ field: string; message: string }>): T | undefined {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof ExplainSyntaxError)) throw error;
    problems.push({ field, message: error.message });
    return undefined;
  }
}

function defaultPhaseName(kind: PhaseKind, value: unknown): string {
  const detail = typeof value === "string" || typeof value === "number" ? ` ${value}` : "";
  return `${kind}${detail}`;
}

