-- Removes the connections whose deadline passed (their instance stopped
-- renewing: it died or lost Redis) and reports the users whose status
-- changed. Atomic: of several instances sweeping, one reports each change.
-- The users' hash keys are built here from ARGV[1] (single Redis, no
-- cluster: they are not declared in KEYS).
-- KEYS[1]: the deadlines sorted set (member "conn|tenant|user" -> deadline ms, Redis clock)
-- ARGV[1]: prefix of the users' presence hashes (prefix .. tenant .. ':' .. user)
-- ARGV[2]: most connections removed per call
-- returns: flat list { tenant, user, status after, ... } of changed users
--- @include "presence-status"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, member in ipairs(expired) do
  redis.call('ZREM', KEYS[1], member)
  local conn, tenant, user = string.match(member, '^([^|]*)|([^|]*)|(.*)$')
  if conn then
    local key = ARGV[1] .. tenant .. ':' .. user
    local before = presence_status(key)
    redis.call('HDEL', key, conn)
    local after = presence_status(key)
    if before ~= after then
      table.insert(out, tenant)
      table.insert(out, user)
      table.insert(out, after)
    end
  end
end
return out
