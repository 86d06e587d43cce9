/**
 * Redis for the tests: the machine's server on 127.0.0.1:6379 when it answers, else one started
 * on a free port. A test that must stop and restart Redis always starts its own. Every test run
 * uses its own key prefix, so runs sharing a Redis never see each other's rooms. Nothing here
 * skips: without a Redis the tests fail, loudly, as CI requires.
 */
import { randomBytes } from "node:crypto";
import { RedisProcess } from "../server/cluster/RedisProcess.js";
import { deleteRedisKeys, redisAnswers } from "../server/cluster/redisChecks.js";

export { RedisProcess };

export const SHARED_REDIS = "redis://127.0.0.1:6379";

export function testPrefix(): string {
  return `wirelab-test:${randomBytes(4).toString("hex")}:`;
}

let shared: Promise<{ url: string; stop(): Promise<void> }> | undefined;

/** The Redis most tests share: the machine's, or one of our own when none answers. */
export function redisForTests(): Promise<{ url: string; stop(): Promise<void> }> {
  shared ??= (async () => {
    if (await redisAnswers(SHARED_REDIS)) return { url: SHARED_REDIS, stop: async () => {} };
    const own = await RedisProcess.start();
    return { url: own.url, stop: () => own.destroy() };
  })();
  return shared;
}


/** Delete every key under a test run's prefix, leaving a shared Redis as it was found. */
export function deleteKeys(url: string, prefix: string): Promise<void> {
  return deleteRedisKeys(url, `${prefix}*`);
}
