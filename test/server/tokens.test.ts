/**
 * The token lifecycle: only canonical encodings verify, a refresh keeps the user, and a stream
 * whose token runs out is closed the documented way (WebSocket 1008, SSE `event:expired`) — and
 * the kit of every transport comes back by itself, without losing or repeating a message.
 */
import { WebSocket } from "ws";
import { describe, expect, test } from "vitest";
import type { Wirelab } from "../../server/app.js";
import { TokenIssuer } from "../../server/auth.js";
import { WirelabError } from "../../server/errors.js";
import { TRANSPORTS, type SessionResponse } from "../../web/src/isomorphic/protocol/index.js";
import { client, connected, session, startServer, stopsAfterEach, TEST_SECRET, until } from "../helpers.js";

const SECRET = "a-secret-of-sufficient-length";

const stops = stopsAfterEach();

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
  const variants: Record<string, string> = {
    "= appended": `${token}=`,
    "== appended": `${token}==`,
    "last character's unused bits flipped": flipUnusedBits(token),
    "padding inside the payload": `${header}.${payload}=.${signature}`,
    "padding inside the header": `${header}==.${payload}.${signature}`,
    "standard base64 alphabet": token.replace(/-/g, "+").replace(/_/g, "/"),
    "a space inside": `${header}.${payload} .${signature}`,
  };
  // A token without "-" or "_" reads the same in both alphabets: nothing to vary.
  if (variants["standard base64 alphabet"] === token) delete variants["standard base64 alphabet"];
  return variants;
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

/** The user id a token names (its subject). */
function subjectOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { sub: string }).sub;
}

async function refresh(server: Wirelab, token: string): Promise<{ status: number; body: SessionResponse & { error?: { code: string } } }> {
  const response = await fetch(`${server.url}/v1/session/refresh`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() };
}

/** A token of this server's secret that outlives the test: for a sender that must not expire. */
async function longLived(name: string): Promise<SessionResponse> {
  return new TokenIssuer(TEST_SECRET, 3600).issue(name, "learner");
}

describe("POST /v1/session/refresh", () => {
  test("a valid token buys a fresh one for the same user, name and role; a bad or expired one gets 401", async () => {
    let now = Date.now();
    const issuer = new TokenIssuer(SECRET, 60, () => now);
    const first = await issuer.issue("ada", "instructor");
    now += 30_000;
    const second = await issuer.refresh(await issuer.verify(first.token));
    expect(second.user).toEqual(first.user);
    expect(second.expiresAt).toBe(first.expiresAt + 30_000);
    expect(await issuer.verify(second.token)).toEqual(first.user);

    const server = await started();
    const { token, user } = await session(server);
    const refreshed = await refresh(server, token);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.user).toEqual(user);
    expect(subjectOf(refreshed.body.token)).toBe(user.id);
    expect((await refresh(server, `${token}=`)).status).toBe(401);
    const missing = await fetch(`${server.url}/v1/session/refresh`, { method: "POST" });
    expect(missing.status).toBe(401);
    expect((await missing.json()).error.code).toBe("unauthorized");
  });

  test("an expired token cannot be refreshed", async () => {
    const server = await started({ tokenTtlSeconds: 1 });
    const { token, expiresAt } = await session(server);
    await until(() => Date.now() >= expiresAt + 50, "the token to expire");
    const answer = await refresh(server, token);
    expect(answer.status).toBe(401);
    expect(answer.body.error?.code).toBe("unauthorized");
  });
});

