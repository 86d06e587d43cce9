/**
 * A real `wirelab serve` in a child process, for the lab runner and the benchmark: faults such
 * as a stalled event loop or a restart must hit the server, never the process that measures it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { packageRoot } from "./paths.js";

export class ServerProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly networkUrl: string | null,
  ) {}

  /**
   * Start `wirelab serve` on free ports (plus `args`) and wait until it listens. Unless `args` name a
   * store, history goes to a SQLite file in a temporary folder, so a restart keeps it, as it would in class.
   */
  static async start(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
    const cli = join(packageRoot(), "dist", "node", "server", "cli.js");
    if (!existsSync(cli)) throw new Error(`the server is not built (${cli} is missing): run npm run build`);
    const ownStore = !args.includes("--memory") && !args.includes("--data");
    const dir = ownStore ? await mkdtemp(join(tmpdir(), "wirelab-")) : null;
    const store = dir ? ["--data", join(dir, "feed.db")] : [];
    const child = spawn(process.execPath, [cli, "serve", "--port", "0", "--network-port", "0", ...store, ...args], {
      env: { ...process.env, LOG_LEVEL: "info", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    const lines = createInterface({ input: child.stdout! });
    // On any exit, early or at stop(): remove the temporary store, and fail a start still waiting.
    const exited = once(child, "exit").then(([code]) => {
      if (dir) void rm(dir, { recursive: true, force: true });
      throw new Error(`wirelab serve exited with ${code} before listening: ${stderr.trim()}`);
    });
    const listening = (async () => {
      for await (const line of lines) {
        const entry = JSON.parse(line) as { url?: string; network?: string | null };
        if (entry.url) return entry;
      }
      throw new Error("wirelab serve ended its output before listening");
    })();
    const entry = await Promise.race([listening, exited]);
    // Keep draining the log so the child never blocks on a full pipe.
    lines.on("line", () => {});
    return new ServerProcess(child, entry.url!, entry.network ?? null);
  }

  get pid(): number {
    return this.child.pid!;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, "exit");
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
