/**
 * `wirelab bench --profile DIR` profiles the server too: the preloaded profiler writes its
 * profile when the server is told to stop (the bench sends SIGTERM and kills it 5 s later), into
 * a folder that may not exist yet (the workers' --cpu-prof makes it only when they exit).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { expect, test } from "vitest";
import { ServerProcess } from "../../../server/ServerProcess.js";
import { packageRoot } from "../../../server/paths.js";
import { tempDir } from "../../helpers.js";

test("a profiled server writes its CPU profile at SIGTERM, making the folder", async () => {
  const dir = tempDir();
  try {
    const profiles = join(dir.dir, "not-yet", "profiles");
    const preload = pathToFileURL(join(packageRoot(), "dist", "node", "server", "bench", "profilePreload.js")).href;
    const server = await ServerProcess.start(["--network-port", "off", "--memory"], { NODE_OPTIONS: `--import=${preload}`, WIRELAB_PROFILE_DIR: profiles });
    await fetch(`${server.url}/healthz`);
    await server.stop();
    const file = join(profiles, `server-${server.pid}.cpuprofile`);
    expect(existsSync(file)).toBe(true);
    const profile = JSON.parse(readFileSync(file, "utf8"));
    expect(profile.nodes.length).toBeGreaterThan(1);
    expect(profile.samples.length).toBeGreaterThan(0);
  } finally {
    dir.cleanup();
  }
}, 30_000);
