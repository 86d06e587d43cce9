/**
 * The token lifecycle: only canonical encodings verify, a refresh keeps the user, and a stream
 * whose token runs out is closed the documented way (WebSocket 1008, SSE `event:expired`) — and
 * the kit of every transport comes back by itself, without losing or repeating a message.
 */
import { WebSocket } from "ws";
import { afterEach, describe, expect, test } from "vitest";
import type { Wirelab } from "../server/app.js";
import { TokenIssuer } from "../server/auth.js";
import { WirelabError } from "../server/errors.js";
import { TRANSPORTS, type SessionResponse } from "../web/src/protocol/index.js";
import { client, connected, session, startServer, until } from "./helpers.js";

const SECRET = "a-secret-of-sufficient-length";

const stops: Array<() => unknown> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function started(options: Parameters<typeof startServer>[0] = {}): Promise<Wirelab> {
  const server = await startServer(options);
  stops.push(() => server.close());
  return server;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * The same token with its last character changed so that only the unused low bits differ: a lax
 * decoder reads the very same bytes. A 32-byte HS256 signature is 43 characters, 2 bits unused.
 */
function flipUnusedBits(token: string): string {
  const last = token.at(-1)!;
  const index = ALPHABET.indexOf(last);
  return token.slice(0, -1) + ALPHABET[index ^ 0b01]!;
}

/** Variants of a valid token that decode to the same bytes under a lax decoder. */
function laxVariants(token: string): Record<string, string> {
  const [header, payload, signature] = token.split(".") as [string, string, string];
  return {
    "= appended": `${token}=`,
    "== appended": `${token}==`,
    "last character's unused bits flipped": flipUnusedBits(token),
    "padding inside the payload": `${header}.${payload}=.${signature}`,
    "padding inside the header": `${header}==.${payload}.${signature}`,
    "standard base64 alphabet": token.replace(/-/g, "+").replace(/_/g, "/"),
    "a space inside": `${header}.${payload} .${signature}`,
  };
}

async function status(server: Wirelab, token: string): Promise<number> {
  const response = await fetch(`${server.url}/v1/rooms/lobby/messages?since=0`, { headers: { authorization: `Bearer ${token}` } });
  await response.text();
  return response.status;
}

describe("canonical token encodings only", () => {
  test("a token re-encoded laxly is refused by the issuer, even after the canonical one was remembered", async () => {
    const issuer = new TokenIssuer(SECRET, 60);
    const { token } = await issuer.issue("ada", "learner");
    await issuer.verify(token);
    const variants = laxVariants(token);
    // The flip really leaves the decoded bytes alone: what a lax decoder sees is the same token.
    expect(Buffer.from(variants["last character's unused bits flipped"]!.split(".")[2]!, "base64url")).toEqual(
      Buffer.from(token.split(".")[2]!, "base64url"),
    );
    for (const [what, variant] of Object.entries(variants)) {
      expect(variant, what).not.toBe(token);
      const refused = await issuer.verify(variant).then(() => null, (error: unknown) => error);
      expect(refused, what).toBeInstanceOf(WirelabError);
      expect((refused as WirelabError).status, what).toBe(401);
    }
  });

  test("over HTTP and WebSocket, every lax variant gets 401 and the canonical token still works", async () => {
    const server = await started();
    const { token } = await session(server);
    expect(await status(server, token)).toBe(200);
    for (const [what, variant] of Object.entries(laxVariants(token))) {
      if (what === "a space inside") continue; // not a single header token
      expect(await status(server, variant), what).toBe(401);
      const upgrade = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/rooms/lobby/ws?token=${encodeURIComponent(variant)}`);
        ws.once("open", () => {
          ws.close();
          resolve(101);
        });
        ws.once("unexpected-response", (_req, res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        ws.once("error", reject);
      });
      expect(upgrade, what).toBe(401);
    }
    expect(await status(server, token)).toBe(200);
  });
});
