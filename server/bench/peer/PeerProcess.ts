/** A comparison peer server (Socket.IO 4) in its own child process, started and stopped like ServerProcess. */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { packageRoot } from "../../paths.js";
import type { PeerName } from "../options.js";

export class PeerProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(peer: PeerName, nodeFlags: string[] = []): Promise<PeerProcess> {
    const entry = join(packageRoot(), "dist", "node", "server", "bench", "peer", "socketio-server.js");
    if (!existsSync(entry)) throw new Error(`the ${peer} peer is not built (${entry} is missing): run npm run build`);
    const child = spawn(process.execPath, [...nodeFlags, entry], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    const exited = once(child, "exit").then(([code]) => {
      throw new Error(`the ${peer} peer exited with ${code} before listening: ${stderr.trim()}`);
    });
    const lines = createInterface({ input: child.stdout! });
    const listening = (async () => {
      for await (const line of lines) {
        const entry = JSON.parse(line) as { url?: string };
        if (entry.url) return entry.url;
      }
      throw new Error(`the ${peer} peer ended its output before listening`);
    })();
    const url = await Promise.race([listening, exited]);
    lines.on("line", () => {});
    return new PeerProcess(child, url);
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
