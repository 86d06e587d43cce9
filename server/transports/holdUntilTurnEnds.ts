/**
 * Coalesces a fan-out's writes per socket. A socket written to is corked at its first write in
 * this turn of the event loop and uncorked once the turn's I/O callbacks are done (setImmediate),
 * so everything written to it meanwhile leaves in one syscall. An idle server sends each message
 * at once (one message per turn); a server that falls behind sends several per write, instead
 * of paying a syscall per message per subscriber — the cost that limits fan-out.
 */
import type { Writable } from "node:stream";

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

function release(): void {
  scheduled = false;
  // Uncorking writes synchronously and may hold sockets again: release a snapshot.
  const sockets = [...held];
  held.clear();
  for (const socket of sockets) socket.uncork();
}
