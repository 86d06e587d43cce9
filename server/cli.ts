/**
 * The `wirelab` command. `wirelab serve` starts the workbench; more commands (bench, lab)
 * join as they are built.
 */
import { parseArgs } from "node:util";
import { startWirelab } from "./app.js";
import { createLogger } from "./logger.js";

const USAGE = `Usage: wirelab serve [--port N] [--host ADDR] [--data FILE | --memory]

  --port N      port to listen on (env PORT; default 8080)
  --host ADDR   address to bind (env HOST; default 127.0.0.1)
  --data FILE   SQLite file that keeps the history (default wirelab.db)
  --memory      keep history in memory only (lost on restart)
  -h, --help    show this help
`;

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      data: { type: "string" },
      memory: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const logger = createLogger(process.env.LOG_LEVEL ?? "info");
  const wirelab = await startWirelab(
    {
      ...(values.port !== undefined && { port: Number(values.port) }),
      ...(values.host !== undefined && { host: values.host }),
      ...(values.data !== undefined && { dataFile: values.data }),
      ...(values.memory && { memory: true }),
    },
    logger,
  );
  logger.info(
    { url: wirelab.url, store: wirelab.config.dataFile === ":memory:" ? "memory" : wirelab.config.dataFile },
    `wirelab is listening: open ${wirelab.url}`,
  );
  const stop = (signal: string) => {
    logger.info({ signal }, "shutting down");
    wirelab.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return serve(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`wirelab: unknown command "${command}"\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`wirelab: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
