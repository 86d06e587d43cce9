/**
 * Session tokens: HS256 JWTs signed with jose. The user id is the subject, the display
 * name a claim. Tokens arrive as `Authorization: Bearer …` or, where a browser API cannot
 * set headers (EventSource, WebSocket), as `?token=…`.
 */
import type { IncomingMessage } from "node:http";
import { randomUUID } from "node:crypto";
import { SignJWT, jwtVerify, errors as joseErrors } from "jose";
import type { SessionResponse, User } from "../web/src/protocol/index.js";
import { unauthorized } from "./errors.js";

const ISSUER = "wirelab";

export class TokenIssuer {
  readonly #key: Uint8Array;

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    this.#key = new TextEncoder().encode(secret);
  }

  async issue(name: string): Promise<SessionResponse> {
    const user: User = { id: `u-${randomUUID()}`, name };
    const now = Math.floor(Date.now() / 1000);
    const exp = now + this.ttlSeconds;
    const token = await new SignJWT({ name })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(user.id)
      .setIssuer(ISSUER)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.#key);
    return { token, user, expiresAt: exp * 1000 };
  }

  /** Verify a token and return its user; throws a 401 WirelabError otherwise. */
  async verify(token: string | undefined): Promise<User> {
    if (!token) throw unauthorized("a session token is required (Authorization: Bearer … or ?token=…)");
    try {
      const { payload } = await jwtVerify(token, this.#key, { issuer: ISSUER, algorithms: ["HS256"] });
      if (typeof payload.sub !== "string" || typeof payload.name !== "string") {
        throw unauthorized("the session token lacks a user");
      }
      return { id: payload.sub, name: payload.name };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthorized("the session token has expired");
      if (error instanceof joseErrors.JOSEError) throw unauthorized("the session token is not valid");
      throw error;
    }
  }
}

/** The token of a request: the Authorization header wins over the query string. */
export function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match?.[1];
  }
  return url.searchParams.get("token") ?? undefined;
}
