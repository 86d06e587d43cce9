/**
 * The soak's verdict, Jepsen-style: after the faults, compare what every client received with the
 * room's history on the server and with what the server acknowledged. Pure, so each rule is
 * unit-tested on histories made wrong on purpose.
 */

/** A message as far as the check is concerned. */
export interface Delivered {
  seq: number;
  id: string;
}

export interface ClientHistory {
  /** e.g. "sse-2". */
  name: string;
  received: readonly Delivered[];
}

export interface RoomHistory {
  room: string;
  /** The room's history as the server holds it, read directly at the end (not through the faults). */
  server: readonly Delivered[];
  clients: readonly ClientHistory[];
  /** Ids of the sends the server acknowledged. */
  acknowledged: ReadonlySet<string>;
  /** Ids of every send attempted (acknowledged or not): anything else in the room is a phantom. */
  attempted: ReadonlySet<string>;
}

export interface Violation {
  room: string;
  /** The client, or "server" for the room's history itself. */
  who: string;
  rule: "gap" | "order" | "duplicate" | "lost" | "phantom" | "diverged" | "incomplete";
  detail: string;
}

/** Every rule broken, in a stable order; an empty list is a pass. */
export function checkRoom(history: RoomHistory): Violation[] {
  const violations: Violation[] = [];
  const add = (who: string, rule: Violation["rule"], detail: string) => violations.push({ room: history.room, who, rule, detail });

  // The server's own history: seqs 1, 2, 3, … with each id once, each one ours.
  const stored = new Map<string, number>();
  history.server.forEach((m, i) => {
    if (m.seq !== i + 1) add("server", "gap", `position ${i + 1} holds seq ${m.seq}`);
    const before = stored.get(m.id);
    if (before !== undefined) add("server", "duplicate", `id ${m.id} stored at seq ${before} and ${m.seq}`);
    else stored.set(m.id, m.seq);
    if (!history.attempted.has(m.id)) add("server", "phantom", `seq ${m.seq} holds id ${m.id}, which nobody sent`);
  });
  for (const id of history.acknowledged) {
    if (!stored.has(id)) add("server", "lost", `acknowledged id ${id} is not in the history`);
  }

  // Each client: in order, no duplicates, no gaps, and exactly the server's history.
  for (const client of history.clients) {
    let last = 0;
    let reported = false;
    for (const m of client.received) {
      if (m.seq <= last) add(client.name, m.seq === last ? "duplicate" : "order", `seq ${m.seq} after ${last}`);
      else if (m.seq !== last + 1) add(client.name, "gap", `seq ${m.seq} after ${last}: ${m.seq - last - 1} missing`);
      const expected = history.server[m.seq - 1];
      if (!reported && expected !== undefined && expected.id !== m.id) {
        add(client.name, "diverged", `seq ${m.seq} is ${m.id} here, ${expected.id} on the server`);
        reported = true;
      }
      last = Math.max(last, m.seq);
    }
    if (last < history.server.length) add(client.name, "incomplete", `has up to seq ${last} of ${history.server.length}`);
  }
  return violations;
}
