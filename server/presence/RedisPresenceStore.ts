/** Presence shared by a cluster: a sorted set per room, member → expiry (epoch ms). */
import type { Redis } from "ioredis";
import type { PresenceStore } from "./PresenceTracker.js";

export class RedisPresenceStore implements PresenceStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  #key(room: string): string {
    return `${this.prefix}{${room}}:presence`;
  }

  async put(room: string, members: readonly string[], expiresAt: number): Promise<void> {
    if (members.length === 0 || this.redis.status !== "ready") return;
    const key = this.#key(room);
    // Expired members of dead instances are swept by whoever renews next.
    await this.redis
      .multi()
      .zadd(key, ...members.flatMap((m) => [expiresAt, m]))
      .zremrangebyscore(key, "-inf", Date.now())
      .exec();
  }

  async remove(room: string, member: string): Promise<void> {
    if (this.redis.status !== "ready") return;
    await this.redis.zrem(this.#key(room), member);
  }

  async list(room: string, now: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.#key(room), `(${now}`, "+inf");
  }
}
