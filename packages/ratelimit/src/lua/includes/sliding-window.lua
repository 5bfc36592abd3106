--[[
  Sliding window counter (weighted), as peek/take/commit functions for
  check-policies-n.lua. Windows are aligned to the epoch; the units used in
  the last `window` ms are estimated as
      previous_window_count * (1 - elapsed_fraction_of_current) + current_count
  which needs two counters per subject instead of one entry per request (a log).
  State: hash { w = index of the current window, c = its count,
                p = count of the window before it }.
  peek returns { allowed, retry, available (limit - weighted count), rem0/reset0,
  rem1/reset1, idx, cur (after `cost`), prev }; take(r, units) recomputes
  rem1/cur for `units` taken instead of `cost`.
]]
local function sliding_window_take(r, units)
  r.cur = r.cur0 + units
  r.rem1 = math.max(0, math.floor(r.limit - r.used - units))
end

local function sliding_window_peek(key, limit, window, now, cost)
  local state = redis.call('HMGET', key, 'w', 'c', 'p')
  local idx = math.floor(now / window)
  local w = state[1] and state[1] + 0
  local cur, prev = 0, 0
  if w == idx then
    cur = state[2] and state[2] + 0 or 0
    prev = state[3] and state[3] + 0 or 0
  elseif w == idx - 1 then
    prev = state[2] and state[2] + 0 or 0
  end
  local start = idx * window
  local used = prev * (1 - (now - start) / window) + cur
  -- Every field in the constructor: the table is sized once, not grown field by field.
  local r = { idx = idx, cur0 = cur, prev = prev, used = used, limit = limit, available = limit - used, allowed = used + cost <= limit, fresh = w ~= idx,
              rem0 = 0, cur = 0, rem1 = 0, reset0 = 0, reset1 = 0, retry = 0 }
  r.rem0 = math.max(0, math.floor(limit - used))
  sliding_window_take(r, cost)
  -- Quota is whole again once every counted unit has slid out of the window.
  if cur > 0 then
    r.reset0 = math.ceil(start + 2 * window - now)
  elseif prev > 0 then
    r.reset0 = math.ceil(start + window - now)
  else
    r.reset0 = 0
  end
  r.reset1 = math.ceil(start + 2 * window - now)
  if r.allowed then
    r.retry = 0
  elseif cost > limit then
    r.retry = -1
  elseif cur + cost > limit then
    -- Must wait into the next window, until this window's count weighs little enough.
    r.retry = math.ceil(start + window + window * (1 - (limit - cost) / cur) - now)
  else
    r.retry = math.ceil(start + window * (1 - (limit - cost - cur) / prev) - now)
  end
  if r.retry == 0 and not r.allowed then r.retry = 1 end
  return r
end

-- units: what was taken (r.cur - r.cur0), as the ARGV string when it is the cost.
local function sliding_window_commit(key, r, now, now_s, units)
  if r.fresh then
    redis.call('HSET', key, 'w', r.idx, 'c', r.cur, 'p', r.prev)
    -- The key matters until the window after this one ends (start + 2
    -- windows), the same instant for every write in this window; HINCRBY
    -- keeps the TTL, so only the first write of a window sets it.
    redis.call('PEXPIRE', key, math.max(1, r.reset1))
  else
    -- Same window: only the count changes (w and p are as read).
    redis.call('HINCRBY', key, 'c', units)
  end
end
