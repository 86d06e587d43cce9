/** The soak's verdict finds each way a history can be wrong, and passes every right one. */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { checkRoom, type Delivered, type RoomHistory } from "../../../server/soak/history.js";

function room(server: Delivered[], clients: Delivered[][], acknowledged = server.map((m) => m.id)): RoomHistory {
  return {
    room: "r",
    server,
    clients: clients.map((received, i) => ({ name: `c${i}`, received })),
    acknowledged: new Set(acknowledged),
    attempted: new Set([...server.map((m) => m.id), ...acknowledged, "never-stored"]),
  };
}

const messages = (n: number): Delivered[] => Array.from({ length: n }, (_, i) => ({ seq: i + 1, id: `m${i + 1}` }));

describe("checkRoom", () => {
  test("a complete, ordered history everywhere passes, whatever its length and the number of clients", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 6 }), (n, clients) => {
        const history = messages(n);
        expect(checkRoom(room(history, Array.from({ length: clients }, () => history)))).toEqual([]);
      }),
      { seed: 14, numRuns: 100 },
    );
  });

  test("a send that failed to be acknowledged may be stored once or not at all", () => {
    const history = messages(3);
    expect(checkRoom(room(history, [history], ["m1", "m3"]))).toEqual([]);
  });

  test("each client fault is named: a message missed, seen twice, out of order, or the tail not reached", () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 100 }), fc.nat(), (n, pick) => {
        const history = messages(n);
        const i = 1 + (pick % (n - 2)); // an inner position: neither the first nor the last
        const missed = history.filter((_, k) => k !== i);
        const twice = [...history.slice(0, i + 1), history[i]!, ...history.slice(i + 1)];
        const swapped = [...history];
        [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
        const rules = (received: Delivered[]) => checkRoom(room(history, [history, received])).map((v) => `${v.who}:${v.rule}`);
        expect(rules(missed)).toEqual(["c1:gap"]);
        expect(rules(twice)).toEqual(["c1:duplicate"]);
        expect(rules(swapped)).toContain("c1:order");
        expect(rules(history.slice(0, i))).toEqual(["c1:incomplete"]);
      }),
      { seed: 14, numRuns: 100 },
    );
  });

  test("a client that got another message under a seq has diverged from the server", () => {
    const history = messages(4);
    const other = history.map((m) => (m.seq === 2 ? { seq: 2, id: "elsewhere" } : m));
    expect(checkRoom(room(history, [other]))).toEqual([{ room: "r", who: "c0", rule: "diverged", detail: "seq 2 is elsewhere here, m2 on the server" }]);
  });

  test("the server's history: an acknowledged send missing, one stored twice, a gap in the seqs, a phantom", () => {
    const lost = checkRoom(room(messages(2), [messages(2)], ["m1", "m2", "m3"]));
    expect(lost.map((v) => `${v.who}:${v.rule}`)).toEqual(["server:lost"]);
    const storedTwice = [...messages(2), { seq: 3, id: "m1" }];
    expect(checkRoom(room(storedTwice, [storedTwice], ["m1", "m2"])).map((v) => v.rule)).toEqual(["duplicate"]);
    const gap = [{ seq: 1, id: "m1" }, { seq: 3, id: "m3" }];
    expect(checkRoom(room(gap, [], ["m1", "m3"])).map((v) => v.rule)).toEqual(["gap"]);
    const phantom = checkRoom({ ...room(messages(1), []), attempted: new Set() });
    expect(phantom.map((v) => v.rule)).toEqual(["phantom"]);
  });
});
