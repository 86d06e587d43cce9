/**
 * The feed backends the configuration chooses from: embedded (SQLite and an in-process bus, one
 * instance) or Redis (history, seqs, idempotency and fan-out shared by every instance).
 */
import { Redis } from "ioredis";
import type { Logger } from "pino";
import { LocalFeedBus } from "./LocalFeedBus.js";
import { RedisFeedBus } from "./RedisFeedBus.js";
import { RedisFeedStore } from "./RedisFeedStore.js";
import { SqliteFeedStore } from "./SqliteFeedStore.js";
import { LocalControlChannel, type ControlChannel } from "../cluster/InstanceDirectory.js";
import { RedisControlChannel } from "../cluster/RedisControlChannel.js";
import { LocalPresenceStore, type PresenceStore } from "../presence/PresenceTracker.js";
import { RedisPresenceStore } from "../presence/RedisPresenceStore.js";
import type { FeedBackend, FeedBus, FeedStore, StoreLimits } from "./types.js";

type RoomLimits = Partial<Omit<StoreLimits, "historyLimit">>;

export interface FeedBackendConfig {
  /** SQLite file or ":memory:" (embedded backend). */
  dataFile: string;
  historyLimit: number;
  /** Rooms the store holds (see StoreLimits). */
  maxRooms: number;
  /** Bytes of message JSON kept per room (see StoreLimits). */
  maxRoomHistoryBytes: number;
  /** redis:// URL; null for the embedded backend. */
  redisUrl: string | null;
  /** Prefix of every Redis key and channel. */
  redisPrefix: string;
}

/** What /readyz and the logs say about the backend. */
export interface FeedBackendInfo {
  kind: "sqlite" | "redis";
  /** The file, "memory", or the Redis URL without its password. */
  where: string;
}

/** The backend with what else it shares between instances: presence, and orders between them. */
export type OpenFeedBackend = FeedBackend & { readonly info: FeedBackendInfo; readonly presence: PresenceStore; readonly control: ControlChannel };

export async function openFeedBackend(config: FeedBackendConfig, logger: Logger): Promise<OpenFeedBackend> {
  const limits: RoomLimits = { maxRooms: config.maxRooms, maxRoomHistoryBytes: config.maxRoomHistoryBytes };
  if (config.redisUrl === null) return embeddedBackend(config.dataFile, config.historyLimit, new LocalFeedBus(), limits);
  return RedisFeedBackend.connect(config.redisUrl, config.redisPrefix, config.historyLimit, logger, limits);
}

/** One instance on its own: SQLite (a file, or ":memory:") and the in-process bus. */
export function embeddedBackend(dataFile: string, historyLimit: number, bus: FeedBus = new LocalFeedBus(), limits: RoomLimits = {}): OpenFeedBackend {
  const store = new SqliteFeedStore(dataFile, historyLimit, limits);
  return { store, bus, ready: true, presence: new LocalPresenceStore(), control: new LocalControlChannel(), info: { kind: "sqlite", where: dataFile === ":memory:" ? "memory" : dataFile } };
}

/** Reconnect delays: exponential from 50 ms to 2 s, with full jitter so a cluster does not reconnect in step. */
function reconnectDelay(attempt: number): number {
  return Math.round(Math.random() * Math.min(2_000, 50 * 2 ** attempt));
}

export class RedisFeedBackend implements OpenFeedBackend {
  readonly store: FeedStore;
  readonly bus: FeedBus;
  readonly info: FeedBackendInfo;
  readonly presence: PresenceStore;
  readonly control: ControlChannel;

  private constructor(
    /** The command connection (no offline queue), shared with the rate limits. */
    readonly redis: Redis,
    subscriber: Redis,
    prefix: string,
    historyLimit: number,
    url: string,
    logger: Logger,
    limits: RoomLimits,
  ) {
    this.store = new RedisFeedStore(redis, prefix, historyLimit, limits);
    this.bus = new RedisFeedBus(subscriber, prefix, (error, room) => logger.error({ err: error, room }, "Redis SUBSCRIBE failed"));
    this.info = { kind: "redis", where: url };
    this.presence = new RedisPresenceStore(redis, prefix);
    // The bus's subscriber connection carries the control channel too; the bus ignores its messages.
    this.control = new RedisControlChannel(redis, subscriber, prefix);
  }

  static async connect(url: string, prefix: string, historyLimit: number, logger: Logger, limits: RoomLimits = {}): Promise<RedisFeedBackend> {
    const shown = redactedUrl(url);
    // No offline queue on the command connection: while Redis is away a send fails at once (503)
    // instead of waiting in memory for a Redis that may never come back.
    const redis = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: reconnectDelay });
    redis.on("error", () => {}); // reported below, once per outage
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw new Error(
        `cannot reach Redis at ${shown} (${(error as Error).message}). Start one with \`redis-server\` (Debian: apt-get install redis-server), or leave out --redis to use the embedded store.`,
      );
    }
    // The subscriber may queue: its SUBSCRIBEs are sent again when it is back.
    const subscriber = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    subscriber.on("error", () => {});
    await subscriber.connect().catch(() => {});
    let reported = false;
    for (const [connection, name] of [[redis, "commands"], [subscriber, "subscriber"]] as const) {
      connection.on("error", (error: Error) => {
        if (!reported) logger.warn({ err: error, redis: shown, connection: name }, "Redis connection error");
        reported = true;
      });
      connection.on("ready", () => {
        if (reported) logger.info({ redis: shown, connection: name }, "Redis connection is back");
        reported = false;
      });
    }
    return new RedisFeedBackend(redis, subscriber, prefix, historyLimit, shown, logger, limits);
  }

  get ready(): boolean {
    return this.redis.status === "ready";
  }
}

function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.href.replace(/\/$/, "");
  } catch {
    return url;
  }
}
