/**
 * Idempotency across restarts in the default configuration: with no WIRELAB_SECRET the signing
 * secret is kept beside the data (a 0600 file next to the SQLite file, or a key in Redis), so a
 * client's token — and with it the sender id its sends are deduplicated on — survives a restart.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, test } from "vitest";
import { startWirelab } from "../../server/app.js";
import { redisForTests, testPrefix, deleteKeys } from "../redis.js";
import { tempDir } from "../helpers.js";

const quiet = pino({ level: "silent" });
const noSecretEnv = () => {
  const saved = process.env.WIRELAB_SECRET;
  delete process.env.WIRELAB_SECRET;
  return () => {
    if (saved !== undefined) process.env.WIRELAB_SECRET = saved;
  };
};

async function sendOnce(url: string, token: string, id: string): Promise<number> {
  const res = await fetch(`${url}/v1/rooms/lobby/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ id, text: "sent before the crash, retried after" }),
  });
  return res.status;
}

describe("the signing secret survives a restart when none is configured", () => {
  test("SQLite: a retried send after a restart is not stored twice, and the secret file is 0600", async () => {
    const restore = noSecretEnv();
    const { dir, cleanup } = tempDir();
    const dataFile = join(dir, "feed.db");
    try {
      const first = await startWirelab({ port: 0, dataFile, networkPort: null }, quiet);
      const session = await (await fetch(`${first.url}/v1/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "ada" }) })).json();
      expect(await sendOnce(first.url, session.token, "m-1")).toBe(201);
      await first.close();

      const second = await startWirelab({ port: 0, dataFile, networkPort: null }, quiet);
      try {
        // The retry: same token, same id. Stored once means 200 (already there), not 401 or 201.
        expect(await sendOnce(second.url, session.token, "m-1")).toBe(200);
        const page = await (await fetch(`${second.url}/v1/rooms/lobby/messages?since=0`, { headers: { authorization: `Bearer ${session.token}` } })).json();
        expect(page.messages.map((m: { id: string }) => m.id)).toEqual(["m-1"]);
      } finally {
        await second.close();
      }
      expect(statSync(`${dataFile}.secret`).mode & 0o777).toBe(0o600);
    } finally {
      restore();
      cleanup();
    }
  });

  test("Redis: instances started without a secret share one, kept in Redis", async () => {
    const redis = await redisForTests();
    const restore = noSecretEnv();
    const prefix = testPrefix();
    try {
      const a = await startWirelab({ port: 0, redisUrl: redis.url, redisPrefix: prefix, networkPort: null }, quiet);
      const session = await (await fetch(`${a.url}/v1/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "ada" }) })).json();
      expect(await sendOnce(a.url, session.token, "m-1")).toBe(201);
      await a.close();
      const b = await startWirelab({ port: 0, redisUrl: redis.url, redisPrefix: prefix, networkPort: null }, quiet);
      try {
        expect(await sendOnce(b.url, session.token, "m-1")).toBe(200);
      } finally {
        await b.close();
      }
    } finally {
      restore();
      await deleteKeys(redis.url, prefix);
    }
  });

  test("memory: no file is written, and an in-place restart keeps tokens valid", async () => {
    const restore = noSecretEnv();
    try {
      const { WirelabSupervisor } = await import("../../server/WirelabSupervisor.js");
      const supervisor = await WirelabSupervisor.start({ port: 0, memory: true, networkPort: null }, quiet);
      try {
        const session = await (await fetch(`${supervisor.url}/v1/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "ada" }) })).json();
        await supervisor.restart(10);
        expect(await sendOnce(supervisor.url, session.token, "m-1")).toBe(201);
      } finally {
        await supervisor.close();
      }
    } finally {
      restore();
    }
  });
});
