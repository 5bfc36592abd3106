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
  local w = state[1] and state[1] + 0
  local count = 0
  if w == idx then count = state[2] and state[2] + 0 or 0 end
  local ends = math.ceil((idx + 1) * window - now)
  -- Every field in the constructor: the table is sized once, not grown field by field.
  local r = { idx = idx, used = count, limit = limit, available = limit - count, allowed = count + cost <= limit, fresh = w ~= idx,
              rem0 = 0, count = 0, rem1 = 0, reset0 = 0, reset1 = 0, retry = 0 }
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

-- units: what was taken (r.count - r.used), as the ARGV string when it is the cost.
local function fixed_window_commit(key, r, now, now_s, units)
  if r.fresh then
    redis.call('HSET', key, 'w', r.idx, 'c', r.count)
    -- The key expires when its window ends; HINCRBY keeps the TTL, so only
    -- the first write of a window sets it.
    redis.call('PEXPIRE', key, math.max(1, r.reset1))
  else
    redis.call('HINCRBY', key, 'c', units)
  end
end
