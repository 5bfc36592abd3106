-- Included: a user's status from their presence hash: online if any
-- connection is online, away if all are away, offline with none.
local function presence_status(key)
  local result = 'offline'
  for _, v in ipairs(redis.call('HVALS', key)) do
    if v == 'online' then return 'online' end
    result = 'away'
  end
  return result
end
