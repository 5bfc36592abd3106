--[[
  Checks every rate-limit policy of one request and consumes from all of them
  only if all of them admit it, atomically; optionally grants quota leases
  (units taken on top of the cost, to be spent by the calling instance
  locally). `n` in the file name: the number of keys is variable (one per
  policy) and given at call time.

  KEYS[i]   state key of policy i; all keys share one hash tag (one cluster slot)
  ARGV[1]   time in ms (a decimal number), or "" to use Redis TIME (the
            default: one clock for all gateway instances; the override exists
            for deterministic tests)
  ARGV[2]   cost: units the request takes from every policy (an integer)
  ARGV[3i], ARGV[3i+1], ARGV[3i+2]  (i = 1..#KEYS) policy i:
            algorithm (1 token bucket, 2 sliding window, 3 fixed window),
            limit (units per window), window (ms)
  ARGV[3n+2+i]  (optional, all or none) extra_i: lease units asked for
            policy i on top of the cost (0: none). Absent: no lease asked.

  Returns   { admitted (1|0), then per policy i:
              allowed (1|0), remaining units, ms until the quota is whole again,
              ms until this request could be admitted (0 if allowed, -1 never),
            then, only when extras were given, per policy i: granted_i }
            Remaining/reset describe the state after this call: consumed (and
            granted) if admitted, untouched if not. Only an admitted request
            is granted anything: policy i then takes cost + granted_i, where
            granted_i = max(0, min(extra_i, floor(available_i) - cost)), so a
            grant never takes more than the policy would admit.
]]
--- @include "includes/token-bucket"
--- @include "includes/sliding-window"
--- @include "includes/fixed-window"

-- Numbers cross between Lua and Redis as strings, and each crossing costs:
-- tonumber() runs strtod twice in Lua 5.1 (`s + 0` once), and every Lua number
-- passed to redis.call is printed with "%.17g". So strings that are already
-- numbers are passed on as they are (the time, the cost), ARGV numbers are read
-- with `+ 0`, and the algorithm is dispatched on its ARGV string.
local now_s = ARGV[1]
if now_s == '' then
  local t = redis.call('TIME')
  local us = t[2]
  if #us < 6 then us = string.rep('0', 6 - #us) .. us end
  -- ms with a µs fraction, built from TIME's digits: "<s><ms>.<µs>"
  now_s = t[1] .. string.sub(us, 1, 3) .. '.' .. string.sub(us, 4)
end
local now = now_s + 0
local cost_s = ARGV[2]
local cost = cost_s + 0
local peek = { ['1'] = token_bucket_peek, ['2'] = sliding_window_peek, ['3'] = fixed_window_peek }
local take = { ['1'] = token_bucket_take, ['2'] = sliding_window_take, ['3'] = fixed_window_take }
local commit = { ['1'] = token_bucket_commit, ['2'] = sliding_window_commit, ['3'] = fixed_window_commit }

local n = #KEYS
local leasing = #ARGV > 3 * n + 2
local results = {}
local admitted = true
for i = 1, n do
  local r = peek[ARGV[3 * i]](KEYS[i], ARGV[3 * i + 1] + 0, ARGV[3 * i + 2] + 0, now, cost)
  results[i] = r
  if not r.allowed then admitted = false end
end

local reply = { admitted and 1 or 0 }
for i = 1, n do
  local r = results[i]
  local algorithm = ARGV[3 * i]
  local base = 1 + (i - 1) * 4
  reply[base + 1] = r.allowed and 1 or 0
  if admitted then
    local granted = 0
    local units = cost_s
    if leasing then
      local extra = ARGV[3 * n + 2 + i] + 0
      if extra > 0 then
        granted = math.max(0, math.min(extra, math.floor(r.available) - cost))
        if granted > 0 then
          units = cost + granted
          take[algorithm](r, units)
        end
      end
      reply[1 + 4 * n + i] = granted
    end
    commit[algorithm](KEYS[i], r, now, now_s, units)
    reply[base + 2] = r.rem1
    reply[base + 3] = r.reset1
  else
    if leasing then reply[1 + 4 * n + i] = 0 end
    reply[base + 2] = r.rem0
    reply[base + 3] = r.reset0
  end
  reply[base + 4] = r.retry
end
return reply
