/**
 * The Lua scripts of the Redis feed. Each runs atomically inside Redis, so every instance sees a
 * room's seqs, history, idempotency keys and fan-out change in one step.
 *
 * Keys of a room R under the prefix P: P{R}:seq (last seq ever given), P{R}:epoch, P{R}:log (a
 * sorted set: score = seq, member = the message JSON), P{R}:ids (hash: "fromId:id" → seq),
 * P{R}:bytes (the log's total bytes). The live channel is P{R}:live. P:rooms is the set of rooms,
 * for the room cap.
 */

/**
 * append(KEYS seq, epoch, log, ids, bytes; ARGV idKey, body, historyLimit, channel, newEpoch, maxRoomHistoryBytes)
 * → {created (0|1), json}
 *
 * `body` is the message JSON without its seq (`"id":…}`): the seq is only known here. Sequence,
 * history append, idempotency check, pruning and PUBLISH are one step, so no instance can see seq
 * N+1 announced before seq N is readable, and a retry against any instance finds the original.
 * P{R}:bytes counts the bytes of the room's history (its members' lengths), so pruning by bytes
 * needs no scan; a room written before it existed is measured once, in chunks.
 */
export const APPEND = `
local seqKey, epochKey, logKey, idsKey, bytesKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local idKey, body, limit, channel, newEpoch = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local maxBytes = tonumber(ARGV[6])
local existing = redis.call('HGET', idsKey, idKey)
if existing then
  local found = redis.call('ZRANGE', logKey, existing, existing, 'BYSCORE')
  if found[1] then return {0, found[1]} end
end
if redis.call('EXISTS', bytesKey) == 0 then
  local total, start = 0, 0
  repeat
    local chunk = redis.call('ZRANGE', logKey, start, start + 499)
    for _, m in ipairs(chunk) do total = total + #m end
    start = start + 500
  until #chunk < 500
  redis.call('SET', bytesKey, total)
end
local seq = redis.call('INCR', seqKey)
redis.call('SET', epochKey, newEpoch, 'NX')
local json = '{"seq":' .. seq .. ',' .. body
redis.call('ZADD', logKey, seq, json)
redis.call('HSET', idsKey, idKey, seq)
local bytes = redis.call('INCRBY', bytesKey, #json)
-- Retention, by count and by bytes, oldest first, never the newest. The idempotency keys go
-- with the messages they belong to.
local cut = seq - limit
while true do
  local first = redis.call('ZRANGE', logKey, 0, 0, 'WITHSCORES')
  if not first[1] then break end
  local oldSeq = tonumber(first[2])
  if oldSeq >= seq or (oldSeq > cut and bytes <= maxBytes) then break end
  redis.call('ZREM', logKey, first[1])
  local m = cjson.decode(first[1])
  redis.call('HDEL', idsKey, m['from']['id'] .. ':' .. m['id'])
  bytes = redis.call('DECRBY', bytesKey, #first[1])
end
redis.call('PUBLISH', channel, json)
return {1, json}
`;

/**
 * after(KEYS log; ARGV afterSeq, limit, maxBytes) → {truncated (0|1), {json…}}
 *
 * Up to `limit` messages after afterSeq, ascending, stopping once their bytes reach maxBytes (at
 * least one): only what the page sends crosses to the instance. Read in chunks, so a big page
 * does not sit whole in Redis's memory either.
 */
export const AFTER = `
local log, from, limit, maxBytes = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out, bytes = {}, 0
while #out < limit do
  local want = math.min(limit - #out, 100)
  local rows = redis.call('ZRANGE', log, '(' .. from, '+inf', 'BYSCORE', 'LIMIT', 0, want, 'WITHSCORES')
  for i = 1, #rows, 2 do
    if #out > 0 and bytes >= maxBytes then return {1, out} end
    out[#out + 1] = rows[i]
    bytes = bytes + #rows[i]
    from = rows[i + 1]
  end
  if #rows < want * 2 then break end
end
return {0, out}
`;

/** latest(KEYS log; ARGV limit, maxBytes) → {truncated (0|1), {json…} newest first}: the newest that fit. */
export const LATEST = `
local log, limit, maxBytes = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local out, bytes, start = {}, 0, 0
while #out < limit do
  local want = math.min(limit - #out, 100)
  local rows = redis.call('ZRANGE', log, start, start + want - 1, 'REV')
  for _, row in ipairs(rows) do
    if #out > 0 and bytes >= maxBytes then return {1, out} end
    out[#out + 1] = row
    bytes = bytes + #row
  end
  if #rows < want then break end
  start = start + want
end
return {0, out}
`;

/**
 * admit(KEYS rooms; ARGV room, maxRooms) → 1 when the room is known or was added under the cap, else 0.
 * P:rooms is one set for the whole prefix (its own slot), so this runs apart from the room's scripts.
 */
export const ADMIT = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
return 1
`;

/**
 * bounds(KEYS seq, epoch, log; ARGV newEpoch) → {latest, oldest, epoch}, read in one step so they
 * agree. A room gets its epoch when it is first used, read or written: a client that joined it
 * empty must still be able to tell it from a later, wiped and refilled one. An empty newEpoch (a
 * room over the room cap) creates nothing and answers epoch "".
 */
export const BOUNDS = `
local latest = tonumber(redis.call('GET', KEYS[1]) or '0')
local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
local oldest = 0
if first[2] then oldest = tonumber(first[2]) end
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  if epoch ~= '' then redis.call('SET', KEYS[2], epoch) end
end
return {latest, oldest, epoch}
`;
