/**
 * Builds the dashboard with vite's own build() into a fresh temporary folder, so the browser
 * tests always run today's sources (never a stale dist/web) and work on a clean clone.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));

export async function buildDashboard(): Promise<{ webRoot: string; cleanup(): void }> {
  const webRoot = mkdtempSync(join(tmpdir(), "wirelab-web-"));
  await build({
    configFile: join(repo, "vite.config.ts"),
    root: join(repo, "web"),
    logLevel: "warn",
    build: { outDir: webRoot, emptyOutDir: true },
  });
  return { webRoot, cleanup: () => rmSync(webRoot, { recursive: true, force: true }) };
}
