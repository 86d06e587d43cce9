/**
 * Explanations that follow the numbers. A checkpoint's `explain` may name measured values in
 * braces ("{latency.p50 of short-poll} ms") and may be a list of variants, the first whose
 * `when` holds being shown; so a lab author says what this run measured, not what a run
 * usually measures. Parsed (and checked against the lab) when the lab file is read; rendered
 * here, without a DOM, for the CLI and the dashboard alike.
 */
import { TRANSPORTS, type TransportName } from "../protocol/index.js";
import type { Metric } from "./metrics.js";
import { PHASE_METRICS, metricValue, type LabResult, type PhaseMetric } from "./LabResult.js";

/** A measured value an explanation can name. */
export type ValueRef =
  /** The checkpoint's own computed answer. */
  | { kind: "answer" }
  /** Receiving clients per transport in this run, and the messages it sent. */
  | { kind: "clients" }
  | { kind: "sent" }
  | { kind: "value"; metric: Metric; transport: TransportName; phase?: string }
  /** The transport(s) with the most/least of a metric (ties: all of them); the sum over transports. */
  | { kind: "most" | "least" | "total"; metric: Metric; phase?: string };

export type Operand = { ref: ValueRef; factor: number } | { number: number } | { transport: TransportName } | { none: true };
export const OPERATORS = ["<=", ">=", "!=", "<", ">", "="] as const;
export type Operator = (typeof OPERATORS)[number];
export interface Comparison {
  left: Operand;
  op: Operator;
  right: Operand;
}

/** Literal text and references, in order. */
export type Template = Array<string | ValueRef>;

export interface ExplainVariant {
  /** All must hold (joined with "and" in the file); none: the fallback. */
  when: Comparison[];
  /** The source of `when`, for reports. */
  whenText?: string;
  text: Template;
}

/** What an explanation needs to know about its lab to check its references. */
export interface ExplainContext {
  transports: readonly TransportName[];
  phases: readonly string[];
}

/** A mistake in an explanation, worded for the lab author; `at` is what was written. */
export class ExplainSyntaxError extends Error {}

export const REFERENCE_HINT =
  "write {answer}, {clients}, {sent}, {METRIC of TRANSPORT}, {most METRIC}, {least METRIC} or {total METRIC}, each but the first three with an optional \"during PHASE\"";

// ---- parsing ----

/** One reference, the text between braces: "latency.p50 of sse", "most requests during quiet room". */
export function parseReference(source: string, context: ExplainContext, metrics: readonly Metric[]): ValueRef {
  const text = source.trim().replace(/\s+/g, " ");
  if (text === "answer" || text === "clients" || text === "sent") return { kind: text };
  const [head, phase, ...more] = text.split(" during ");
  if (more.length > 0 || phase === "") throw new ExplainSyntaxError(`{${source}}: ${REFERENCE_HINT}`);
  if (phase !== undefined && !context.phases.includes(phase)) {
    throw new ExplainSyntaxError(`{${source}}: no phase is named "${phase}"; name one with name: in scenario.phases`);
  }
  const words = head!.split(" ");
  let ref: ValueRef;
  if (words.length === 2 && (words[0] === "most" || words[0] === "least" || words[0] === "total")) {
    ref = { kind: words[0], metric: checkMetric(words[1]!, source, metrics) };
  } else if (words.length === 3 && words[1] === "of") {
    const transport = words[2] as TransportName;
    if (!(TRANSPORTS as readonly string[]).includes(transport)) {
      throw new ExplainSyntaxError(`{${source}}: "${transport}" is not a transport; use one of ${TRANSPORTS.join(", ")}`);
    }
    if (!context.transports.includes(transport)) {
      throw new ExplainSyntaxError(`{${source}}: ${transport} is not in scenario.transports, so the run never measures it`);
    }
    ref = { kind: "value", metric: checkMetric(words[0]!, source, metrics), transport };
  } else {
    throw new ExplainSyntaxError(`{${source}}: ${REFERENCE_HINT}`);
  }
  if (phase !== undefined) {
    if (!(PHASE_METRICS as readonly string[]).includes(ref.metric)) {
      throw new ExplainSyntaxError(`{${source}}: a per-phase value can be ${PHASE_METRICS.join(", ")}, not ${ref.metric}`);
    }
    ref.phase = phase;
  }
  return ref;
}

function checkMetric(word: string, source: string, metrics: readonly Metric[]): Metric {
  if (!(metrics as readonly string[]).includes(word)) throw new ExplainSyntaxError(`{${source}}: "${word}" is not a metric; use one of ${metrics.join(", ")}`);
  return word as Metric;
}

