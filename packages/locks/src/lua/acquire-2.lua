-- Takes a Redlock lease on one instance and numbers the grant.
-- KEYS[1] the lock key, KEYS[2] the lock's fence counter
-- ARGV[1] the holder's random value, ARGV[2] the lease in ms
-- Returns the counter after its increment when the lock was free, else false (nil).
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return false
