/**
 * A real `wirelab serve` in a child process, for the lab runner and the benchmark: faults such
 * as a stalled event loop or a restart must hit the server, never the process that measures it.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnListening, stopChild } from "./childProcess.js";
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
   * `checkout`: another built wirelab checkout whose `bin/wirelab.js` to run instead (the bench's --baseline).
   */
  static async start(args: string[] = [], env: NodeJS.ProcessEnv = {}, checkout: string | null = null): Promise<ServerProcess> {
    const cli = checkout === null ? join(packageRoot(), "dist", "node", "server", "cli.js") : join(checkout, "bin", "wirelab.js");
    if (!existsSync(cli)) throw new Error(`the server is not built (${cli} is missing): run npm run build`);
    const ownStore = !args.includes("--memory") && !args.includes("--data") && !args.includes("--redis");
    const dir = ownStore ? await mkdtemp(join(tmpdir(), "wirelab-")) : null;
    const store = dir ? ["--data", join(dir, "feed.db")] : [];
    const removeStore = () => (dir ? rm(dir, { recursive: true, force: true }) : Promise.resolve());
    try {
      const { child, line } = await spawnListening<{ url?: string; network?: string | null }>(
        "wirelab serve",
        [cli, "serve", "--port", "0", "--network-port", "0", ...store, ...args],
        { ...process.env, LOG_LEVEL: "info", ...env },
      );
      child.once("exit", () => void removeStore());
      return new ServerProcess(child, line.url, line.network ?? null);
    } catch (error) {
      await removeStore();
      throw error;
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}
