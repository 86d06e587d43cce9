/** A comparison peer server (Socket.IO 4) in its own child process, started and stopped like ServerProcess. */
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { spawnListening, stopChild } from "../../childProcess.js";
import { packageRoot } from "../../paths.js";
import type { PeerName } from "../options.js";

export class PeerProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(peer: PeerName, nodeFlags: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<PeerProcess> {
    const entry = join(packageRoot(), "dist", "node", "server", "bench", "peer", "socketio-server.js");
    if (!existsSync(entry)) throw new Error(`the ${peer} peer is not built (${entry} is missing): run npm run build`);
    const { child, line } = await spawnListening(`the ${peer} peer`, [...nodeFlags, entry], { ...process.env, ...env });
    return new PeerProcess(child, line.url);
  }

  get pid(): number {
    return this.child.pid!;
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}
