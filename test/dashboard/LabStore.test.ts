/** A lab's finished run and answers kept in the tab's storage: kept, bounded, and never trusted when read back. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { packageRoot } from "../../server/paths.js";
import { parseLab } from "../../web/src/isomorphic/lab/index.js";
import { LAB_STORE_MAX_CHARS, LabStore, type SavedLab, type StorageLike } from "../../web/src/viewmodels/LabStore.js";
import { pollingTaxResult } from "../labResults.js";

const lab = parseLab("labs/01-polling-tax.md", readFileSync(join(packageRoot(), "labs", "01-polling-tax.md"), "utf8"));
const KEY = "wirelab.lab.01-polling-tax";

function memoryStorage(): StorageLike & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
}

function saved(over: Partial<SavedLab> = {}): SavedLab {
  return { result: pollingTaxResult(), answers: { "quiet-requests": "short-poll" }, clients: 3, quick: true, ownPools: false, phaseStarts: [{ name: "quiet room", atMs: 0 }], ...over };
}

describe("LabStore", () => {
  test("keeps the run, the answers and the options under the lab's id, and reads them back", () => {
    const storage = memoryStorage();
    storage.map.set("wirelab.lab.02-latency-and-bursts", "another lab's");
    const store = new LabStore(storage, lab);
    expect(store.key).toBe(KEY);
    expect(store.load()).toBeNull();
    const run = saved();
    store.save(run);
    expect(new LabStore(storage, lab).load()).toEqual(run);
    store.clear();
    expect([...storage.map.keys()]).toEqual(["wirelab.lab.02-latency-and-bursts"]);
  });

  test("without storage nothing is kept and nothing is read", () => {
    const store = new LabStore(undefined, lab);
    store.save(saved());
    expect(store.load()).toBeNull();
  });

  test("bounded: a long timeline is thinned to fit; a run that cannot fit is not kept, nor the older one", () => {
    const storage = memoryStorage();
    const store = new LabStore(storage, lab);
    const sample = pollingTaxResult().timeline[0]!;
    const timeline = Array.from({ length: 20_000 }, (_, i) => ({ ...sample, t: i }));
    store.save(saved({ result: { ...pollingTaxResult(), timeline } }));
    expect(storage.map.get(KEY)!.length).toBeLessThanOrEqual(LAB_STORE_MAX_CHARS);
    const kept = store.load()!.result.timeline;
    expect(kept.length).toBeGreaterThan(1_000);
    expect(kept.length).toBeLessThan(20_000);
    expect(kept.at(-1)!.t).toBeGreaterThan(19_000);
    // Too big whatever the timeline: the earlier run goes too, rather than stay as if it were this one.
    const result = pollingTaxResult();
    store.save(saved({ result: { ...result, room: "x".repeat(LAB_STORE_MAX_CHARS) } }));
    expect(storage.map.has(KEY)).toBe(false);
  });

  test("a corrupt, foreign or outdated entry is ignored and removed", () => {
    const storage = memoryStorage();
    new LabStore(storage, lab).save(saved());
    const good = storage.map.get(KEY)!;
    const entry = JSON.parse(good);
    const bad = [
      "{not json",
      JSON.stringify(null),
      JSON.stringify([entry]),
      JSON.stringify({ ...entry, format: 2 }),
      JSON.stringify({ ...entry, lab: "02-latency-and-bursts" }),
      JSON.stringify({ ...entry, fingerprint: "an earlier version of the lab file" }),
      JSON.stringify({ ...entry, result: { ...entry.result, lab: { id: "02-latency-and-bursts", title: "Other" } } }),
      JSON.stringify({ ...entry, result: { ...entry.result, durationMs: "long" } }),
      JSON.stringify({ ...entry, result: { ...entry.result, transports: [{ transport: "carrier-pigeon" }] } }),
      JSON.stringify({ ...entry, result: { ...entry.result, timeline: [{ t: 1 }] } }),
      JSON.stringify({ ...entry, answers: { "quiet-requests": 3 } }),
      JSON.stringify({ ...entry, answers: { "quiet-requests": "x".repeat(101) } }),
      JSON.stringify({ ...entry, clients: "3" }),
      JSON.stringify({ ...entry, phaseStarts: "soon" }),
    ];
    for (const text of bad) {
      storage.map.set(KEY, text);
      expect(new LabStore(storage, lab).load(), text.slice(0, 80)).toBeNull();
      expect(storage.map.has(KEY)).toBe(false);
    }
    // The lab file changed since (a checkpoint fewer): the old answers no longer fit.
    storage.map.set(KEY, good);
    expect(new LabStore(storage, { ...lab, checkpoints: lab.checkpoints.slice(1) }).load()).toBeNull();
  });

  test("storage that throws (disabled, or full) is no storage", () => {
    const disabled: StorageLike = {
      getItem: () => {
        throw new Error("SecurityError");
      },
      setItem: () => {
        throw new Error("QuotaExceededError");
      },
      removeItem: () => {
        throw new Error("SecurityError");
      },
    };
    const store = new LabStore(disabled, lab);
    expect(store.load()).toBeNull();
    expect(() => store.save(saved())).not.toThrow();
    expect(() => store.clear()).not.toThrow();
    // Full: the earlier run is removed rather than left to pass for this one.
    const storage = memoryStorage();
    new LabStore(storage, lab).save(saved());
    const full = { ...storage, setItem: disabled.setItem };
    new LabStore(full, lab).save(saved({ clients: 7 }));
    expect(storage.map.has(KEY)).toBe(false);
  });
});
