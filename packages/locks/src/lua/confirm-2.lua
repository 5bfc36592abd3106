-- Raises the fence counter of one instance to the token a grant chose, while
-- the caller still holds the lock there.
-- KEYS[1] the lock key, KEYS[2] the lock's fence counter
-- ARGV[1] the holder's random value, ARGV[2] the token
-- Returns 1 when the holder still held the lock (counter now >= token), else 0.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if current < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[2])
end
return 1
