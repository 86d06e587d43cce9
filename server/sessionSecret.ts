/**
 * Where the token-signing secret comes from when none is configured (WIRELAB_SECRET unset): it
 * is kept beside the data, so a restart does not invalidate every session. That matters beyond
 * convenience: a send is deduplicated on (room, sender id, message id), and the sender id lives
 * in the token — a client that had to take a new session after a restart would store each of its
 * retried sends a second time.
 *
 * - SQLite file: `<data file>.secret`, created once with mode 0600.
 * - Redis: one key `<prefix>secret`, set if absent, so every instance on that Redis shares it.
 * - Memory only: nothing survives a restart anyway; a random secret per process.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { Redis } from "ioredis";
import type { WirelabConfig } from "./config.js";

const fresh = () => randomBytes(32).toString("base64url");

export async function sessionSecret(config: Pick<WirelabConfig, "secret" | "dataFile" | "redisUrl" | "redisPrefix">): Promise<string> {
  if (config.secret !== null) return config.secret;
  if (config.redisUrl !== null) return fromRedis(config.redisUrl, `${config.redisPrefix}secret`);
  if (config.dataFile === ":memory:") return fresh();
  return fromFile(`${config.dataFile}.secret`);
}

function fromFile(path: string): string {
  try {
    writeFileSync(path, `${fresh()}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    // Someone may have loosened it; a readable secret lets any local user forge sessions.
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  }
  const secret = readFileSync(path, "utf8").trim();
  if (secret.length < 16) throw new TypeError(`the token secret in ${path} must be at least 16 characters`);
  return secret;
}

async function fromRedis(url: string, key: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  redis.on("error", () => {});
  try {
    await redis.connect();
    await redis.set(key, fresh(), "NX");
    const secret = await redis.get(key);
    if (secret === null || secret.length < 16) throw new Error(`the token secret at Redis key ${key} is missing or too short`);
    return secret;
  } finally {
    redis.disconnect();
  }
}
