/**
 * The kit's SessionKeeper against a real server with short-lived tokens. Its timers are the
 * test's: each refresh happens when the test fires it, so nothing depends on how fast this
 * machine is; the server checks every token against the real clock.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Wirelab } from "../../server/app.js";
import { FeedHttp, HttpError, SessionKeeper, readTokenClaims, type FetchLike, type KeeperTimers } from "../../web/src/isomorphic/kit/index.js";
import type { SessionResponse } from "../../web/src/isomorphic/protocol/index.js";
import { session, startServer, until } from "../helpers.js";

/** Timers that fire only when the test says so. */
class ManualTimers implements KeeperTimers {
  readonly pending = new Map<number, { callback: () => void; ms: number }>();
  #next = 1;
  set(callback: () => void, ms: number): number {
    const id = this.#next++;
    this.pending.set(id, { callback, ms });
    return id;
  }
  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  /** The one timer set: its delay. */
  get only(): number {
    expect(this.pending.size).toBe(1);
    return [...this.pending.values()][0]!.ms;
  }
  fire(): void {
    const [id, timer] = [...this.pending.entries()][0]!;
    this.pending.delete(id);
    timer.callback();
  }
}

/** The real fetch, with a note of every request's method and path. */
function recordingFetch(): { fetch: FetchLike; calls: string[] } {
  const calls: string[] = [];
  const fetchImpl: FetchLike = (input, init) => {
    calls.push(`${init?.method ?? "GET"} ${new URL(String(input)).pathname}`);
    return fetch(input, init);
  };
  return { fetch: fetchImpl, calls };
}

/** The status a token gets from an endpoint any session may call. */
async function statusWith(server: { url: string }, token: string): Promise<number> {
  const response = await fetch(new URL("/v1/network", server.url), { headers: { authorization: `Bearer ${token}` } });
  await response.body?.cancel();
  return response.status;
}

function next<T>(keeper: SessionKeeper, name: "token" | "expired" | "error"): Promise<T> {
  return new Promise((resolve) => {
    const off = keeper.on(name, ((value: T) => {
      off();
      resolve(value);
    }) as never);
  });
}

let server: Wirelab;
beforeAll(async () => {
  server = await startServer({ tokenTtlSeconds: 4 });
});
afterAll(() => server.close());

test("refreshes at 80% of the lifetime, for the same user; old and new tokens each live until their own expiry", async () => {
  const original = await session(server);
  const timers = new ManualTimers();
  const keeper = new SessionKeeper({ baseUrl: server.url, session: original, timers });
  const tokens: SessionResponse[] = [];
  keeper.on("token", (s) => tokens.push(s));
  keeper.start();
  // 80% of the 4 s lifetime less the second iat may have been rounded down by, from when the
  // token arrived (a few ms ago).
  expect(timers.only).toBeGreaterThan(2_200);
  expect(timers.only).toBeLessThanOrEqual(2_400);

  // Half-way through the original's life, so the new token is another one and outlives it by seconds.
  const issuedAt = readTokenClaims(original.token).issuedAt!;
  await until(() => Date.now() >= issuedAt + 2_000, "half of the token's life");
  const refreshed = next<SessionResponse>(keeper, "token");
  timers.fire();
  const fresh = await refreshed;
  expect(fresh.user).toEqual(original.user);
  expect(fresh.token).not.toBe(original.token);
  expect(fresh.expiresAt).toBeGreaterThan(original.expiresAt);
  expect(keeper.token).toBe(fresh.token);
  expect(keeper.tokenSource()).toBe(fresh.token);
  expect(readTokenClaims(fresh.token).subject).toBe(original.user.id);
  expect(tokens).toEqual([fresh]);
  await until(() => timers.pending.size === 1, "the next refresh to be set");
  expect(timers.only).toBeGreaterThan(2_200); // the next refresh, 80% into the new token's life

  expect(await statusWith(server, original.token)).toBe(200);
  expect(await statusWith(server, fresh.token)).toBe(200);
  await until(() => Date.now() >= original.expiresAt, "the original token to expire");
  expect(await statusWith(server, original.token)).toBe(401);
  expect(await statusWith(server, fresh.token)).toBe(200);
  keeper.stop();
  expect(timers.pending.size).toBe(0);
});

test("reports a token that already expired, and starts no new session (that would be a new user)", async () => {
  const original = await session(server);
  await until(() => Date.now() >= original.expiresAt, "the token to expire");
  const timers = new ManualTimers();
  const { fetch: fetchImpl, calls } = recordingFetch();
  const keeper = new SessionKeeper({ baseUrl: server.url, session: original, timers, fetch: fetchImpl });
  keeper.start();
  const expired = next<HttpError>(keeper, "expired");
  timers.fire();
  const error = await expired;
  expect(error).toBeInstanceOf(HttpError);
  expect(error.status).toBe(401);
  expect(keeper.state).toBe("expired");
  expect(keeper.token).toBe(original.token);
  expect(calls).toEqual(["POST /v1/session/refresh"]);
  expect(timers.pending.size).toBe(0); // it does not keep asking
});

test("retries with backoff while the server cannot be reached, and refreshes once it is back", async () => {
  const away = await startServer({ tokenTtlSeconds: 60 });
  const original = await session(away);
  const { port } = new URL(away.url);
  await away.close();
  const timers = new ManualTimers();
  const keeper = new SessionKeeper({ baseUrl: away.url, session: original, timers, backoff: { baseMs: 1_000, capMs: 8_000 }, random: () => 0.5 });
  keeper.start();
  const delays: number[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const failed = next<Error>(keeper, "error");
    timers.fire();
    await failed;
    delays.push(timers.only);
    expect(keeper.state).toBe("running");
  }
  expect(delays).toEqual([500, 1_000, 2_000]); // half of 1, 2, 4 s: the ceiling doubles
  // The same secret on the same port: the token is good there. A second after it was issued, so
  // the new token is another one.
  const back = await startServer({ tokenTtlSeconds: 60, port: Number(port) });
  try {
    const issuedAt = readTokenClaims(original.token).issuedAt!;
    await until(() => Date.now() >= issuedAt + 1_000, "the next second");
    const refreshed = next<SessionResponse>(keeper, "token");
    timers.fire();
    const fresh = await refreshed;
    expect(fresh.user.id).toBe(original.user.id);
    await until(() => timers.pending.size === 1, "the next refresh to be set");
    expect(timers.only).toBeGreaterThan(40_000);
  } finally {
    keeper.stop();
    await back.close();
  }
});

test("adopts a token a client refreshed for the same user, and only that", async () => {
  const original = await session(server);
  const timers = new ManualTimers();
  const keeper = new SessionKeeper({ baseUrl: server.url, session: original, timers });
  keeper.start();
  const issuedAt = readTokenClaims(original.token).issuedAt!;
  await until(() => Date.now() >= issuedAt + 1_000, "the next second (so the refreshed token differs)");
  const clients = await FeedHttp.refreshSession(server.url, original.token);
  const other = await session(server, "grace");

  expect(keeper.adopt(other)).toBe(false); // another user's
  expect(keeper.adopt(original)).toBe(false); // not newer
  expect(keeper.adopt(clients)).toBe(true);
  expect(keeper.token).toBe(clients.token);
  expect(keeper.user).toEqual(original.user);
  expect(timers.only).toBeGreaterThan(2_200); // rescheduled from the adopted token, not refreshed again now
  expect(keeper.adopt(clients)).toBe(false); // already current
  keeper.stop();
  expect(keeper.adopt(await FeedHttp.refreshSession(server.url, clients.token))).toBe(false); // stopped
});
