/**
 * Runs once before every test file: builds the server and kit into dist/node, which the tests
 * that start `wirelab` child processes (the CLI, labs, the benchmark, a cluster) run. One build
 * for all of them, instead of several files writing the same files at the same time.
 */
import { execFileSync } from "node:child_process";

export default function setup(): void {
  const root = new URL("..", import.meta.url).pathname;
  execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
}
