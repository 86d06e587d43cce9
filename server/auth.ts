/**
 * Session tokens: HS256 JWTs signed with jose. The user id is the subject; the display name and
 * the role are claims. Tokens arrive as `Authorization: Bearer …` or, where a browser API cannot
 * set headers (EventSource, WebSocket), as `?token=…`.
 */
import type { IncomingMessage } from "node:http";
import { randomUUID, timingSafeEqual } from "node:crypto";
import { SignJWT, jwtVerify, errors as joseErrors } from "jose";
import { ERROR_CODES, ROLES, type Principal, type Role, type SessionResponse } from "../web/src/isomorphic/protocol/index.js";
import { WirelabError, unauthorized } from "./errors.js";

const ISSUER = "wirelab";

/** Verified tokens remembered, so a poller does not pay an HMAC check per request. */
const VERIFIED_CACHE_SIZE = 50_000;

/** Three parts of unpadded base64url, nothing else. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * True when every part of a compact JWS is the one canonical unpadded base64url encoding of its
 * bytes. Decoders are lax (they skip `=`, ignore the unused low bits of the last character), so
 * without this many strings verify as one token: a tampered copy would pass as the original.
 */
export function isCanonicalCompactJws(token: string): boolean {
  if (!COMPACT_JWS.test(token)) return false;
  for (const part of token.split(".")) {
    if (Buffer.from(part, "base64url").toString("base64url") !== part) return false;
  }
  return true;
}

/** Who holds a verified token, and until when (epoch ms) it is valid. */
export interface VerifiedToken {
  principal: Principal;
  expiresAt: number;
}

export class TokenIssuer {
  readonly #key: Uint8Array;
  /**
   * Tokens that passed verification, with their holder and expiry. Only a token that verified is
   * ever stored, and its expiry is checked on every hit, so the cache cannot accept what jose would
   * refuse. Oldest entries go first.
   */
  readonly #verified = new Map<string, VerifiedToken>();

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.#key = new TextEncoder().encode(secret);
  }

  /** Lifetime of the tokens this issuer signs, in ms. */
  get ttlMs(): number {
    return this.ttlSeconds * 1000;
  }

  /** A new session: a new user id. */
  issue(name: string, role: Role): Promise<SessionResponse> {
    return this.#sign({ id: `u-${randomUUID()}`, name, role });
  }

  /**
   * A fresh token for the holder of a still-valid one: the same user id, name and role (the id is
   * half of every send's idempotency key, so it must not change while a client lives).
   */
  refresh(principal: Principal): Promise<SessionResponse> {
    return this.#sign(principal);
  }

  async #sign(user: Principal): Promise<SessionResponse> {
    const { name, role } = user;
    const now = Math.floor(this.clock() / 1000);
    const exp = now + this.ttlSeconds;
    const token = await new SignJWT({ name, role })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(user.id)
      .setIssuer(ISSUER)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.#key);
    return { token, user, expiresAt: exp * 1000 };
  }

  /** Verify a token and return its holder; throws a 401 WirelabError otherwise. */
  async verify(token: string | undefined): Promise<Principal> {
    return (await this.verifySession(token)).principal;
  }

  /** Verify a token and return its holder and expiry; throws a 401 WirelabError otherwise. */
  async verifySession(token: string | undefined): Promise<VerifiedToken> {
    if (!token) throw unauthorized("a session token is required (Authorization: Bearer … or ?token=…)");
    // Only canonical tokens are ever remembered, so a hit is one; anything else is checked before jose.
    const known = this.#verified.get(token);
    if (known) {
      if (this.clock() < known.expiresAt) return known;
      this.#verified.delete(token);
      throw unauthorized("the session token has expired");
    }
    // Before jose: only the one canonical spelling of a token is that token.
    if (!isCanonicalCompactJws(token)) throw unauthorized("the session token is not valid");
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        issuer: ISSUER,
        algorithms: ["HS256"],
        currentDate: new Date(this.clock()),
      });
      if (typeof payload.sub !== "string" || typeof payload.name !== "string" || typeof payload.exp !== "number") {
        throw unauthorized("the session token lacks a user");
      }
      // Tokens from before roles existed are learners.
      const role = (ROLES as readonly unknown[]).includes(payload.role) ? (payload.role as Role) : "learner";
      const principal: Principal = { id: payload.sub, name: payload.name, role };
      const verified: VerifiedToken = { principal, expiresAt: payload.exp * 1000 };
      if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value!);
      this.#verified.set(token, verified);
      return verified;
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthorized("the session token has expired");
      if (error instanceof joseErrors.JOSEError) throw unauthorized("the session token is not valid");
      throw error;
    }
  }
}

/**
 * The role a new session gets: instructor with the right key, or on a workbench that only
 * its own machine can reach (bound to loopback); learner otherwise. The session route passes
 * autoInstructor false for a page that is not the server's own (see OriginPolicy.isOwnOrigin).
 */
export function roleFor(instructorKey: string | undefined, config: { instructorKey: string; autoInstructor: boolean }): Role {
  if (instructorKey !== undefined) {
    const given = Buffer.from(instructorKey);
    const expected = Buffer.from(config.instructorKey);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new WirelabError(403, ERROR_CODES.forbidden, "the instructor key is not valid");
    }
    return "instructor";
  }
  return config.autoInstructor ? "instructor" : "learner";
}

/**
 * A learner joining a class server that has a class code must give it (instructors join with
 * their key instead). Compared in constant time, like the key.
 */
export function checkClassCode(classCode: string | undefined, expected: string | null): void {
  if (expected === null) return;
  if (classCode === undefined || classCode.trim() === "") {
    throw new WirelabError(403, ERROR_CODES.classCodeRequired, "this class asks for its class code: ask your instructor");
  }
  const given = Buffer.from(classCode.trim());
  const wanted = Buffer.from(expected);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    throw new WirelabError(403, ERROR_CODES.classCodeRequired, "the class code is not right: ask your instructor");
  }
}

/** The token of a request: the Authorization header wins over the query string. */
export function tokenOf(req: IncomingMessage, query: URLSearchParams | Record<string, string | string[] | undefined>): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match?.[1];
  }
  // The first of repeated parameters, as URLSearchParams.get answers.
  const token = query instanceof URLSearchParams ? query.get("token") : query.token;
  return (Array.isArray(token) ? token[0] : token) ?? undefined;
}
