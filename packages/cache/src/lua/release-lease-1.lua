--[[
  Releases a fill lease only if this caller still holds it (a lease that
  expired and was taken by another instance is left alone).
  KEYS[1] lease key
  ARGV[1] the holder's token
  returns 1 if released, 0 otherwise
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
