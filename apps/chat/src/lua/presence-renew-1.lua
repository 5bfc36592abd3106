-- Renews many connections' presence in one call (the heartbeat): each one's
-- status is written again in its user's hash (a sweep may have removed it
-- while this instance could not reach Redis) and its deadline moved on.
-- The users' hash keys are built here from ARGV[1] (single Redis, no
-- cluster: they are not declared in KEYS), as in presence-sweep-1.
-- KEYS[1]: the deadlines sorted set (member "conn|tenant|user" -> deadline ms, Redis clock)
-- ARGV[1]: prefix of the users' presence hashes; ARGV[2]: TTL ms
-- ARGV[3], ARGV[4], ...: pairs of a connection's member and its status (online | away)
-- returns: flat list { tenant, user, status after, ... } of users whose status changed
--- @include "presence-status"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local out = {}
for i = 3, #ARGV - 1, 2 do
  local member, status = ARGV[i], ARGV[i + 1]
  local conn, tenant, user = string.match(member, '^([^|]*)|([^|]*)|(.*)$')
  if conn then
    local key = ARGV[1] .. tenant .. ':' .. user
    if redis.call('HGET', key, conn) ~= status then
      local before = presence_status(key)
      redis.call('HSET', key, conn, status)
      local after = presence_status(key)
      if before ~= after then
        table.insert(out, tenant)
        table.insert(out, user)
        table.insert(out, after)
      end
    end
    -- A hash nobody sweeps (every instance gone) still ends.
    redis.call('PEXPIRE', key, ttl * 2)
    redis.call('ZADD', KEYS[1], now + ttl, member)
  end
end
return out
