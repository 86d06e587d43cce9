/**
 * FeedStore on Redis, shared by every instance of a cluster; it owns the connection it is given. Appends run as one Lua script that
 * also publishes the message (see redisScripts.ts), so RedisFeedBus has nothing to publish itself.
 * Commands are never queued while Redis is unreachable: they fail at once and the caller answers
 * 503, instead of accepting a send it cannot store.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { ERROR_CODES, type Message } from "../../web/src/protocol/index.js";
import { WirelabError } from "../errors.js";
import { APPEND, BOUNDS } from "./redisScripts.js";
import type { AppendResult, FeedStore, MessageDraft, RoomBounds } from "./types.js";

type FeedRedis = Redis & {
  wirelabAppend(seq: string, epoch: string, log: string, ids: string, idKey: string, body: string, limit: number, channel: string, newEpoch: string): Promise<[number, string]>;
  wirelabBounds(seq: string, epoch: string, log: string, newEpoch: string): Promise<[number, number, string]>;
};

/** The keys of one room. */
export function roomKeys(prefix: string, room: string) {
  const base = `${prefix}{${room}}`;
  return { seq: `${base}:seq`, epoch: `${base}:epoch`, log: `${base}:log`, ids: `${base}:ids`, channel: `${base}:live` };
}

export class RedisFeedStore implements FeedStore {
  readonly #redis: FeedRedis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly historyLimit: number,
  ) {
    redis.defineCommand("wirelabAppend", { numberOfKeys: 4, lua: APPEND });
    redis.defineCommand("wirelabBounds", { numberOfKeys: 3, lua: BOUNDS });
    this.#redis = redis as FeedRedis;
  }

  async append(room: string, draft: MessageDraft, ts: number): Promise<AppendResult> {
    const k = roomKeys(this.prefix, room);
    // Key order as documented: seq, id, room, from, text, sentAt?, ts — the script puts seq first.
    const body = JSON.stringify({
      id: draft.id,
      room,
      from: { id: draft.from.id, name: draft.from.name },
      text: draft.text,
      ...(draft.sentAt !== undefined && { sentAt: draft.sentAt }),
      ts,
    }).slice(1);
    const [created, json] = await this.#run(() =>
      this.#redis.wirelabAppend(k.seq, k.epoch, k.log, k.ids, `${draft.from.id}:${draft.id}`, body, this.historyLimit, k.channel, newEpoch()),
    );
    return { message: JSON.parse(json) as Message, created: created === 1 };
  }

  async after(room: string, afterSeq: number, limit: number): Promise<Message[]> {
    if (limit <= 0) return [];
    const { log } = roomKeys(this.prefix, room);
    const rows = await this.#run(() => this.#redis.zrangebyscore(log, `(${afterSeq}`, "+inf", "LIMIT", 0, limit));
    return rows.map((json) => JSON.parse(json) as Message);
  }

  async latest(room: string, limit: number): Promise<Message[]> {
    if (limit <= 0) return [];
    const { log } = roomKeys(this.prefix, room);
    const rows = await this.#run(() => this.#redis.zrange(log, -limit, -1));
    return rows.map((json) => JSON.parse(json) as Message);
  }

  async bounds(room: string): Promise<RoomBounds> {
    const k = roomKeys(this.prefix, room);
    const [latest, oldest, epoch] = await this.#run(() => this.#redis.wirelabBounds(k.seq, k.epoch, k.log, newEpoch()));
    return { latest: Number(latest), oldest: Number(oldest), epoch };
  }

  async close(): Promise<void> {
    await closeConnection(this.#redis);
  }

  /** Run a command; a failure while Redis is unreachable is a 503, not an internal error. */
  async #run<T>(command: () => Promise<T>): Promise<T> {
    if (this.#redis.status !== "ready") throw unreachable();
    try {
      return await command();
    } catch (error) {
      if (this.#redis.status !== "ready") throw unreachable();
      throw error;
    }
  }
}

/** QUIT when Redis answers; otherwise just drop the connection (and its reconnect loop). */
export async function closeConnection(redis: Redis): Promise<void> {
  if (redis.status === "ready") await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}

/** An epoch for a room that has none yet; the scripts use it only then. */
function newEpoch(): string {
  return randomBytes(4).toString("hex");
}

function unreachable(): WirelabError {
  return new WirelabError(503, ERROR_CODES.unavailable, "the feed's store (Redis) is unreachable: try again shortly");
}
