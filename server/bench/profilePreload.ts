/**
 * Preloaded (`node --import`) into a server started by `wirelab bench --profile DIR`: NODE_OPTIONS
 * may not carry --cpu-prof, so this starts the V8 profiler itself and writes a .cpuprofile into
 * WIRELAB_PROFILE_DIR when the process is told to stop, or exits (open it in Chrome DevTools or speedscope).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";

const dir = process.env.WIRELAB_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 1000 });
  session.post("Profiler.start");
  // Written at the stop signal, not only at exit: the bench stops the server with SIGTERM and
  // kills it 5 s later, and draining a thousand parked polls can take longer than that.
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    // The in-process session answers synchronously, so this runs to the end right here.
    session.post("Profiler.stop", (error, result) => {
      if (error) return;
      // The workers' --cpu-prof makes the folder only when they exit, which may be after this.
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `server-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  };
  process.once("SIGTERM", write);
  process.once("SIGINT", write);
  process.once("exit", write);
}
