/** A comparison peer server (bare ws, or Socket.IO 4) in its own child process, started and stopped like ServerProcess. */
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { spawnListening, stopChild } from "../../childProcess.js";
import { packageRoot } from "../../paths.js";
import type { PeerName } from "../parameters.js";

export class PeerProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(peer: PeerName, nodeFlags: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<PeerProcess> {
    const file = peer === "ws" ? "ws-server.js" : "socketio-server.js";
    const entry = join(packageRoot(), "dist", "node", "server", "bench", "peer", file);
    if (!existsSync(entry)) throw new Error(`the ${peer} peer is not built (${entry} is missing): run npm run build`);
    const transport = peer === "socket.io-polling" ? { WIRELAB_PEER_TRANSPORT: "polling" } : {};
    const { child, line } = await spawnListening(`the ${peer} peer`, [...nodeFlags, entry], { ...process.env, ...transport, ...env });
    return new PeerProcess(child, line.url);
  }

  get pid(): number {
    return this.child.pid!;
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}