/**
 * Text with references in braces; "{{" and "}}" are a literal brace. A brace that is not closed
 * (or not opened) is a mistake, not text.
 */
export function parseTemplate(source: string, context: ExplainContext, metrics: readonly Metric[]): Template {
  const parts: Template = [];
  let literal = "";
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if ((c === "{" || c === "}") && source[i + 1] === c) {
      literal += c;
      i += 2;
    } else if (c === "}") {
      throw new ExplainSyntaxError(`a "}" without its "{" in "${excerpt(source, i)}" (write "}}" for a brace)`);
    } else if (c === "{") {
      const close = source.indexOf("}", i);
      const reopen = source.indexOf("{", i + 1);
      if (close === -1 || (reopen !== -1 && reopen < close)) throw new ExplainSyntaxError(`a "{" without its "}" in "${excerpt(source, i)}" (write "{{" for a brace)`);
      if (literal) parts.push(literal);
      literal = "";
      parts.push(parseReference(source.slice(i + 1, close), context, metrics));
      i = close + 1;
    } else {
      literal += c;
      i += 1;
    }
  }
  if (literal) parts.push(literal);
  return parts;
}

function excerpt(text: string, at: number): string {
  return text.slice(Math.max(0, at - 20), at + 20).trim();
}

/**
 * A condition: comparisons joined with "and". Each side is a reference in braces (optionally
 * times a number: "2 * {x}"), a number, a transport name, or none (a value that was not measured).
 */
export function parseCondition(source: string, context: ExplainContext, metrics: readonly Metric[]): Comparison[] {
  // Linear on any text: /\s+and\s+/ and /^(.*?)\s*(op)\s*(.*)$/ backtrack quadratically over a long run of
  // whitespace, which froze the server (it reads the labs on every request). The same parts, found without.
  return source.split(/(?<=\s)and(?=\s)/).map((part) => {
    const text = part.trim();
    const op = /<=|>=|!=|<|>|=/.exec(text);
    const left = op ? text.slice(0, op.index).trimEnd() : "";
    const right = op ? text.slice(op.index + op[0].length).trimStart() : "";
    // As before, a side may not run over a line break.
    if (!op || !left || !right || /[\n\r\u2028\u2029]/.test(left + right)) {
      throw new ExplainSyntaxError(`"${text}" is not a comparison; write e.g. "{answer} = sse" or "{latency.p50 of sse} < 2 * {latency.p50 of websocket}" (operators: ${OPERATORS.join(" ")})`);
    }
    const comparison: Comparison = { left: parseOperand(left, context, metrics), op: op[0] as Operator, right: parseOperand(right, context, metrics) };
    const transportSide = [comparison.left, comparison.right].some((o) => "transport" in o);
    if (transportSide && comparison.op !== "=" && comparison.op !== "!=") {
      throw new ExplainSyntaxError(`"${part.trim()}": a transport can only be compared with = or !=`);
    }
    return comparison;
  });
}

function parseOperand(source: string, context: ExplainContext, metrics: readonly Metric[]): Operand {
  const text = source.trim();
  const ref = /^(?:(-?\d+(?:\.\d+)?)\s*\*\s*)?\{([^{}]*)\}$/.exec(text);
  if (ref) return { ref: parseReference(ref[2]!, context, metrics), factor: ref[1] === undefined ? 1 : Number(ref[1]) };
  if (/^-?\d+(?:\.\d+)?$/.test(text)) return { number: Number(text) };
  if (text === "none") return { none: true };
  if ((TRANSPORTS as readonly string[]).includes(text)) return { transport: text as TransportName };
  throw new ExplainSyntaxError(`"${text}" in a condition must be a {reference}, a number, a transport (${TRANSPORTS.join(", ")}) or none`);
}

// ---- rendering ----

/** What a reference measured: a number, transports (most/least), or null (not measured). */
export type Measured = number | TransportName[] | null;

/** The checkpoint's answer, for {answer}: as evaluateCheckpoint computed it. */
export interface AnswerValue {
  answer: TransportName | number | null;
  accepted: TransportName[];
}

