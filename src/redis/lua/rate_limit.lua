-- GCRA token buckets for the requests of one group, in order: each request takes a token
-- from every one of its buckets, or from none when any of them is empty. The arithmetic
-- is domain/token_bucket.cpp's, in microseconds.
-- KEYS: the group's distinct buckets (strings holding their TAT).
-- ARGV: for each key, its emission interval (µs) and its burst; then, per request, how
-- many buckets it draws from followed by their places in KEYS (1-based).
-- The clock is Redis's own (TIME): every server instance then measures a bucket against
-- the same clock, however their own clocks drift. A bucket expires when it is full again
-- (then it is the same as no bucket), so each is written once, at the end.
-- Returns, per request and per bucket of it: allowed (1 or 0), remaining, retry-after (µs),
-- reset (µs).
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tats, intervals, bursts, changed = {}, {}, {}, {}
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key) or 0) or 0
  tats[i] = math.max(tat, now)
  intervals[i] = tonumber(ARGV[2 * i - 1])
  bursts[i] = tonumber(ARGV[2 * i])
end
local out = {}
local at = 2 * #KEYS + 1
while at <= #ARGV do
  local count = tonumber(ARGV[at])
  local all_allowed = true
  for j = 1, count do
    local i = tonumber(ARGV[at + j])
    local tat, interval = tats[i], intervals[i]
    local new_tat = tat + interval
    local allowed_at = new_tat - bursts[i] * interval
    local n = #out
    if now < allowed_at then
      all_allowed = false
      out[n + 1], out[n + 2], out[n + 3], out[n + 4] = 0, 0, allowed_at - now, tat - now
    else
      out[n + 1], out[n + 2], out[n + 3], out[n + 4] = 1, math.floor((now - allowed_at) / interval), 0, new_tat - now
    end
  end
  if all_allowed then
    for j = 1, count do
      local i = tonumber(ARGV[at + j])
      tats[i] = tats[i] + intervals[i]
      changed[i] = true
    end
  end
  at = at + count + 1
end
for i, key in ipairs(KEYS) do
  if changed[i] then
    -- %.0f: tostring() would print a microsecond time in exponent form, losing digits.
    redis.call('SET', key, string.format('%.0f', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000))
  end
end
return out
