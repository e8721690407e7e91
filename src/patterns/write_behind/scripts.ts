/**
 * The queue's Redis scripts. Every key of a queue shares one hash tag, so each script is one
 * atomic step on one node. KEYS order is fixed per script (see each).
 *
 * `latest` is a hash key → id of the newest queued entry of that key: it lets a dead letter know
 * whether a newer write of its key is already queued (then replaying it would go back in time), and
 * a read-through find a key's pending value (read-your-writes).
 */

/** KEYS: stream, latest, dead. ARGV: key, envelope. Queues the write; a newer write supersedes a dead letter of its key. */
export const ENQUEUE = `
local id = redis.call('XADD', KEYS[1], '*', 'k', ARGV[1], 'v', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], id)
redis.call('HDEL', KEYS[3], ARGV[1])
return id`;

/**
 * KEYS: stream, latest, lease. ARGV: fence, n, n × (key, its last id in the batch), ids…
 * Acknowledges and deletes in one step (an XACK without its XDEL left entries counted forever),
 * only for the leader of this fence (a stale leader's ack would drop what its successor claimed).
 */
export const ACK = `
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return -1 end
local n = tonumber(ARGV[2])
for i = 0, n - 1 do
  local k = ARGV[3 + 2 * i]
  if redis.call('HGET', KEYS[2], k) == ARGV[4 + 2 * i] then redis.call('HDEL', KEYS[2], k) end
end
local ids = {}
for i = 3 + 2 * n, #ARGV do ids[#ids + 1] = ARGV[i] end
if #ids == 0 then return 0 end
redis.call('XACK', KEYS[1], 'flushers', unpack(ids))
redis.call('XDEL', KEYS[1], unpack(ids))
return #ids`;

/**
 * KEYS: stream, latest, dead, lease. ARGV: fence, key, its last id, record, ids…
 * Moves one key's entries to the dead letters, unless a newer write of the key is queued (then
 * the failed value is superseded and dropped). Returns 1 when stored, 0 when superseded, -1 when
 * not leader.
 */
export const DEAD_LETTER = `
if redis.call('GET', KEYS[4]) ~= ARGV[1] then return -1 end
local stored = 0
local cur = redis.call('HGET', KEYS[2], ARGV[2])
if cur == false or cur == ARGV[3] then
  redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
  redis.call('HDEL', KEYS[2], ARGV[2])
  stored = 1
end
local ids = {}
for i = 5, #ARGV do ids[#ids + 1] = ARGV[i] end
redis.call('XACK', KEYS[1], 'flushers', unpack(ids))
redis.call('XDEL', KEYS[1], unpack(ids))
return stored`;

/**
 * KEYS: stream, latest, dead. ARGV: key, record (as read), envelope.
 * Requeues a dead letter if it is still the one read (no newer write, no other replay meanwhile).
 */
export const REPLAY = `
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return false end
local id = redis.call('XADD', KEYS[1], '*', 'k', ARGV[1], 'v', ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], id)
redis.call('HDEL', KEYS[3], ARGV[1])
return id`;
