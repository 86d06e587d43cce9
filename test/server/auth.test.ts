/** Session tokens: issued, verified (and remembered once verified), refused when forged or expired. */
import { SignJWT } from "jose";
import { describe, expect, test } from "vitest";
import { TokenIssuer } from "../../server/auth.js";
import { WirelabError } from "../../server/errors.js";

const SECRET = "a-secret-of-sufficient-length";

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(WirelabError);
    expect((error as WirelabError).status).toBe(401);
    return (error as Error).message;
  }
  throw new Error("the token was accepted");
}

describe("TokenIssuer", () => {
  test("a token verifies to its holder, again and again", async () => {
    const issuer = new TokenIssuer(SECRET, 60);
    const { token, user } = await issuer.issue("ada", "learner");
    expect(await issuer.verify(token)).toEqual(user);
    expect(await issuer.verify(token)).toEqual(user);
  });

  test("a remembered token still expires on time", async () => {
    let now = Date.now();
    const issuer = new TokenIssuer(SECRET, 60, () => now);
    const { token } = await issuer.issue("ada", "instructor");
    await issuer.verify(token); // remembered from here on
    now += 61_000;
    expect(await refusal(issuer.verify(token))).toMatch(/expired/);
    // And a fresh verifier (nothing remembered) refuses it too.
    expect(await refusal(new TokenIssuer(SECRET, 60, () => now).verify(token))).toMatch(/expired/);
  });

  test("forged and malformed tokens are refused, however often they are tried", async () => {
    const forged = await new SignJWT({ name: "mallory", role: "instructor" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("u-mallory")
      .setIssuer("wirelab")
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode("another-secret-of-enough-length"));
    const issuer = new TokenIssuer(SECRET, 60);
    for (let i = 0; i < 2; i++) {
      expect(await refusal(issuer.verify(forged))).toMatch(/not valid/);
      expect(await refusal(issuer.verify("not.a.token"))).toMatch(/not valid/);
    }
    expect(await refusal(issuer.verify(undefined))).toMatch(/required/);
  });
});
