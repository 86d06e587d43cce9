/**
 * A lab's finished run and the learner's answers, kept in the tab's session storage (one entry
 * per lab id), so that they survive going to the Workbench and back and a reload. DOM-free: it
 * is handed a Storage (the browser's sessionStorage, or a Map-backed one in tests).
 *
 * What is read back is never trusted: an entry of another format, of another lab, of an earlier
 * version of this lab file, or that does not look like a result is ignored (and removed).
 */
import type { LabDefinition, LabResult } from "../isomorphic/lab/index.js";
import { TRANSPORTS } from "../isomorphic/protocol/index.js";

/** The part of the Web Storage API used here. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface SavedLab {
  result: LabResult;
  /** What the learner answered, per checkpoint id (judged again when read back). */
  answers: Record<string, string>;
  clients: number;
  quick: boolean;
  ownPools: boolean;
  phaseStarts: Array<{ name: string; atMs: number }>;
}

/** Session storage holds about 5 MB per origin, for every lab: one lab keeps well below that. */
export const LAB_STORE_MAX_CHARS = 300_000;
const FORMAT = 1;
const PREFIX = "wirelab.lab.";

interface Entry extends SavedLab {
  format: typeof FORMAT;
  lab: string;
  /** What the saved answers and numbers depend on: a changed lab file drops them. */
  fingerprint: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

export class LabStore {
  readonly #storage: StorageLike | undefined;
  readonly #lab: LabDefinition;
  readonly #key: string;
  readonly #fingerprint: string;

  constructor(storage: StorageLike | undefined, lab: LabDefinition) {
    this.#storage = storage;
    this.#lab = lab;
    this.#key = PREFIX + lab.id;
    this.#fingerprint = JSON.stringify([lab.title, lab.scenario, lab.measure, lab.checkpoints.map((c) => [c.id, c.answer])]);
  }

  get key(): string {
    return this.#key;
  }

  /** The saved run, or null when there is none or it is not this lab's. */
  load(): SavedLab | null {
    let text: string | null;
    try {
      text = this.#storage?.getItem(this.#key) ?? null;
    } catch {
      return null; // storage disabled
    }
    if (text === null) return null;
    const entry = this.#parse(text);
    if (!entry) this.clear();
    return entry;
  }

  /** Keep the run; the timeline is thinned when the whole would be too big, and nothing is kept if it still is. */
  save(saved: SavedLab): void {
    if (!this.#storage) return;
    let result = saved.result;
    let text = this.#serialise({ ...saved, result });
    while (text.length > LAB_STORE_MAX_CHARS && result.timeline.length > 64) {
      result = { ...result, timeline: result.timeline.filter((_, i) => i % 2 === 0) };
      text = this.#serialise({ ...saved, result });
    }
    if (text.length > LAB_STORE_MAX_CHARS) return this.clear();
    try {
      this.#storage.setItem(this.#key, text);
    } catch {
      // Full (other labs, other pages of this origin) or disabled: better nothing than a stale run.
      this.clear();
    }
  }

  clear(): void {
    try {
      this.#storage?.removeItem(this.#key);
    } catch {
      // storage disabled: nothing to clear
    }
  }

  #serialise(saved: SavedLab): string {
    const entry: Entry = { format: FORMAT, lab: this.#lab.id, fingerprint: this.#fingerprint, ...saved };
    return JSON.stringify(entry);
  }

  #parse(text: string): SavedLab | null {
    let entry: unknown;
    try {
      entry = JSON.parse(text);
    } catch {
      return null;
    }
    if (!isObject(entry) || entry.format !== FORMAT || entry.lab !== this.#lab.id || entry.fingerprint !== this.#fingerprint) return null;
    const { result, answers, clients, quick, ownPools, phaseStarts } = entry;
    if (!this.#looksLikeResult(result)) return null;
    if (!isObject(answers) || !Object.values(answers).every((a) => typeof a === "string" && a.length <= 100)) return null;
    if (!isNumber(clients) || typeof quick !== "boolean" || typeof ownPools !== "boolean") return null;
    if (!Array.isArray(phaseStarts) || !phaseStarts.every((p) => isObject(p) && typeof p.name === "string" && isNumber(p.atMs))) return null;
    return { result, answers: answers as Record<string, string>, clients, quick, ownPools, phaseStarts: phaseStarts as SavedLab["phaseStarts"] };
  }

  /** The shape the result table, the charts and the checkpoints read; the rest of them cope with nulls. */
  #looksLikeResult(result: unknown): result is LabResult {
    if (!isObject(result) || result.format !== 1 || !isObject(result.lab) || result.lab.id !== this.#lab.id) return false;
    if (!isNumber(result.startedAt) || !isNumber(result.durationMs) || !isNumber(result.sent) || !isObject(result.parameters)) return false;
    const { transports, phases, timeline } = result;
    if (!Array.isArray(transports) || !Array.isArray(phases) || !Array.isArray(timeline)) return false;
    const transportOk = (t: unknown) =>
      isObject(t) && (TRANSPORTS as readonly unknown[]).includes(t.transport) && isNumber(t.delivered) && isNumber(t.requests) && isObject(t.latency) && isObject(t.reconnectMs);
    const phaseOk = (p: unknown) => isObject(p) && typeof p.name === "string" && isNumber(p.startMs) && isNumber(p.endMs) && isObject(p.transports);
    const sampleOk = (s: unknown) => isObject(s) && isNumber(s.t) && (TRANSPORTS as readonly unknown[]).includes(s.transport) && isNumber(s.delivered) && isNumber(s.requests);
    return transports.every(transportOk) && phases.every(phaseOk) && timeline.every(sampleOk);
  }
}
