--[[
  Token bucket, as peek/take/commit functions for check-policies-n.lua.
  A bucket holds up to `limit` tokens and refills continuously at
  limit/window tokens per ms; a request takes `cost` tokens. A missing key is a
  full bucket, so the key may expire once the bucket would be full again.
  State: hash { tk = tokens left after the last admitted request,
                ts = time of that request in ms,
                x  = time (ms, the script's clock) until which the key's TTL
                     is known to hold }.
  Expiry: the key must outlive the refill (reset1 ms from now). Its TTL is
  set to a whole window (the longest refill, from empty) and renewed only when
  the refill would outlast it, or the clock stepped back: under steady traffic
  about once per window instead of a PEXPIRE per request.
  peek returns { allowed, retry, available (tokens now), rem0/reset0 (nothing
                 consumed), rem1/reset1 and tokens_after (`cost` taken) };
  take(r, units) recomputes rem1/reset1/tokens_after for `units` taken instead.
]]
local function token_bucket_take(r, units)
  r.tokens_after = r.available - units
  r.rem1 = math.floor(r.available - units)
  r.reset1 = math.ceil((r.limit - r.available + units) / r.rate)
end

local function token_bucket_peek(key, limit, window, now, cost)
  local state = redis.call('HMGET', key, 'tk', 'ts', 'x')
  local rate = limit / window
  local tokens = limit
  local stored, at = state[1] and state[1] + 0, state[2] and state[2] + 0
  if stored and at then
    local elapsed = now - at
    -- A clock that steps back (failover to a replica) must not drain the bucket.
    if elapsed < 0 then elapsed = 0 end
    tokens = math.min(limit, stored + elapsed * rate)
  end
  -- Every field in the constructor: the table is sized once, not grown field by field.
  local r = { allowed = tokens >= cost, available = tokens, limit = limit, rate = rate, window = window, expires = state[3] and state[3] + 0,
              rem0 = 0, reset0 = 0, tokens_after = 0, rem1 = 0, reset1 = 0, retry = 0 }
  r.rem0 = math.floor(tokens)
  r.reset0 = math.ceil((limit - tokens) / rate)
  token_bucket_take(r, cost)
  if r.allowed then
    r.retry = 0
  elseif cost > limit then
    r.retry = -1
  else
    r.retry = math.ceil((cost - tokens) / rate)
  end
  return r
end

-- now_s: the time as the string `now` was read from (written as it is).
local function token_bucket_commit(key, r, now, now_s)
  local x = r.expires
  if x and now + r.reset1 <= x and x - now <= r.window then
    redis.call('HSET', key, 'tk', r.tokens_after, 'ts', now_s)
  else
    local ttl = math.max(1, math.ceil(r.window))
    redis.call('HSET', key, 'tk', r.tokens_after, 'ts', now_s, 'x', now + ttl)
    redis.call('PEXPIRE', key, ttl)
  end
end
