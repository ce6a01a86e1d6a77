-- Stores a group of validated events atomically, each with all of its effects.
-- ARGV: recent_ttl_seconds, high_water_mark (0 = none), event_count, then for each
-- event FIELDS values:
--   id, dedup_id ('' = none), type, user_id, component_id, post_id, keyword
--   ('' = absent for the last four), minute_ms, hour_ms, day (YYYY-MM-DD), copy_row
-- Returns, per event, the stored id: the new id, or the id first stored under the same
-- client eventId (a duplicate, which changes nothing).
local FIELDS = 11
local recent_ttl = tonumber(ARGV[1])
local high_water = tonumber(ARGV[2])
local count = tonumber(ARGV[3])

if high_water > 0 and redis.call('XLEN', 'et:stream') + count > high_water then
  return redis.error_reply('BACKLOG unpersisted events are past the high-water mark')
end

local WEEK_PLUS = 8 * 86400
local result = {}
for i = 0, count - 1 do
  local b = 3 + i * FIELDS
  local id, dedup, etype = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local user, comp, post, kw = ARGV[b + 4], ARGV[b + 5], ARGV[b + 6], ARGV[b + 7]
  local minute, hour, day, row = ARGV[b + 8], ARGV[b + 9], ARGV[b + 10], ARGV[b + 11]

  local first_id = false
  if dedup ~= '' then
    first_id = redis.call('SET', 'et:dedup:' .. dedup, id, 'NX', 'GET', 'EX', 86400)
  end
  if first_id then
    result[i + 1] = first_id
  else
    result[i + 1] = id
    -- The durable buffer the flusher moves into PostgreSQL.
    redis.call('XADD', 'et:stream', '*', 'r', row)

    -- Counter deltas for this event: its own type, and for an UNLIKE that undoes a like,
    -- minus one on the post's LIKE counters (never below zero).
    local deltas = { { etype, 1 } }
    if etype == 'LIKE' then
      redis.call('INCR', 'et:likes:' .. comp .. ':' .. post)
    elseif etype == 'UNLIKE' then
      local likes_key = 'et:likes:' .. comp .. ':' .. post
      if tonumber(redis.call('GET', likes_key) or '0') > 0 then
        redis.call('DECR', likes_key)
        deltas[2] = { 'LIKE', -1 }
      end
    end
    for _, d in ipairs(deltas) do
      local t, n = d[1], d[2]
      -- Minute buckets, moved to event_stats by the flusher (snapshot-key separation).
      redis.call('HINCRBY', 'et:stats:live', minute .. '|' .. t .. '|' .. comp .. '|' .. post .. '|' .. kw, n)
      -- All-time totals for the query shapes the statistics API answers ('*' = any).
      redis.call('HINCRBY', 'et:totals:live', t .. '|' .. comp .. '|*|*', n)
      if post ~= '' then
        redis.call('HINCRBY', 'et:totals:live', t .. '|' .. comp .. '|' .. post .. '|*', n)
      end
      if kw ~= '' then
        redis.call('HINCRBY', 'et:totals:live', t .. '|' .. comp .. '|*|' .. kw, n)
        if post ~= '' then
          redis.call('HINCRBY', 'et:totals:live', t .. '|' .. comp .. '|' .. post .. '|' .. kw, n)
        end
      end
      if post ~= '' and (t == 'LIKE' or t == 'PAGE_VIEW' or t == 'CLICK') then
        local top = 'et:top:' .. t .. ':' .. hour
        redis.call('ZINCRBY', top, n, post)
        redis.call('EXPIRE', top, WEEK_PLUS, 'NX')
      end
    end

    -- Real-time per-minute totals per type, for dashboards; they expire on their own.
    local rt = 'et:rt:' .. etype .. ':' .. minute
    redis.call('INCR', rt)
    redis.call('EXPIRE', rt, 7200, 'NX')

    if user ~= '' then
      local uu = 'et:uu:' .. etype .. ':' .. day
      redis.call('PFADD', uu, user)
      redis.call('EXPIRE', uu, 40 * 86400, 'NX')
    end

    if etype == 'SEARCH' then
      local popular = 'et:kw:' .. hour
      redis.call('ZINCRBY', popular, 1, kw)
      redis.call('EXPIRE', popular, WEEK_PLUS, 'NX')
      if user ~= '' then
        local recent = 'et:recent:' .. user
        redis.call('LREM', recent, 0, kw)
        redis.call('LPUSH', recent, kw)
        redis.call('LTRIM', recent, 0, 9)
        redis.call('EXPIRE', recent, recent_ttl)
      end
    end
  end
end
return result
