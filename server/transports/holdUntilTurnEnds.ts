/**
 * Coalesces a fan-out's writes per socket, for the "turn" fan-out flush (config.fanoutFlush). A
 * socket written to is corked at its first write in this turn of the event loop and uncorked once
 * the turn's I/O callbacks are done (setImmediate), so everything written to it meanwhile leaves
 * in one syscall. That is the throughput side of the trade: a server that falls behind sends
 * several messages per write instead of paying a syscall per message per subscriber. The price is
 * latency: no subscriber's bytes leave before the whole turn's fan-out has run, so even on an idle
 * server every subscriber waits for the last one's share of the loop. The default, "message",
 * does not hold at all (see holdFor).
 */
import type { Writable } from "node:stream";
import type { FanoutFlush } from "../config.js";

const held = new Set<Writable>();
let scheduled = false;

export function holdUntilTurnEnds(socket: Writable): void {
  if (held.has(socket)) return;
  socket.cork();
  held.add(socket);
  if (!scheduled) {
    scheduled = true;
    setImmediate(release);
  }
}

/** What a transport calls before a fan-out write under a policy: hold until the turn ends, or nothing (write at once). */
export function holdFor(policy: FanoutFlush): (socket: Writable) => void {
  return policy === "turn" ? holdUntilTurnEnds : writeAtOnce;
}

function writeAtOnce(): void {}

function release(): void {
  scheduled = false;
  // Uncorking writes synchronously and may hold sockets again: release a snapshot.
  const sockets = [...held];
  held.clear();
  for (const socket of sockets) socket.uncork();
}
