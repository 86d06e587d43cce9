/**
 * FeedStore on Redis, shared by every instance of a cluster; it owns the connection it is given. Appends run as one Lua script that
 * also publishes the message (see redisScripts.ts), so RedisFeedBus has nothing to publish itself.
 * Commands are never queued while Redis is unreachable: they fail at once and the caller answers
 * 503, instead of accepting a send it cannot store.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { ERROR_CODES, type Message } from "../../web/src/isomorphic/protocol/index.js";
import { WirelabError } from "../errors.js";
import { NO_ROOM_LIMITS, tooManyRooms } from "./limits.js";
import { ADMIT, AFTER, APPEND, BOUNDS, LATEST } from "./redisScripts.js";
import type { AppendResult, FeedEvent, FeedStore, HistoryPage, MessageDraft, RoomBounds, StoreLimits } from "./types.js";

type FeedRedis = Redis & {
  wirelabAppend(seq: string, epoch: string, log: string, ids: string, bytes: string, idKey: string, body: string, limit: number, channel: string, newEpoch: string, maxBytes: number): Promise<[number, string]>;
  wirelabBounds(seq: string, epoch: string, log: string, newEpoch: string): Promise<[number, number, string]>;
  wirelabAfter(log: string, afterSeq: number, limit: number, maxBytes: number): Promise<[number, string[]]>;
  wirelabLatest(log: string, limit: number, maxBytes: number): Promise<[number, string[]]>;
  wirelabAdmit(rooms: string, room: string, maxRooms: number): Promise<number>;
};

/** The keys of one room. */
export function roomKeys(prefix: string, room: string) {
  const base = `${prefix}{${room}}`;
  return { seq: `${base}:seq`, epoch: `${base}:epoch`, log: `${base}:log`, ids: `${base}:ids`, bytes: `${base}:bytes`, channel: `${base}:live` };
}

export class RedisFeedStore implements FeedStore {
  readonly #redis: FeedRedis;
  readonly #limits: Omit<StoreLimits, "historyLimit">;
  /** Rooms this instance has seen admitted under the cap: only a room new to it costs the extra round trip. */
  readonly #admitted = new Set<string>();

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly historyLimit: number,
    limits: Partial<Omit<StoreLimits, "historyLimit">> = {},
  ) {
    redis.defineCommand("wirelabAppend", { numberOfKeys: 5, lua: APPEND });
    redis.defineCommand("wirelabBounds", { numberOfKeys: 3, lua: BOUNDS });
    redis.defineCommand("wirelabAfter", { numberOfKeys: 1, lua: AFTER });
    redis.defineCommand("wirelabLatest", { numberOfKeys: 1, lua: LATEST });
    redis.defineCommand("wirelabAdmit", { numberOfKeys: 1, lua: ADMIT });
    this.#redis = redis as FeedRedis;
    this.#limits = { ...NO_ROOM_LIMITS, ...limits };
  }

  /** Whether the room exists or may be created under the room cap (it is then counted). */
  async #admit(room: string): Promise<boolean> {
    if (this.#admitted.has(room)) return true;
    const admitted = (await this.#run(() => this.#redis.wirelabAdmit(`${this.prefix}rooms`, room, this.#limits.maxRooms))) === 1;
    if (admitted) this.#admitted.add(room);
    return admitted;
  }

  async append(room: string, draft: MessageDraft, ts: number): Promise<AppendResult> {
    if (!(await this.#admit(room))) throw tooManyRooms(this.#limits.maxRooms);
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
      this.#redis.wirelabAppend(k.seq, k.epoch, k.log, k.ids, k.bytes, `${draft.from.id}:${draft.id}`, body, this.historyLimit, k.channel, newEpoch(), this.#limits.maxRoomHistoryBytes),
    );
    return { message: JSON.parse(json) as Message, created: created === 1, json };
  }

  async after(room: string, afterSeq: number, limit: number, maxBytes: number): Promise<HistoryPage> {
    if (limit <= 0) return { events: [], truncated: false };
    const { log } = roomKeys(this.prefix, room);
    const [truncated, rows] = await this.#run(() => this.#redis.wirelabAfter(log, afterSeq, limit, maxBytes));
    return { events: rows.map(toEvent), truncated: truncated === 1 };
  }

  async latest(room: string, limit: number, maxBytes: number): Promise<HistoryPage> {
    if (limit <= 0) return { events: [], truncated: false };
    const { log } = roomKeys(this.prefix, room);
    const [truncated, rows] = await this.#run(() => this.#redis.wirelabLatest(log, limit, maxBytes));
    return { events: rows.reverse().map(toEvent), truncated: truncated === 1 };
  }

  async bounds(room: string): Promise<RoomBounds> {
    const k = roomKeys(this.prefix, room);
    // Over the room cap a room is not created by reading it: no epoch is drawn for it.
    const epochIfNew = (await this.#admit(room)) ? newEpoch() : "";
    const [latest, oldest, epoch] = await this.#run(() => this.#redis.wirelabBounds(k.seq, k.epoch, k.log, epochIfNew));
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

function toEvent(json: string): FeedEvent {
  return { message: JSON.parse(json) as Message, json };
}

/** An epoch for a room that has none yet; the scripts use it only then. */
function newEpoch(): string {
  return randomBytes(4).toString("hex");
}

function unreachable(): WirelabError {
  return new WirelabError(503, ERROR_CODES.unavailable, "the feed's store (Redis) is unreachable: try again shortly");
}
