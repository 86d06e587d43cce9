/**
 * The benchmark's sender over a run longer than a token lives: a 50,000-connection hold ran past
 * the 15-minute token lifetime and ended in "reading hold-0: HTTP 401" — the bench's own sessions
 * were never refreshed (the load clients refresh theirs). Its sends and reads now take the token
 * from a SessionKeeper at every request.
 */
import { expect, test } from "vitest";
import { wirelabTarget } from "../../../server/bench/Publisher.js";
import { SessionKeeper } from "../../../web/src/isomorphic/kit/SessionKeeper.js";
import { session, startServer, stopsAfterEach, until } from "../../helpers.js";

const stops = stopsAfterEach();

test("the sender keeps sending and reading after its first token ran out", async () => {
  const server = await startServer({ tokenTtlSeconds: 2 });
  stops.push(() => server.close());
  const first = await session(server, "bench-sender");
  const keeper = new SessionKeeper({ baseUrl: server.url, session: first });
  keeper.start();
  stops.push(() => keeper.stop());
  const target = wirelabTarget(server.url, keeper.tokenSource);
  await target.post("long-run", "a", "before");

  // Past the first token's end (the server counts whole seconds).
  await until(() => Date.now() > first.expiresAt + 1_100, "the first token to run out", 6_000);
  expect(keeper.token).not.toBe(first.token);
  await target.post("long-run", "b", "after");
  expect(await target.latest("long-run")).toBe(2);
  // The first token is refused by now: the refresh is what kept the sender going.
  await expect(wirelabTarget(server.url, () => first.token).post("long-run", "c", "stale")).rejects.toMatchObject({ status: 401 });
});
