/**
 * The `wirelab` command. `wirelab serve` starts the workbench; more commands (bench, lab)
 * join as they are built.
 */
import { parseArgs } from "node:util";
import { WirelabSupervisor } from "./WirelabSupervisor.js";
import { classBanner } from "./classBanner.js";
import { createLogger } from "./logger.js";
import { resolveConfig, type WirelabOptions } from "./config.js";
import { LAB_USAGE, labCommand } from "./commands/lab.js";
import { UsageError, isUsageError } from "./UsageError.js";

const USAGE = `Usage: wirelab serve [--class [--class-code CODE]] [--port N] [--host ADDR] [--data FILE | --memory | --redis URL] [--network-port N|off] [--load-test]

  --class               serve a class: bind every address (unless --host says otherwise) and print
                        the students' join links, the instructor's link and the instructor key
  --class-code CODE     learners must give this code to join (env WIRELAB_CLASS_CODE); the
                        instructor joins with the key instead
  --port N              port to listen on (env PORT; default 8080)
  --host ADDR           address to bind (env HOST; default 127.0.0.1; 0.0.0.0 serves a class)
  --data FILE           SQLite file that keeps the history (default wirelab.db)
  --memory              keep history in memory only (lost on restart)
  --redis URL           keep the feed in Redis, shared by every instance started with the same URL
                        (env WIRELAB_REDIS; e.g. redis://127.0.0.1:6379); the instances share one
                        session secret, kept in Redis unless WIRELAB_SECRET sets it
  --network-port N|off  port of the network emulator in front of the server (default: port + 1)
  --load-test           lift the rate limits and the per-user and per-address connection caps, for a
                        benchmark (wirelab bench uses it); never on a server people use
  -h, --help            show this help

Environment: WIRELAB_SECRET signs session tokens (unset: one is kept beside the data, so tokens
survive a restart); WIRELAB_INSTRUCTOR_KEY is the key that grants the
instructor role (random and printed at start when unset); LOG_LEVEL sets the log level.
WIRELAB_ALLOWED_ORIGINS and WIRELAB_ALLOWED_HOSTS (comma-separated) add browser origins and Host
names to the server's own (docs/security.md). WIRELAB_FANOUT_FLUSH=turn holds fanned-out writes until
the event-loop turn ends (fewer syscalls, more latency; default "message": docs/benchmarks.md).
WIRELAB_HEARTBEAT_MS sets both the SSE heartbeat and the WebSocket ping interval (default 15,000 and
25,000 ms): clients notice a dead link within two intervals plus a margin.
`;

/** Longest a graceful shutdown may take before the process exits anyway. */
const DRAIN_LIMIT_MS = 10_000;

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      class: { type: "boolean" },
      "class-code": { type: "string" },
      data: { type: "string" },
      memory: { type: "boolean" },
      redis: { type: "string" },
      "network-port": { type: "string" },
      "load-test": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (values.redis !== undefined && values.data !== undefined) {
    throw new UsageError("--redis and --data cannot be combined: with Redis the history lives in Redis");
  }
  const networkPort = values["network-port"];
  // A class server is reached from the students' machines, so it listens on every address.
  const host = values.host ?? (values.class ? "0.0.0.0" : undefined);
  const options: WirelabOptions = {
    ...(values.port !== undefined && { port: Number(values.port) }),
    ...(host !== undefined && { host }),
    ...(values.data !== undefined && { dataFile: values.data }),
    ...(values.memory && { memory: true }),
    ...(values["load-test"] && { loadTest: true }),
    ...(values["class-code"] !== undefined && { classCode: values["class-code"] }),
    ...(values.redis !== undefined && { redisUrl: values.redis }),
    ...(networkPort !== undefined && { networkPort: networkPort === "off" ? null : Number(networkPort) }),
  };
  // Options, environment and defaults are merged in config.ts only; a value it refuses is a usage
  // error before anything starts, and the log level comes from the same merge.
  const logger = createLogger(resolveConfig(options).logLevel);
  const supervisor = await WirelabSupervisor.start(options, logger);
  const { url, config, instance } = supervisor.current;
  logger.info(
    {
      url,
      instance,
      store: supervisor.current.feedInfo.kind === "redis" ? `redis ${supervisor.current.feedInfo.where}` : supervisor.current.feedInfo.where,
      network: supervisor.network?.url ?? null,
      instructors: config.autoInstructor ? "every session (loopback only)" : "with the instructor key",
    },
    `wirelab is listening: open ${url}`,
  );
  if (values.class) {
    // For people, on stderr: stdout stays one JSON log line per event. The key is shown here
    // only, once; a class server's log may be shared, a terminal is the instructor's.
    process.stderr.write(classBanner({ host: config.host, port: config.port, instructorKey: config.instructorKey, classCode: config.classCode }));
  } else if (!config.autoInstructor) {
    logger.info({ instructorKey: config.instructorKey }, "instructor key: give it at POST /v1/session to get the instructor role");
  }
  // SIGTERM is how a service manager stops a service it will start again (a deploy, a restart):
  // clients are told to come back (WebSocket 1012). Ctrl-C (SIGINT) stops it for good (1001).
  // A second signal while draining exits at once.
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting without draining");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    // The drain is bounded: streams get 2 s to close, then are cut; whatever still hangs after
    // that (a store that does not answer) must not keep a service manager waiting forever.
    setTimeout(() => {
      logger.error({ drainMs: DRAIN_LIMIT_MS }, "shutdown did not finish in time: exiting");
      process.exit(1);
    }, DRAIN_LIMIT_MS).unref();
    supervisor.close(signal === "SIGTERM" ? "restart" : "shutdown").then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return serve(rest);
    case "lab":
      process.exitCode = await labCommand(rest);
      return;
    case "cluster":
      process.exitCode = await (await import("./commands/cluster.js")).clusterCommand(rest);
      return;
    case "bench":
      process.exitCode = await (await import("./commands/bench.js")).benchCommand(rest);
      return;
    case "soak":
      process.exitCode = await (await import("./commands/soak.js")).soakCommand(rest);
      return;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${USAGE}\n${LAB_USAGE}\nwirelab cluster [options]: several instances on one Redis behind a front door (wirelab cluster --help).\nwirelab bench [options]: compare the transports under load (wirelab bench --help).\nwirelab soak [options]: the chaos soak and the load hold (wirelab soak --help).\n`);
      return;
    default:
      process.stderr.write(`wirelab: unknown command "${command}"\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`wirelab: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = isUsageError(error) ? 2 : 1;
});
