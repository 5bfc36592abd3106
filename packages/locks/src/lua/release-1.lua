-- Releases a Redlock lease on one instance if the caller still holds it.
-- KEYS[1] the lock key
-- ARGV[1] the holder's random value
-- Returns 1 when released, 0 when the lock is gone or held by another.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
