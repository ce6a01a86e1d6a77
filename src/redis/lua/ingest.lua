-- Stores a group of validated events atomically, each with all of its effects.
-- ARGV: recent_ttl_seconds, high_water_mark (0 = none), event_count, then for each
-- event FIELDS values:
--   id, dedup_id ('' = none), type, user_id, component_id, post_id, keyword
--   ('' = absent for the last four), minute_ms, hour_ms, day (YYYY-MM-DD), copy_row
-- Returns, per event, the stored id: the new id, or the id first stored under the same
-- client eventId (a duplicate, which changes nothing).
--
-- The server groups the events of concurrent requests into one call, so increments of
-- the same key are summed here and written once, and each TTL is set once per call.
local FIELDS = 11
local recent_ttl = tonumber(ARGV[1])
local high_water = tonumber(ARGV[2])
local count = tonumber(ARGV[3])

if high_water > 0 and redis.call('XLEN', 'et:stream') + count > high_water then
  return redis.error_reply('BACKLOG unpersisted events are past the high-water mark')
end

local WEEK_PLUS = 8 * 86400
local stats, totals, series, minute_totals = {}, {}, {}, {}
local sorted = {}     -- key -> member -> increment
local uniques = {}    -- key -> list of user ids
local function add(map, field, n) map[field] = (map[field] or 0) + n end
local function zadd(key, member, n)
  local members = sorted[key]
  if not members then members = {}; sorted[key] = members end
  members[member] = (members[member] or 0) + n
end

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
    -- minus one on the post's LIKE counters (never below zero). The like balance is
    -- applied at once: a later event of this same call may depend on it.
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
      add(stats, minute .. '|' .. t .. '|' .. comp .. '|' .. post .. '|' .. kw, n)
      -- All-time totals for the query shapes the statistics API answers ('*' = any),
      -- and the same per minute (a read-side index of the recent minutes).
      local shapes = { t .. '|*|*|*', t .. '|' .. comp .. '|*|*' }
      if post ~= '' then shapes[#shapes + 1] = t .. '|' .. comp .. '|' .. post .. '|*' end
      if kw ~= '' then
        shapes[#shapes + 1] = t .. '|' .. comp .. '|*|' .. kw
        if post ~= '' then shapes[#shapes + 1] = t .. '|' .. comp .. '|' .. post .. '|' .. kw end
      end
      for _, shape in ipairs(shapes) do
        add(totals, shape, n)
        add(series, shape .. '|' .. minute, n)
      end
      if post ~= '' and (t == 'LIKE' or t == 'PAGE_VIEW' or t == 'CLICK') then
        zadd('et:top:' .. t .. ':' .. hour, post, n)
      end
    end

    -- Real-time per-minute totals per type, for dashboards; they expire on their own.
    add(minute_totals, 'et:rt:' .. etype .. ':' .. minute, 1)

    if user ~= '' then
      local key = 'et:uu:' .. etype .. ':' .. day
      local users = uniques[key]
      if not users then users = {}; uniques[key] = users end
      users[#users + 1] = user
    end

    if etype == 'SEARCH' then
      zadd('et:kw:' .. hour, kw, 1)
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

for field, n in pairs(stats) do redis.call('HINCRBY', 'et:stats:live', field, n) end
for field, n in pairs(totals) do redis.call('HINCRBY', 'et:totals:live', field, n) end
for field, n in pairs(series) do redis.call('HINCRBY', 'et:series:live', field, n) end
for key, n in pairs(minute_totals) do
  redis.call('INCRBY', key, n)
  redis.call('EXPIRE', key, 7200, 'NX')
end
for key, members in pairs(sorted) do
  for member, n in pairs(members) do redis.call('ZINCRBY', key, n, member) end
  redis.call('EXPIRE', key, WEEK_PLUS, 'NX')
end
for key, users in pairs(uniques) do
  for j = 1, #users, 500 do
    redis.call('PFADD', key, unpack(users, j, math.min(j + 499, #users)))
  end
  redis.call('EXPIRE', key, 40 * 86400, 'NX')
end
return result
