/**
 * What a client may read from its own session token without verifying it: the claims that say
 * when it runs out and whose it is. Only for scheduling a refresh; the server alone decides.
 */
import type { SessionResponse } from "../protocol/index.js";

export interface TokenClaims {
  /** Expiry, epoch ms. */
  expiresAt?: number;
  /** Issue time, epoch ms. */
  issuedAt?: number;
  /** The holder's display name. */
  name?: string;
  /** The holder's user id (`sub`). */
  subject?: string;
}

/** The claims of a JWT's payload; empty when the token is not a readable JWT. */
export function readTokenClaims(token: string): TokenClaims {
  const payload = token.split(".")[1];
  if (!payload) return {};
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4)), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as { exp?: unknown; iat?: unknown; name?: unknown; sub?: unknown };
    return {
      ...(typeof claims.exp === "number" && { expiresAt: claims.exp * 1000 }),
      ...(typeof claims.iat === "number" && { issuedAt: claims.iat * 1000 }),
      ...(typeof claims.name === "string" && { name: claims.name }),
      ...(typeof claims.sub === "string" && { subject: claims.sub }),
    };
  } catch {
    return {};
  }
}

/** A session as the client keeps it: the token and when it runs out. */
export type TokenGrant = Pick<SessionResponse, "token" | "expiresAt">;

/**
 * When to refresh a token received at `receivedAt` (local epoch ms): at `fraction` of its
 * lifetime. The lifetime is exp − iat, both on the server's clock, so a local clock that is off by
 * minutes does not matter; less a second, as iat is rounded down to one. Without an iat, the
 * lifetime runs from `receivedAt` to `expiresAt`.
 */
export function refreshDueAt(grant: TokenGrant, receivedAt: number, fraction: number): number {
  const { issuedAt } = readTokenClaims(grant.token);
  const lifetime = issuedAt === undefined ? grant.expiresAt - receivedAt : grant.expiresAt - issuedAt - 1_000;
  return receivedAt + fraction * Math.max(0, lifetime);
}
