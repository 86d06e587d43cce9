/**
 * The Lua scripts of the Redis feed. Each runs atomically inside Redis, so every instance sees a
 * room's seqs, history, idempotency keys and fan-out change in one step.
 *
 * Keys of a room R under the prefix P: P{R}:seq (last seq ever given), P{R}:epoch, P{R}:log (a
 * sorted set: score = seq, member = the message JSON), P{R}:ids (hash: "fromId:id" → seq). The
 * live channel is P{R}:live.
 */

/**
 * append(KEYS seq, epoch, log, ids; ARGV idKey, body, historyLimit, channel, newEpoch)
 * → {created (0|1), json}
 *
 * `body` is the message JSON without its seq (`"id":…}`): the seq is only known here. Sequence,
 * history append, idempotency check, pruning and PUBLISH are one step, so no instance can see seq
 * N+1 announced before seq N is readable, and a retry against any instance finds the original.
 */
export const APPEND = `
local seqKey, epochKey, logKey, idsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local idKey, body, limit, channel, newEpoch = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local existing = redis.call('HGET', idsKey, idKey)
if existing then
  local found = redis.call('ZRANGE', logKey, existing, existing, 'BYSCORE')
  if found[1] then return {0, found[1]} end
end
local seq = redis.call('INCR', seqKey)
redis.call('SET', epochKey, newEpoch, 'NX')
local json = '{"seq":' .. seq .. ',' .. body
redis.call('ZADD', logKey, seq, json)
redis.call('HSET', idsKey, idKey, seq)
if seq > limit then
  -- Retention: the idempotency keys go with the messages they belong to.
  local cut = seq - limit
  for _, old in ipairs(redis.call('ZRANGE', logKey, '-inf', cut, 'BYSCORE')) do
    local m = cjson.decode(old)
    redis.call('HDEL', idsKey, m['from']['id'] .. ':' .. m['id'])
  end
  redis.call('ZREMRANGEBYSCORE', logKey, '-inf', cut)
end
redis.call('PUBLISH', channel, json)
return {1, json}
`;

/**
 * bounds(KEYS seq, epoch, log; ARGV newEpoch) → {latest, oldest, epoch}, read in one step so they
 * agree. A room gets its epoch when it is first used, read or written: a client that joined it
 * empty must still be able to tell it from a later, wiped and refilled one.
 */
export const BOUNDS = `
local latest = tonumber(redis.call('GET', KEYS[1]) or '0')
local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
local oldest = 0
if first[2] then oldest = tonumber(first[2]) end
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
end
return {latest, oldest, epoch}
`;
