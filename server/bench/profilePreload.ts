/**
 * Preloaded (`node --import`) into a server started by `wirelab bench --profile DIR`: NODE_OPTIONS
 * may not carry --cpu-prof, so this starts the V8 profiler itself and writes a .cpuprofile into
 * WIRELAB_PROFILE_DIR when the process exits (open it in Chrome DevTools or speedscope).
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";

const dir = process.env.WIRELAB_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 1000 });
  session.post("Profiler.start");
  process.once("exit", () => {
    // The in-process session answers synchronously, so this runs to the end inside "exit".
    session.post("Profiler.stop", (error, result) => {
      if (!error) writeFileSync(join(dir, `server-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
