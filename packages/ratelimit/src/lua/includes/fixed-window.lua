--[[
  Fixed window counter, as peek/take/commit functions for check-policies-n.lua.
  Windows are aligned to the epoch; the count starts from zero in each window.
  State: hash { w = index of the window the count belongs to, c = count }.
  peek returns { allowed, retry, available (limit - count), rem0/reset0,
  rem1/reset1, idx, count (after `cost`) }; take(r, units) recomputes
  rem1/count for `units` taken instead of `cost`.
]]
local function fixed_window_take(r, units)
  r.count = r.used + units
  r.rem1 = math.max(0, r.limit - r.used - units)
end

local function fixed_window_peek(key, limit, window, now, cost)
  local state = redis.call('HMGET', key, 'w', 'c')
  local idx = math.floor(now / window)
  local count = 0
  if tonumber(state[1]) == idx then count = tonumber(state[2]) or 0 end
  local ends = math.ceil((idx + 1) * window - now)
  local r = { idx = idx, used = count, limit = limit, available = limit - count, allowed = count + cost <= limit, fresh = tonumber(state[1]) ~= idx }
  r.rem0 = math.max(0, limit - count)
  fixed_window_take(r, cost)
  r.reset0 = ends
  r.reset1 = ends
  if r.allowed then
    r.retry = 0
  elseif cost > limit then
    r.retry = -1
  else
    r.retry = math.max(1, ends)
  end
  return r
end

local function fixed_window_commit(key, r, now)
  redis.call('HSET', key, 'w', r.idx, 'c', r.count)
  -- The key expires when its window ends; HSET keeps the TTL, so only the
  -- first write of a window sets it.
  if r.fresh then redis.call('PEXPIRE', key, math.max(1, r.reset1)) end
end
