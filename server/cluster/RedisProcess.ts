/**
 * A redis-server child process of our own (Debian's redis-server), for what must stop and restart
 * Redis: the Redis-restart fault of the chaos soak and the tests of a Redis outage. Append-only
 * with an fsync per write, so what Redis acknowledged survives a stop.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { redisAnswers } from "./redisChecks.js";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server of its own, on a free port; it can be stopped and started again on that port. */
export class RedisProcess {
  #child: ChildProcess | null = null;
  readonly #dir = mkdtempSync(join(tmpdir(), "wirelab-redis-"));

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisProcess> {
    const redis = new RedisProcess(await freePort());
    await redis.resume();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Start (again): append-only with an fsync per write, so what Redis acknowledged survives a stop. */
  async resume(): Promise<void> {
    const child = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", this.#dir],
      { stdio: "ignore" },
    );
    this.#child = child;
    const failed = new Promise<never>((_, reject) => {
      child.once("error", (error) => reject(new Error(`cannot start redis-server (install Debian's redis-server): ${error.message}`)));
      child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}`)));
    });
    const deadline = Date.now() + 10_000;
    const up = (async () => {
      while (!(await redisAnswers(this.url))) {
        if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${this.port}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await Promise.race([up, failed]);
    failed.catch(() => {});
  }

  /** Stop the server (SIGTERM: Redis flushes its append-only file and exits). */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
