import { POLLED_FIELDS } from '@device-grant/core'

/**
 * The Lua scripts behind every conditional write. Each one touches exactly ONE key (KEYS[1]),
 * so it is single-slot on Redis Cluster by construction, and runs atomically: Redis executes
 * a script without interleaving any other command.
 *
 * Redis hands Lua nil bulk replies as `false`, and `tonumber(false)` is nil, so every numeric
 * read below sits behind a check that the record exists (`status` is set first).
 *
 * Numbers written from Lua use `%.17g`: 17 significant digits round-trip any double exactly,
 * where Lua's own `tostring` keeps only 14 and could drift from what JavaScript computes.
 */

/**
 * Claims the user-code index for a new grant. The index value is `<expiresAt>:<deviceCodeHash>`:
 * carrying the holder's expiry lets this script decide liveness alone, without reading the
 * holder's record, which lives in another slot.
 *
 * KEYS[1] index key. ARGV[1] new value, ARGV[2] new grant's createdAt, ARGV[3] absolute PXAT.
 * Returns 1 when claimed, 0 when a live grant holds the code.
 */
export const CLAIM_USER_CODE = `
local current = redis.call('GET', KEYS[1])
if current then
  local sep = string.find(current, ':', 1, true)
  local holderExpiresAt = sep and tonumber(string.sub(current, 1, sep - 1))
  -- The contract judges the holder's liveness at the new grant's createdAt, not wall time.
  if holderExpiresAt and tonumber(ARGV[2]) < holderExpiresAt then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[3])
return 1
`

/**
 * Undoes CLAIM_USER_CODE when the record could not be written. Compare-and-delete, so a
 * rollback that arrives late never removes an index another grant has claimed since.
 *
 * KEYS[1] index key. ARGV[1] the value this save wrote.
 */
export const RELEASE_USER_CODE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`

/**
 * Writes a new record unless one already has this device-code hash (even an expired one:
 * reusing a hash would hand a late poll someone else's grant).
 *
 * KEYS[1] record key. ARGV[1] absolute PEXPIREAT, ARGV[2..] field/value pairs.
 */
export const SAVE_RECORD = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
`

/** The fields a poll reads, as a Lua list of string literals. */
const polledFields = POLLED_FIELDS.map(f => `'${f}'`).join(', ')

/**
 * The poll's bookkeeping. Reads only the fields the poll rules and the caller need
 * (`POLLED_FIELDS`, each into a local of the same name), and answers with them as this poll
 * left them: on every poll of every device, a short reply is cheaper for Redis to build and for
 * the client to decode than the whole hash.
 *
 * KEYS[1] record key. ARGV[1] clientId, ARGV[2] now, ARGV[3] leewayMs, ARGV[4] slowDownStep.
 * Returns nil when there is no record, else `{slowDown (0|1), ...POLLED_FIELDS}`, an unset
 * field as nil (`false` in Lua: a nil would end the list there).
 */
export const RECORD_POLL = `
local ${POLLED_FIELDS.join(', ')} = unpack(redis.call('HMGET', KEYS[1], ${polledFields}))
if not status then return nil end
local now = tonumber(ARGV[2])
local slowDown = 0
if status == 'pending' and now < tonumber(expiresAt) and clientId == ARGV[1] then
  local i = tonumber(interval)
  if lastPolledAt and now - tonumber(lastPolledAt) < i * 1000 - tonumber(ARGV[3]) then
    interval = string.format('%.17g', i + tonumber(ARGV[4]))
    redis.call('HSET', KEYS[1], 'interval', interval)
    slowDown = 1
  else
    redis.call('HSET', KEYS[1], 'lastPolledAt', ARGV[2])
    lastPolledAt = ARGV[2]
  end
end
return {slowDown, ${POLLED_FIELDS.map(f => `${f} or false`).join(', ')}}
`

/**
 * Shared guard of bind/approve/deny: a live, pending record, unbound or bound to this subject.
 * Expects `subject` in ARGV[1] and `now` in ARGV[2].
 */
const DECIDABLE = `
local v = redis.call('HMGET', KEYS[1], 'status', 'expiresAt', 'subject')
if v[1] ~= 'pending' or not (tonumber(ARGV[2]) < tonumber(v[2])) then return 0 end
if v[3] and v[3] ~= ARGV[1] then return 0 end
`

/**
 * KEYS[1] record key. ARGV[1] subject, ARGV[2] now. Returns 1 when bound (now or already).
 */
export const BIND_SUBJECT = `${DECIDABLE}
redis.call('HSET', KEYS[1], 'subject', ARGV[1])
return 1
`

/**
 * approve and deny. KEYS[1] record key. ARGV[1] subject, ARGV[2] now, ARGV[3] new status,
 * ARGV[4] '1' when ARGV[5] holds a grantedScope ('' is a valid scope, so it needs the flag).
 * Returns 1 when this call won.
 */
export const DECIDE = `${DECIDABLE}
redis.call('HSET', KEYS[1], 'status', ARGV[3], 'subject', ARGV[1], 'decidedAt', ARGV[2])
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'grantedScope', ARGV[5]) end
return 1
`

/**
 * The one-time claim. KEYS[1] record key. ARGV[1] now.
 * Returns the record as it was (approved) to the single winner, nil to everyone else.
 */
export const CLAIM = `
local v = redis.call('HMGET', KEYS[1], 'status', 'expiresAt')
if v[1] ~= 'approved' or not (tonumber(ARGV[1]) < tonumber(v[2])) then return nil end
local r = redis.call('HGETALL', KEYS[1])
redis.call('HSET', KEYS[1], 'status', 'consumed')
return r
`

/**
 * One hit on a fixed-window counter. The key names its window, so a new window starts from
 * zero on its own and the TTL only bounds memory. A read (increment 0) creates nothing, nor
 * does a refund (a negative increment) of a counter that is already 0: the count never goes
 * below 0, and a refund keeps the key's TTL.
 *
 * KEYS[1] counter key of this window. ARGV[1] increment (an integer), ARGV[2] absolute PEXPIREAT.
 * Returns the count in the window, this hit included.
 */
export const HIT = `
local increment = tonumber(ARGV[1])
if increment > 0 then
  local count = redis.call('INCRBY', KEYS[1], ARGV[1])
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
  return count
end
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if increment == 0 or count == 0 then return count end
count = math.max(0, count + increment)
redis.call('SET', KEYS[1], string.format('%d', count), 'KEEPTTL')
return count
`

/**
 * The replay check. The value is the `expiresAt` of the use that holds the key, so liveness is
 * judged by the caller's `now`, not Redis's clock; the TTL only bounds memory.
 *
 * KEYS[1] the used key. ARGV[1] now, ARGV[2] expiresAt, ARGV[3] absolute PXAT.
 * Returns 1 when this call used the key, 0 when a live use holds it.
 */
export const USE_ONCE = `
local heldUntil = tonumber(redis.call('GET', KEYS[1]))
if heldUntil and tonumber(ARGV[1]) < heldUntil then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1
`
