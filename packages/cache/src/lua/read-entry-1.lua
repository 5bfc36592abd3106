--[[
  Reads an entry with its remaining lifetime in one command, so the reader
  judges freshness on its own clock (PTTL) without a second round trip.
  KEYS[1] value key
  returns {value, pttl ms} or false when absent
]]
local value = redis.call('GET', KEYS[1])
if not value then return false end
return {value, redis.call('PTTL', KEYS[1])}
