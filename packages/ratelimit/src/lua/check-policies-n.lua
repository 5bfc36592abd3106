--[[
  Checks every rate-limit policy of one request and consumes from all of them
  only if all of them admit it, atomically. `n` in the file name: the number
  of keys is variable (one per policy) and given at call time.

  KEYS[i]   state key of policy i; all keys share one hash tag (one cluster slot)
  ARGV[1]   time in ms, or "" to use Redis TIME (the default: one clock for all
            gateway instances; the override exists for deterministic tests)
  ARGV[2]   cost: units the request takes from every policy
  ARGV[3i], ARGV[3i+1], ARGV[3i+2]  (i = 1..#KEYS) policy i:
            algorithm (1 token bucket, 2 sliding window, 3 fixed window),
            limit (units per window), window (ms)

  Returns   { admitted (1|0), then per policy i:
              allowed (1|0), remaining units, ms until the quota is whole again,
              ms until this request could be admitted (0 if allowed, -1 never) }
            Remaining/reset describe the state after this call: consumed if
            admitted, untouched if not.
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
local commit = { token_bucket_commit, sliding_window_commit, fixed_window_commit }

local n = #KEYS
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
    commit[r.algorithm](KEYS[i], r, now)
    reply[base + 2] = r.rem1
    reply[base + 3] = r.reset1
  else
    reply[base + 2] = r.rem0
    reply[base + 3] = r.reset0
  end
  reply[base + 4] = r.retry
end
return reply
