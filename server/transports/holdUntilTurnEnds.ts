/**
 * When a fan-out's writes leave each socket (config.fanoutFlush). A socket held is corked until
 * the turn's I/O callbacks are done (setImmediate), so everything written to it meanwhile leaves
 * in one syscall: a server that falls behind then sends several messages per write instead of
 * paying a syscall (and the client a read) per message per subscriber. The price is latency: a
 * held socket's bytes wait for the rest of the turn's fan-out.
 *
 * - "turn" holds every socket from its first write: no subscriber gets a byte before the whole
 *   turn's fan-out has run, even on an idle server.
 * - "message" never holds: each frame goes to the kernel as the fan-out reaches the socket.
 * - "adaptive" writes a socket's first frame of a turn at once and holds it from its second: one
 *   message per turn (a server keeping up) leaves as with "message". A socket that got several in
 *   the last turn (the server is behind) is held from its first, as with "turn", until a turn brings
 *   it one message again: near saturation an extra write per socket per turn is what tips it over.
 */
import type { Writable } from "node:stream";
import type { FanoutFlush } from "../config.js";

const held = new Set<Writable>();
/** "adaptive": sockets written to this turn (their next write holds them), and those written to more than once. */
const written = new Set<Writable>();
let coalesced = new Set<Writable>();
/** "adaptive": the sockets written to more than once in the last turn: held from their first write. */
let behind = new Set<Writable>();
let scheduled = false;

export function holdUntilTurnEnds(socket: Writable): void {
  if (held.has(socket)) return;
  socket.cork();
  held.add(socket);
  schedule();
}

/** "adaptive": nothing for the first write of this turn, hold from the second (from the first while behind). */
function holdWhenBehind(socket: Writable): void {
  if (written.has(socket)) {
    coalesced.add(socket);
    return holdUntilTurnEnds(socket);
  }
  written.add(socket);
  if (behind.has(socket)) holdUntilTurnEnds(socket);
  else schedule();
}

function writeAtOnce(): void {}

/** What a transport calls before each fan-out write to a socket under a policy. */
export function holdFor(policy: FanoutFlush): (socket: Writable) => void {
  if (policy === "turn") return holdUntilTurnEnds;
  if (policy === "adaptive") return holdWhenBehind;
  return writeAtOnce;
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(release);
}

function release(): void {
  scheduled = false;
  written.clear();
  behind = coalesced;
  coalesced = new Set();
  // Uncorking writes synchronously and may hold sockets again: release a snapshot.
  const sockets = [...held];
  held.clear();
  for (const socket of sockets) socket.uncork();
}
