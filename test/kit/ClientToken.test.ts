/** A feed client's token: refreshed on time, renewed once for many callers, a new session only when refused. */
import { describe, expect, test } from "vitest";
import { ClientToken, type ClientTokenOptions } from "../../web/src/isomorphic/kit/ClientToken.js";
import { HttpError } from "../../web/src/isomorphic/kit/JsonClient.js";
import { refreshDueAt, type TokenGrant } from "../../web/src/isomorphic/kit/tokens.js";
import { until } from "../helpers.js";

/** An unsigned JWT-shaped token with the claims the client reads (it never verifies them). */
function token(claims: { iat?: number; exp?: number; sub?: string }): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "none" })}.${part(claims)}.x`;
}

function grantFor(lifetimeMs: number, now = Date.now()): TokenGrant {
  const iat = Math.floor(now / 1000);
  const exp = iat + lifetimeMs / 1000;
  return { token: token({ iat, exp, sub: "u1" }), expiresAt: exp * 1000 };
}

function clientToken(first: TokenGrant, overrides: Partial<ClientTokenOptions> = {}) {
  const changes: TokenGrant[] = [];
  const failures: Error[] = [];
  let refreshes = 0;
  const held = new ClientToken({
    token: first.token,
    refreshAt: 0.8,
    clock: Date.now,
    refresh: async () => {
      refreshes += 1;
      return grantFor(60_000);
    },
    renewSession: null,
    changed: (grant) => changes.push(grant),
    failed: (error) => failures.push(error),
    ...overrides,
  });
  return { held, changes, failures, refreshes: () => refreshes };
}

describe("refreshDueAt", () => {
  test("at the fraction of exp − iat (less iat's rounding second), counted from when the token arrived", () => {
    const grant = { token: token({ iat: 1_000, exp: 1_011 }), expiresAt: 1_011_000 };
    // Lifetime 11 s − 1 s = 10 s; received at local 5,000 ms: due 8 s later.
    expect(refreshDueAt(grant, 5_000, 0.8)).toBe(13_000);
    // A local clock minutes off does not move it relative to receipt.
    expect(refreshDueAt(grant, 900_000, 0.8)).toBe(908_000);
  });

  test("without an iat, the lifetime runs from receipt to expiry; a spent token is due now", () => {
    expect(refreshDueAt({ token: "opaque", expiresAt: 20_000 }, 10_000, 0.5)).toBe(15_000);
    expect(refreshDueAt({ token: "opaque", expiresAt: 5_000 }, 10_000, 0.5)).toBe(10_000);
  });
});

describe("ClientToken", () => {
  test("reads the expiry from the token's claims; expired by the clock it was given", () => {
    const first = grantFor(10_000, 1_000_000);
    let now = 1_000_000;
    const { held } = clientToken(first, { clock: () => now });
    expect(held.value).toBe(first.token);
    expect(held.expiresAt).toBe(first.expiresAt);
    expect(held.expired).toBe(false);
    now = first.expiresAt;
    expect(held.expired).toBe(true);
  });

  test("many callers, one refresh: the new token is in use and announced once", async () => {
    const t = clientToken(grantFor(60_000));
    await Promise.all([t.held.renew(), t.held.renew(), t.held.renew()]);
    expect(t.refreshes()).toBe(1);
    expect(t.changes).toHaveLength(1);
    expect(t.held.value).toBe(t.changes[0]!.token);
  });

  test("a refused refresh (401) becomes a new session; without one, the refusal is thrown", async () => {
    const refused = async (): Promise<TokenGrant> => {
      throw new HttpError(401, "unauthorized", "token expired");
    };
    const fresh = grantFor(60_000);
    const renewing = clientToken(grantFor(60_000), { refresh: refused, renewSession: async () => fresh });
    await renewing.held.renew();
    expect(renewing.held.value).toBe(fresh.token);

    const stuck = clientToken(grantFor(60_000), { refresh: refused });
    await expect(stuck.held.renew()).rejects.toMatchObject({ status: 401 });
    expect(stuck.changes).toHaveLength(0);
  });

  test("a failure that is not a refusal does not start a new session (that would be a new user)", async () => {
    let sessions = 0;
    const t = clientToken(grantFor(60_000), {
      refresh: async () => {
        throw new HttpError(503, "unavailable", "restarting");
      },
      renewSession: async () => {
        sessions += 1;
        return grantFor(60_000);
      },
    });
    await expect(t.held.renew()).rejects.toMatchObject({ status: 503 });
    expect(sessions).toBe(0);
  });

  test("keepFresh refreshes ahead of expiry, again for each new token, and stop() ends it", async () => {
    // Two-second tokens refreshed at half their lifetime: (2 s − 1 s) × 0.5 after receipt.
    const t = clientToken(grantFor(2_000), { refreshAt: 0.5, refresh: async () => grantFor(2_000) });
    t.held.keepFresh();
    await until(() => t.changes.length >= 2, "two refreshes");
    t.held.stop();
    const after = t.changes.length;
    await new Promise((r) => setTimeout(r, 1_200));
    expect(t.changes.length).toBe(after);
    expect(t.failures).toEqual([]);
  });

  test("refreshAt 0 never refreshes ahead of time", async () => {
    const t = clientToken(grantFor(2_000), { refreshAt: 0 });
    t.held.keepFresh();
    await new Promise((r) => setTimeout(r, 1_200));
    t.held.stop();
    expect(t.refreshes()).toBe(0);
  });
});