export function measure(ref: ValueRef, result: LabResult, answer: AnswerValue): Measured {
  switch (ref.kind) {
    case "answer":
      return answer.accepted.length > 0 ? answer.accepted : typeof answer.answer === "number" ? answer.answer : null;
    case "clients":
      return result.parameters.clients;
    case "sent":
      return result.sent;
    default: {
      const values = perTransport(ref.metric, ref.phase, result);
      if (ref.kind === "value") return values.get(ref.transport) ?? null;
      const measured = [...values].filter((e): e is [TransportName, number] => e[1] !== null);
      if (measured.length === 0) return null;
      if (ref.kind === "total") return measured.reduce((sum, [, v]) => sum + v, 0);
      const best = (ref.kind === "most" ? Math.max : Math.min)(...measured.map(([, v]) => v));
      return measured.filter(([, v]) => v === best).map(([t]) => t);
    }
  }
}

/** A metric per transport, for the whole run or within one phase (the same reading as the checkpoints'). */
export function perTransport(metric: Metric, phase: string | undefined, result: LabResult): Map<TransportName, number | null> {
  const record = phase === undefined ? undefined : result.phases.find((p) => p.name === phase);
  return new Map(
    result.transports.map((t) => [t.transport, phase === undefined ? metricValue(t, metric) : (record?.transports[t.transport]?.[metric as PhaseMetric] ?? null)]),
  );
}

/** How transports read in a sentence. */
export const TRANSPORT_WORDS: Record<TransportName, string> = {
  "short-poll": "short polling",
  "long-poll": "long polling",
  sse: "SSE",
  websocket: "the WebSocket",
};

/** A measured value in words: "1,024", "12", "3.5", "0.25"; transports joined with "and"; "not measured". */
export function formatMeasured(value: Measured): string {
  if (value === null) return "not measured";
  if (Array.isArray(value)) return value.map((t) => TRANSPORT_WORDS[t]).join(" and ");
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  if (Math.abs(value) < 1) return String(Number(value.toPrecision(2)));
  if (Math.abs(value) < 10) return value.toFixed(1);
  return Math.round(value).toLocaleString("en-US");
}

function holds(comparison: Comparison, result: LabResult, answer: AnswerValue): boolean {
  const left = operandValue(comparison.left, result, answer);
  const right = operandValue(comparison.right, result, answer);
  const { op } = comparison;
  // "none" is a value that was not measured: only = and != can ask about it.
  if (left === null || right === null) return op === "=" ? left === right : op === "!=" ? left !== right : false;
  if (Array.isArray(left) || Array.isArray(right)) {
    if (!Array.isArray(left) || !Array.isArray(right)) return false;
    // A tie counts as each of its transports: "{least x} = sse" holds when SSE shares the least.
    const shared = left.some((t) => right.includes(t));
    return op === "=" ? shared : op === "!=" ? !shared : false;
  }
  switch (op) {
    case "<":
      return left < right;
    case "<=":
      return left <= right;
    case ">":
      return left > right;
    case ">=":
      return left >= right;
    case "=":
      return left === right;
    case "!=":
      return left !== right;
  }
}

function operandValue(operand: Operand, result: LabResult, answer: AnswerValue): Measured {
  if ("number" in operand) return operand.number;
  if ("none" in operand) return null;
  if ("transport" in operand) return [operand.transport];
  const value = measure(operand.ref, result, answer);
  return typeof value === "number" ? value * operand.factor : value;
}

export interface RenderedExplanation {
  text: string;
  /** Which variant was shown (its index in the file's list; 0 for a single text). */
  variant: number;
  /** Every reference in the text with what it measured, in order. */
  values: Array<{ ref: ValueRef; value: Measured }>;
}

/** The first variant whose condition holds, with its references filled in from the result. */
export function renderExplanation(variants: readonly ExplainVariant[], result: LabResult, answer: AnswerValue): RenderedExplanation {
  const variant = variants.findIndex((v) => v.when.every((c) => holds(c, result, answer)));
  // The parser makes the last variant unconditional, so one always applies.
  const chosen = variants[variant === -1 ? variants.length - 1 : variant]!;
  const values: RenderedExplanation["values"] = [];
  let text = "";
  for (const part of chosen.text) {
    if (typeof part === "string") {
      text += part;
      continue;
    }
    const value = measure(part, result, answer);
    values.push({ ref: part, value });
    let words = formatMeasured(value);
    // A transport that starts a sentence starts with a capital: "The WebSocket", "Short polling".
    if (Array.isArray(value) && /(^|[.!?]\s+)$/.test(text)) words = words[0]!.toUpperCase() + words.slice(1);
    text += words;
  }
  return { text, variant: variant === -1 ? variants.length - 1 : variant, values };
}
