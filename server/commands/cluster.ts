/**
 * `wirelab cluster`: N `wirelab serve --redis` instances on consecutive ports behind a front door
 * that hands each new connection to the next instance (no stickiness). One secret and one
 * instructor key for all, so a session from any instance is good on every one. Ctrl-C stops all.
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { FrontDoor } from "../cluster/FrontDoor.js";
import { redisAnswers } from "../cluster/redisChecks.js";
import { isLoopback } from "../config.js";
import { ServerProcess } from "../ServerProcess.js";
import { UsageError } from "../UsageError.js";

export const CLUSTER_USAGE = `Usage: wirelab cluster [--instances N] [--redis URL] [--port N] [--host ADDR]

  --instances N   how many instances to start (default 2, at most 16)
  --redis URL     the Redis they share (env WIRELAB_REDIS; default redis://127.0.0.1:6379)
  --port N        the front door's port (default 8080); instance i listens on port + i
  --host ADDR     address to bind (default 127.0.0.1)
  -h, --help      show this help
`;

const DEFAULT_REDIS = "redis://127.0.0.1:6379";

export interface ClusterOptions {
  instances: number;
  redisUrl: string;
  port: number;
  host: string;
}

export function parseClusterArgs(args: string[], env: NodeJS.ProcessEnv = process.env): ClusterOptions | "help" {
  const { values } = parseArgs({
    args,
    options: {
      instances: { type: "string" },
      redis: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return "help";
  const integer = (name: string, text: string | undefined, fallback: number, min: number, max: number) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${text}"`);
    return n;
  };
  const instances = integer("instances", values.instances, 2, 1, 16);
  const port = integer("port", values.port, 8080, 0, 65535 - 16);
  return { instances, port, redisUrl: values.redis ?? (env.WIRELAB_REDIS || DEFAULT_REDIS), host: values.host ?? "127.0.0.1" };
}

export class Cluster {
  private constructor(
    readonly door: FrontDoor,
    readonly instances: ServerProcess[],
    /** The instructor key every instance accepts. */
    readonly instructorKey: string,
  ) {}

  static async start(options: ClusterOptions, env: NodeJS.ProcessEnv = process.env): Promise<Cluster> {
    if (!(await redisAnswers(options.redisUrl))) {
      throw new UsageError(
        `no Redis answers at ${options.redisUrl}. A cluster shares its feed through Redis: start one with\n` +
          `  redis-server --daemonize yes --port 6379 --save "" --appendonly no   (Debian: apt-get install redis-server)\n` +
          "or name yours with --redis URL.",
      );
    }
    const shared = {
      WIRELAB_SECRET: env.WIRELAB_SECRET || randomBytes(32).toString("base64url"),
      WIRELAB_INSTRUCTOR_KEY: env.WIRELAB_INSTRUCTOR_KEY || randomBytes(9).toString("base64url"),
    };
    const instances: ServerProcess[] = [];
    try {
      for (let i = 1; i <= options.instances; i++) {
        const port = options.port === 0 ? 0 : options.port + i;
        // A page opened at the front door is each instance's own page (port 0: known only later, tests).
        const door = options.port === 0 ? {} : { WIRELAB_PROXY_PORTS: String(options.port) };
        instances.push(
          await ServerProcess.start(["--redis", options.redisUrl, "--port", String(port), "--host", options.host, "--network-port", "off"], { ...env, ...shared, ...door }),
        );
      }
      const backends = instances.map((s) => ({ host: options.host === "0.0.0.0" ? "127.0.0.1" : options.host, port: Number(new URL(s.url).port) }));
      const door = await FrontDoor.start(backends, { host: options.host, port: options.port });
      return new Cluster(door, instances, shared.WIRELAB_INSTRUCTOR_KEY);
    } catch (error) {
      await Promise.all(instances.map((s) => s.stop()));
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.door.close();
    await Promise.all(this.instances.map((s) => s.stop()));
  }
}

export async function clusterCommand(args: string[]): Promise<number> {
  const options = parseClusterArgs(args);
  if (options === "help") {
    process.stdout.write(CLUSTER_USAGE);
    return 0;
  }
  const cluster = await Cluster.start(options);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`wirelab cluster: ${cluster.instances.length} instance(s) sharing ${options.redisUrl}`);
  out(`  front door (round robin, no sticky sessions): ${cluster.door.url}`);
  let stopping = false;
  for (const [i, instance] of cluster.instances.entries()) {
    out(`  instance ${i + 1}: ${instance.url} (pid ${instance.pid})`);
    instance.child.once("exit", (code, signal) => {
      if (!stopping) out(`  instance ${i + 1} exited (${signal ?? code}); the front door skips it`);
    });
  }
  if (!isLoopback(options.host)) out(`  instructor key (POST /v1/session with instructorKey): ${cluster.instructorKey}`);
  out("Ctrl-C stops them all.");
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  stopping = true;
  await cluster.stop();
  return 0;
}
