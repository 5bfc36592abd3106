-- Sets (or removes) one connection's presence and renews its deadline.
-- KEYS[1]: the user's presence hash (connection id -> online | away)
-- KEYS[2]: the deadlines sorted set (member "conn|tenant|user" -> deadline, ms on Redis's clock)
-- ARGV[1]: connection id; ARGV[2]: online | away, or '' to remove the connection
-- ARGV[3]: TTL ms; ARGV[4]: the connection's member in KEYS[2]
-- returns: { the user's status before, after } (online | away | offline)
--- @include "presence-status"
local before = presence_status(KEYS[1])
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[4])
else
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local ttl = tonumber(ARGV[3])
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  -- A hash nobody sweeps (every instance gone) still ends.
  redis.call('PEXPIRE', KEYS[1], ttl * 2)
  redis.call('ZADD', KEYS[2], now + ttl, ARGV[4])
end
return { before, presence_status(KEYS[1]) }