describe("a stream whose token runs out", () => {
  test("a WebSocket is closed with 1008 \"token expired\", and counted", async () => {
    const server = await started({ tokenTtlSeconds: 2 });
    const { token } = await session(server);
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/rooms/lobby/ws?token=${token}`);
    stops.push(() => ws.terminate());
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    expect(closed).toEqual({ code: 1008, reason: "token expired" });
    expect(server.connections.terminated("expired")).toBe(1);
  });

  test("a WebSocket handed a refreshed token over the socket lives past the old expiry", async () => {
    const server = await started({ tokenTtlSeconds: 4 });
    const first = await session(server);
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/rooms/lobby/ws?token=${first.token}`);
    stops.push(() => ws.terminate());
    const frames: Array<{ type: string; expiresAt?: number; code?: string }> = [];
    ws.on("message", (data) => frames.push(JSON.parse(data.toString())));
    let closed: number | undefined;
    ws.once("close", (code) => (closed = code));
    await until(() => frames.some((f) => f.type === "hello"), "the hello");

    // Refresh until the new token really lives longer (expiry has second resolution).
    let next = await refresh(server, first.token);
    while (next.body.expiresAt <= first.expiresAt) {
      await new Promise((r) => setTimeout(r, 100));
      next = await refresh(server, first.token);
    }
    // Another user's token is refused and changes nothing.
    ws.send(JSON.stringify({ type: "refresh", token: (await session(server, "eve")).token }));
    await until(() => frames.some((f) => f.type === "error"), "the refusal");
    expect(frames.find((f) => f.type === "error")!.code).toBe("unauthorized");
    ws.send(JSON.stringify({ type: "refresh", token: next.body.token }));
    await until(() => frames.some((f) => f.type === "refreshed"), "the refreshed frame");
    expect(frames.find((f) => f.type === "refreshed")!.expiresAt).toBe(next.body.expiresAt);

    await until(() => Date.now() > first.expiresAt + 500, "the old expiry to pass", 10_000);
    expect(closed).toBeUndefined();
    await until(() => closed !== undefined, "the close at the new expiry", 10_000);
    expect(closed).toBe(1008);
  });

  test("an SSE stream gets event:expired, then ends", async () => {
    const server = await started({ tokenTtlSeconds: 2 });
    const { token } = await session(server);
    const response = await fetch(`${server.url}/v1/rooms/lobby/events`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    const text = await response.text(); // resolves only once the server ends the stream
    expect(text).toContain("event:hello");
    expect(text).toMatch(/event:expired\ndata:\{"reason":"token expired"\}\n\n$/);
    expect(server.connections.terminated("expired")).toBe(1);
  });
});

/** Sends m-0, m-1, … to the lobby over HTTP, remembering the ids in order. */
function numberedSender(server: { url: string }, token: string): { ids: string[]; send(): Promise<void> } {
  const ids: string[] = [];
  const send = async () => {
    const id = `m-${ids.length}`;
    ids.push(id);
    const response = await fetch(`${server.url}/v1/rooms/lobby/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ id, text: id }),
    });
    expect(response.ok).toBe(true);
  };
  return { ids, send };
}

describe("the kit keeps its session alive", () => {
  test("refreshing in time: same user, no expiry close, no reconnect, every message once (every transport)", async () => {
    const server = await started({ tokenTtlSeconds: 4 });
    const own = await session(server);
    const clients = TRANSPORTS.map((t) => client(server, t, own.token, { refreshAt: 0.5, history: 0 }));
    stops.push(() => clients.forEach((c) => c.close()));
    await Promise.all(clients.map(connected));
    const sender = await longLived("sender");
    const { ids, send } = numberedSender(server, sender.token);
    // Two refreshes each, with messages on the way.
    while (!clients.every((c) => c.stats.counters.tokenRenewals >= 2)) {
      await send();
      await new Promise((r) => setTimeout(r, 200));
    }
    await send();
    for (const c of clients) {
      await until(() => c.received.length >= ids.length, `${c.transport} to catch up`);
      expect(c.received.map((m) => m.id), c.transport).toEqual(ids);
      expect(subjectOf((c as unknown as { token: string }).token), c.transport).toBe(own.user.id);
      expect(c.stats.counters.reconnects, c.transport).toBe(0);
      expect(c.state, c.transport).toBe("open");
    }
    expect(server.connections.terminated("expired")).toBe(0);
    // The refreshed token works for sending, and the sender stays the same user.
    const ws = clients[3]!;
    await ws.send("from the refreshed socket");
    await until(() => ws.received.some((m) => m.text === "from the refreshed socket"), "the own message");
    expect(ws.received.find((m) => m.text === "from the refreshed socket")!.from.id).toBe(own.user.id);
  });

  test("a client that missed its refresh is closed at expiry and comes back by itself, missing nothing (every transport)", async () => {
    const server = await started({ tokenTtlSeconds: 2 });
    const own = await session(server);
    // refreshAt 0: no refresh ahead of time, so every transport meets its expiry.
    const clients = TRANSPORTS.map((t) => client(server, t, own.token, { refreshAt: 0, history: 0, waitMs: 500 }));
    stops.push(() => clients.forEach((c) => c.close()));
    await Promise.all(clients.map(connected));
    const sender = await longLived("sender");
    const { ids, send } = numberedSender(server, sender.token);
    while (!clients.every((c) => c.stats.counters.tokenRenewals >= 1 && c.state === "open")) {
      await send();
      await new Promise((r) => setTimeout(r, 100));
    }
    await send();
    // Both streams were closed by the server for their expired token.
    expect(server.connections.terminated("expired")).toBeGreaterThanOrEqual(2);
    for (const c of clients) {
      await until(() => c.received.length >= ids.length, `${c.transport} to catch up`);
      expect(c.received.map((m) => m.id), c.transport).toEqual(ids);
    }
  });
});
