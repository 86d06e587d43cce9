/** The `wirelab` command as a user runs it: the compiled bin in a child process. */
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { networkInterfaces } from "node:os";
import { createInterface } from "node:readline";
import { expect, test } from "vitest";
import { tempDir, until } from "../../helpers.js";
import { packageRoot } from "../../../server/paths.js";
import { join } from "node:path";

const BIN = join(packageRoot(), "bin", "wirelab.js");

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, LOG_LEVEL: "info", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  return { child, stderr: () => stderr };
}

async function firstLogLine(child: ReturnType<typeof spawn>): Promise<Record<string, unknown>> {
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) return JSON.parse(line);
  throw new Error("no output");
}

test("serve prints the URL as a JSON log line, serves, and stops cleanly on SIGTERM", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const { child } = run(["serve", "--port", "0", "--data", `${dir}/cli.db`]);
    const line = await firstLogLine(child);
    expect(line.msg).toMatch(/^wirelab is listening: open http:\/\/127\.0\.0\.1:\d+$/);
    expect(line.store).toBe(`${dir}/cli.db`);
    const health = await fetch(`${line.url}/healthz`);
    const body = (await health.json()) as { instance: string };
    expect(body).toEqual({ status: "ok", instance: expect.stringMatching(/^[0-9a-f]{8}$/) });
    expect(health.headers.get("wirelab-instance")).toBe(body.instance);
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
  } finally {
    cleanup();
  }
});

test("PORT and HOST come from the environment; --memory keeps no file", async () => {
  const { child } = run(["serve", "--memory"], { PORT: "0", HOST: "127.0.0.1" });
  const line = await firstLogLine(child);
  expect(line.store).toBe("memory");
  expect((await fetch(`${line.url}/healthz`)).status).toBe(200);
  child.kill("SIGINT");
  expect((await once(child, "exit"))[0]).toBe(0);
});

test.each([
  // A command line that cannot run as written is a usage error (exit 2), whichever layer finds it.
  [["serve", "--data", "x.db", "--memory"], 2, /--memory and --data cannot be combined/],
  [["serve", "--port", "eighty"], 2, /port must be an integer/],
  [["serve", "--colour"], 2, /Unknown option '--colour'/],
  [["launch"], 2, /unknown command "launch"/],
  [["serve", "--redis", "redis://127.0.0.1:6379", "--data", "x.db"], 2, /--redis and --data cannot be combined/],
  [["serve", "--redis", "http://127.0.0.1:6379"], 2, /must start with redis:\/\//],
  [["serve", "--network-port=70000"], 2, /networkPort must be an integer/],
  // A config value from the environment is checked the same way.
  [["serve"], 2, /fanoutFlush must be one of/, { WIRELAB_FANOUT_FLUSH: "batch" }],
  // Port 1 on loopback: nothing listens there, so Redis is unreachable at once.
  // Not the command line's fault: a failure (exit 1).
  [["serve", "--port", "0", "--redis", "redis://127.0.0.1:1"], 1, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1 .*redis-server/],
])("wirelab %j fails with exit %i and says why", async (args, exitCode, message, env?: Record<string, string>) => {
  const { child, stderr } = run(args as string[], env);
  const [code] = await once(child, "exit");
  expect(code).toBe(exitCode);
  expect(stderr()).toMatch(message);
});

test("help lists the options", () => {
  const out = execFileSync(process.execPath, [BIN, "serve", "--help"]).toString();
  expect(out).toContain("--memory");
  expect(out).toContain("--data FILE");
});

test("serve --class binds every address and prints a banner with the join links and the instructor key", async () => {
  const instructorKey = "class-key-for-the-cli-test";
  const { child, stderr } = run(["serve", "--class", "--port", "0", "--memory", "--network-port", "off"], { WIRELAB_INSTRUCTOR_KEY: instructorKey });
  let stdout = "";
  child.stdout.on("data", (d) => (stdout += d));
  try {
    const line = await firstLogLine(child);
    // Bound to 0.0.0.0: loopback reaches it, and sessions there are learners unless they bring the key.
    const port = new URL(line.url as string).port;
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const learner = await fetch(`http://127.0.0.1:${port}/v1/session`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"ada"}' });
    expect(((await learner.json()) as { user: { role: string } }).user.role).toBe("learner");
    // The banner goes to stderr, so stdout stays one JSON log line per event.
    await until(() => stderr().includes("Ctrl-C"), "the banner");
    const banner = stderr();
    expect(banner).toContain(`http://127.0.0.1:${port}/?instructor`);
    expect(banner).toContain(instructorKey);
    for (const address of Object.values(networkInterfaces()).flat()) {
      if (address && address.family === "IPv4" && !address.internal) expect(banner).toContain(`http://${address.address}:${port}/`);
    }
  } finally {
    child.kill("SIGINT");
    await once(child, "exit");
  }
  // Printed once, in the banner at start: never in the JSON log, not again at shutdown.
  expect(stdout).not.toContain(instructorKey);
  expect(stderr().split(instructorKey).length).toBe(2);
});
