--[[
  Checks every rate-limit policy of one request and consumes from all of them
  only if all of them admit it, atomically; optionally grants quota leases
  (units taken on top of the cost, to be spent by the calling instance
  locally). `n` in the file name: the number of keys is variable (one per
  policy) and given at call time.

  KEYS[i]   state key of policy i; all keys share one hash tag (one cluster slot)
  ARGV[1]   time in ms, or "" to use Redis TIME (the default: one clock for all
            gateway instances; the override exists for deterministic tests)
  ARGV[2]   cost: units the request takes from every policy
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

local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local cost = tonumber(ARGV[2])
local peek = { token_bucket_peek, sliding_window_peek, fixed_window_peek }
local take = { token_bucket_take, sliding_window_take, fixed_window_take }
local commit = { token_bucket_commit, sliding_window_commit, fixed_window_commit }

local n = #KEYS
local leasing = #ARGV > 3 * n + 2
local results = {}
local admitted = true
for i = 1, n do
  local algorithm = tonumber(ARGV[3 * i])
  local r = peek[algorithm](KEYS[i], tonumber(ARGV[3 * i + 1]), tonumber(ARGV[3 * i + 2]), now, cost)
  r.algorithm = algorithm
  results[i] = r
  if not r.allowed then admitted = false end
end

local reply = { admitted and 1 or 0 }
for i = 1, n do
  local r = results[i]
  local base = 1 + (i - 1) * 4
  reply[base + 1] = r.allowed and 1 or 0
  if admitted then
    local granted = 0
    if leasing then
      local extra = tonumber(ARGV[3 * n + 2 + i])
      if extra > 0 then
        granted = math.max(0, math.min(extra, math.floor(r.available) - cost))
        if granted > 0 then take[r.algorithm](r, cost + granted) end
      end
      reply[1 + 4 * n + i] = granted
    end
    commit[r.algorithm](KEYS[i], r, now)
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
