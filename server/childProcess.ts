/**
 * Node children that announce where they listen with a JSON log line (`wirelab serve`, the
 * benchmark's peer): start one and wait for that line, and stop one for sure.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

/** Run `node args…` and resolve with the child and its first JSON line that has a `url`. */
export async function spawnListening<Line extends { url?: string }>(
  what: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ child: ChildProcess; line: Line & { url: string } }> {
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`${what} exited with ${code} before listening: ${stderr.trim()}`);
  });
  const listening = (async () => {
    for await (const text of lines) {
      const line = JSON.parse(text) as Line;
      if (line.url) return line as Line & { url: string };
    }
    throw new Error(`${what} ended its output before listening`);
  })();
  const line = await Promise.race([listening, exited]);
  // Keep draining the output so the child never blocks on a full pipe.
  lines.on("line", () => {});
  return { child, line };
}

/** SIGTERM, then SIGKILL if it has not exited after 5 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}
