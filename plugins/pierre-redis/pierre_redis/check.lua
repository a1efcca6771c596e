-- One combined rate-limit check, atomic and in one round trip.
-- Mirrors pierre/ratelimit/bucket.py and MemoryRateLimiter.check_many.
-- KEYS: token buckets, then quota counters.
-- ARGV: cost, n_buckets, n_quotas, then (capacity, refill_per_s) per bucket,
--       then (limit, reset_ms) per quota.
-- Returns {allowed, then per limit: remaining, reset_ms, retry_ms (-1 = never)}.
-- The clock is the server's, so instances with skewed clocks share one bucket.
local cost = tonumber(ARGV[1])
local nb = tonumber(ARGV[2])
local nq = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local qbase = 3 + 2 * nb
local levels = {}
local used = {}
local allowed = 1

for i = 1, nb do
  local cap = tonumber(ARGV[2 + 2 * i])
  local rate = tonumber(ARGV[3 + 2 * i])
  local h = redis.call('HMGET', KEYS[i], 'tk', 'ts')
  local tk = cap
  if h[1] and h[2] then
    tk = math.min(cap, tonumber(h[1]) + math.max(0, now - tonumber(h[2])) * rate)
  end
  levels[i] = tk
  if tk < cost then allowed = 0 end
end
for j = 1, nq do
  local lim = tonumber(ARGV[qbase + 2 * j - 1])
  local u = tonumber(redis.call('GET', KEYS[nb + j]) or '0')
  used[j] = u
  if u + cost > lim then allowed = 0 end
end

local out = {allowed}
for i = 1, nb do
  local cap = tonumber(ARGV[2 + 2 * i])
  local rate = tonumber(ARGV[3 + 2 * i])
  local tk = levels[i]
  local retry = 0
  if allowed == 1 then
    tk = tk - cost
    local full = 86400
    if rate > 0 then full = (cap - tk) / rate end
    redis.call('HSET', KEYS[i], 'tk', string.format('%.6f', tk), 'ts', string.format('%.6f', now))
    -- A full bucket is the default state, so the key can go once it would be full.
    redis.call('PEXPIRE', KEYS[i], math.ceil(full * 1000) + 1000)
  elseif tk < cost then
    if rate > 0 then retry = math.ceil((cost - tk) / rate * 1000) else retry = -1 end
  end
  local reset = 0
  if rate > 0 and tk < cap then reset = (cap - tk) / rate end
  out[#out + 1] = math.floor(math.max(0, tk))
  out[#out + 1] = math.ceil(reset * 1000)
  out[#out + 1] = retry
end
for j = 1, nq do
  local lim = tonumber(ARGV[qbase + 2 * j - 1])
  local reset_ms = tonumber(ARGV[qbase + 2 * j])
  local u = used[j]
  local retry = 0
  if allowed == 1 then
    u = redis.call('INCRBY', KEYS[nb + j], cost)
    if redis.call('PTTL', KEYS[nb + j]) < 0 then
      redis.call('PEXPIRE', KEYS[nb + j], reset_ms)
    end
  elseif u + cost > lim then
    retry = reset_ms
  end
  out[#out + 1] = math.max(0, lim - u)
  out[#out + 1] = reset_ms
  out[#out + 1] = retry
end
return out
