/**
 * The layers of the code base, checked on its import graph (the README's layout table says the
 * same in words): the server and the dashboard both build on the isomorphic code in
 * `web/src/isomorphic/`, which builds on nothing of theirs; nothing imports back up a layer, and no
 * module imports itself through others.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, test } from "vitest";
import { packageRoot } from "../server/paths.js";

const ROOT = packageRoot();
const SOURCES = ["server", "web/src"];

/** Every .ts file under the source folders, as a path from the root. */
function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(ROOT, dir))) {
      const path = join(dir, name);
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else if (path.endsWith(".ts")) files.push(path);
    }
  };
  SOURCES.forEach(walk);
  return files;
}

const SPECIFIER = /(?:^|\s)(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^import\s+["']([^"']+)["']/gm;

/** What a module imports: project files (as paths from the root) and packages (by name). */
export function importsOf(file: string, source: string): { files: string[]; packages: string[] } {
  const files: string[] = [];
  const packages: string[] = [];
  for (const match of source.matchAll(SPECIFIER)) {
    const spec = match[1] ?? match[2] ?? match[3]!;
    if (spec.startsWith(".")) files.push(normalize(join(dirname(file), spec)).replace(/\.js$/, ".ts"));
    else packages.push(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);
  }
  return { files, packages };
}

/** The first cycle found in a graph, as the list of its modules, or null. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const cycle = visit(next);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(node, "done");
    return null;
  };
  for (const node of graph.keys()) {
    if (state.has(node)) continue;
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

const files = sourceFiles();
const graph = new Map(files.map((file) => [file, importsOf(file, readFileSync(join(ROOT, file), "utf8"))]));
const under = (prefix: string) => (file: string) => file.startsWith(prefix);
const isomorphic = under("web/src/isomorphic/");
const dashboard = (file: string) => file.startsWith("web/src/") && !isomorphic(file);

/** Imports from files matching `from` to project files matching `to`, as "importer -> imported". */
function crossings(from: (file: string) => boolean, to: (file: string) => boolean): string[] {
  const found: string[] = [];
  for (const [file, { files: imported }] of graph) if (from(file)) for (const target of imported) if (to(target)) found.push(`${file} -> ${target}`);
  return found;
}

describe("the import graph", () => {
  test("every relative import names a source file that exists", () => {
    const known = new Set(files);
    const missing = [...graph].flatMap(([file, { files: imported }]) => imported.filter((t) => !known.has(t)).map((t) => `${file} -> ${t}`));
    expect(missing).toEqual([]);
  });

  test("has no cycle", () => {
    expect(findCycle(new Map([...graph].map(([file, { files: imported }]) => [file, imported])))).toBeNull();
  });

  test("the isomorphic code imports neither the server nor the dashboard, nor Node's or the DOM's libraries", () => {
    expect(crossings(isomorphic, (t) => !isomorphic(t))).toEqual([]);
    const platform = [...graph].filter(([file]) => isomorphic(file)).flatMap(([file, { packages }]) =>
      packages.filter((p) => p.startsWith("node:") || ["lit", "chart.js", "dompurify", "marked"].includes(p)).map((p) => `${file} -> ${p}`));
    expect(platform).toEqual([]);
  });

  test("the server never imports the dashboard, and the dashboard never the server", () => {
    expect(crossings(under("server/"), dashboard)).toEqual([]);
    expect(crossings(dashboard, under("server/"))).toEqual([]);
  });

  test("inside the isomorphic code the protocol is the bottom, and the kit does not reach up to the lab engine", () => {
    expect(crossings(under("web/src/isomorphic/protocol/"), (t) => !t.startsWith("web/src/isomorphic/protocol/"))).toEqual([]);
    expect(crossings(under("web/src/isomorphic/kit/"), under("web/src/isomorphic/lab/"))).toEqual([]);
  });

  test("the benchmark and the feed do not import the command line on top of them", () => {
    expect(crossings((f) => f.startsWith("server/") && !f.startsWith("server/commands/") && f !== "server/cli.ts", under("server/commands/"))).toEqual([]);
  });
});

describe("the checks themselves", () => {
  test("findCycle finds a cycle through several modules and none in a chain", () => {
    expect(findCycle(new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]]]))).toEqual(["a", "b", "c", "a"]);
    expect(findCycle(new Map([["a", ["b"]], ["b", ["c"]], ["c", []]]))).toBeNull();
  });

  test("importsOf reads static, type-only, re-exported, dynamic and side-effect imports", () => {
    const source = [
      'import { a } from "./a.js";',
      'import type { B } from "../b/b.js";',
      'export { c } from "./c.js";',
      'const d = await import("./d.js");',
      'import "./e.js";',
      'import { z } from "zod";',
      'import { readFile } from "node:fs/promises";',
      'import { x } from "@scope/pkg/sub";',
    ].join("\n");
    expect(importsOf("server/feed/f.ts", source)).toEqual({
      files: ["server/feed/a.ts", "server/b/b.ts", "server/feed/c.ts", "server/feed/d.ts", "server/feed/e.ts"],
      packages: ["zod", "node:fs", "@scope/pkg"],
    });
  });
});
