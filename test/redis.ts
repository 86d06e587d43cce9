/**
 * Redis for the tests: the machine's server on 127.0.0.1:6379 when it answers, else one started
 * on a free port. A test that must stop and restart Redis always starts its own. Every test run
 * uses its own key prefix, so runs sharing a Redis never see each other's rooms. Nothing here
 * skips: without a Redis the tests fail, loudly, as CI requires.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deleteRedisKeys, redisAnswers } from "../server/cluster/redisChecks.js";

export const SHARED_REDIS = "redis://127.0.0.1:6379";

export function testPrefix(): string {
  return `wirelab-test:${randomBytes(4).toString("hex")}:`;
}

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

/** A redis-server of the test's own, on a free port; it can be stopped and started again on that port. */
export class OwnRedis {
  #child: ChildProcess | null = null;
  readonly #dir = mkdtempSync(join(tmpdir(), "wirelab-redis-"));

  private constructor(readonly port: number) {}

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
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

let shared: Promise<{ url: string; stop(): Promise<void> }> | undefined;

/** The Redis most tests share: the machine's, or one of our own when none answers. */
export function redisForTests(): Promise<{ url: string; stop(): Promise<void> }> {
  shared ??= (async () => {
    if (await redisAnswers(SHARED_REDIS)) return { url: SHARED_REDIS, stop: async () => {} };
    const own = await OwnRedis.start();
    return { url: own.url, stop: () => own.destroy() };
  })();
  return shared;
}


/** Delete every key under a test run's prefix, leaving a shared Redis as it was found. */
export function deleteKeys(url: string, prefix: string): Promise<void> {
  return deleteRedisKeys(url, `${prefix}*`);
}
