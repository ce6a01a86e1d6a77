-- GCRA token buckets: one request takes a token from every bucket in KEYS, or from none
-- when any of them is empty. The arithmetic is domain/token_bucket.cpp's, in microseconds.
-- ARGV: for each key, its emission interval (µs) and its burst.
-- The clock is Redis's own (TIME): every server instance then measures a bucket against
-- the same clock, however their own clocks drift. A bucket is a string holding its TAT,
-- expiring when the bucket is full again (then it is the same as no bucket).
-- Returns, for each key: allowed (1 or 0), remaining, retry-after (µs), reset (µs).
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local out = {}
local new_tats = {}
local all_allowed = true
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or 0) or 0
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allowed_at = new_tat - burst * interval
  local n = #out
  if now < allowed_at then
    all_allowed = false
    out[n + 1], out[n + 2], out[n + 3], out[n + 4] = 0, 0, allowed_at - now, tat - now
  else
    out[n + 1], out[n + 2], out[n + 3], out[n + 4] = 1, math.floor((now - allowed_at) / interval), 0, new_tat - now
    new_tats[i] = new_tat
  end
end
if all_allowed then
  for i, key in ipairs(KEYS) do
    -- %.0f: tostring() would print a microsecond time in exponent form, losing digits.
    redis.call('SET', key, string.format('%.0f', new_tats[i]), 'PX', math.ceil((new_tats[i] - now) / 1000))
  end
end
return out
