-- Stores a group of validated events atomically, each with all of its effects.
-- The server groups the events of concurrent requests into one call and computes every
-- key and field name itself, so this script only counts and writes: increments of the
-- same field are summed here and written once, each TTL is set once per call, and all
-- new events go into one stream entry (fields r0, r1, ...).
--
-- ARGV: recent_ttl_seconds, high_water_mark (0 = none), event_count, then per event:
--   id, dedup_id, type, user_id, post_id, keyword, copy_row,
--   likes_key, minute_key, users_key, keywords_key, recent_key, top_key,
--   minute (the event's minute, Unix ms), shape_count, then shape_count pairs
--   (total_field, minute_field),
--   and for an UNLIKE: like_top_key, like_shape_count, then that many pairs,
-- ('' = not applicable). Returns, per event, the stored id: the new id, or the id first
-- stored under the same client eventId (a duplicate, which changes nothing).
local recent_ttl = tonumber(ARGV[1])
local high_water = tonumber(ARGV[2])
local count = tonumber(ARGV[3])

local backlog = tonumber(redis.call('GET', 'et:backlog') or '0')
if high_water > 0 and backlog + count > high_water then
  return redis.error_reply('BACKLOG unpersisted events are past the high-water mark')
end

local WEEK_PLUS = 8 * 86400
local totals, minutes, plain, sorted, uniques = {}, {}, {}, {}, {}
local minute_seen, minute_list = {}, {}
local function add(map, field, n) map[field] = (map[field] or 0) + n end
local function zadd(key, member, n)
  local members = sorted[key]
  if not members then members = {}; sorted[key] = members end
  members[member] = (members[member] or 0) + n
end

local rows = {}
local result = {}
local a = 4
for i = 1, count do
  local id, dedup, etype, user, post, kw, row = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6]
  local likes_key, minute_key, users_key, keywords_key = ARGV[a + 7], ARGV[a + 8], ARGV[a + 9], ARGV[a + 10]
  local recent_key, top_key = ARGV[a + 11], ARGV[a + 12]
  local minute, shapes_at, shape_count = ARGV[a + 13], a + 15, tonumber(ARGV[a + 14])
  a = shapes_at + 2 * shape_count
  local like_top_key, like_shapes_at, like_shape_count = '', 0, 0
  if etype == 'UNLIKE' then
    like_top_key, like_shape_count = ARGV[a], tonumber(ARGV[a + 1])
    like_shapes_at = a + 2
    a = like_shapes_at + 2 * like_shape_count
  end

  local first_id = false
  if dedup ~= '' then
    first_id = redis.call('SET', 'et:dedup:' .. dedup, id, 'NX', 'GET', 'EX', 86400)
  end
  if first_id then
    result[i] = first_id
  else
    result[i] = id
    rows[#rows + 1] = row
    if not minute_seen[minute] then
      minute_seen[minute] = true
      minute_list[#minute_list + 1] = minute
    end
    for s = shapes_at, shapes_at + 2 * shape_count - 1, 2 do
      add(totals, ARGV[s], 1)
      add(minutes, ARGV[s + 1], 1)
    end
    if top_key ~= '' then zadd(top_key, post, 1) end
    add(plain, minute_key, 1)
    if users_key ~= '' then
      local users = uniques[users_key]
      if not users then users = {}; uniques[users_key] = users end
      users[#users + 1] = user
    end
    -- The like balance is applied at once: a later event of this call may depend on it.
    if etype == 'LIKE' then
      redis.call('INCR', likes_key)
    elseif etype == 'UNLIKE' and tonumber(redis.call('GET', likes_key) or '0') > 0 then
      -- An UNLIKE that undoes a like lowers the post's LIKE counters (never below zero).
      redis.call('DECR', likes_key)
      for s = like_shapes_at, like_shapes_at + 2 * like_shape_count - 1, 2 do
        add(totals, ARGV[s], -1)
        add(minutes, ARGV[s + 1], -1)
      end
      if like_top_key ~= '' then zadd(like_top_key, post, -1) end
    end
    if keywords_key ~= '' then zadd(keywords_key, kw, 1) end
    if recent_key ~= '' then
      redis.call('LREM', recent_key, 0, kw)
      redis.call('LPUSH', recent_key, kw)
      redis.call('LTRIM', recent_key, 0, 9)
      redis.call('EXPIRE', recent_key, recent_ttl)
    end
  end
end

if #rows > 0 then
  -- The durable buffer the flusher moves into PostgreSQL, and its length in events.
  local entry = {}
  for j = 1, #rows do
    entry[#entry + 1] = 'r' .. (j - 1)
    entry[#entry + 1] = rows[j]
  end
  redis.call('XADD', 'et:stream', '*', unpack(entry))
  redis.call('INCRBY', 'et:backlog', #rows)
end
-- All-time totals and per-minute counts for the query shapes of the statistics API. The
-- minute hash is what the flusher moves to event_stats (snapshot-key separation).
for field, n in pairs(totals) do redis.call('HINCRBY', 'et:totals:live', field, n) end
for field, n in pairs(minutes) do redis.call('HINCRBY', 'et:minutes:live', field, n) end
-- The minutes the minute hash holds, so that a read of a range looks up only those (one
-- command per call; a late event in an old minute is listed like any other). Event times
-- span about a day, so the list stays far below unpack()'s limit.
if #minute_list > 0 then redis.call('SADD', 'et:minute-index:live', unpack(minute_list)) end
-- Per-minute totals per type for dashboards; they expire on their own.
for key, n in pairs(plain) do
  redis.call('INCRBY', key, n)
  redis.call('EXPIRE', key, 7200, 'NX')
end
-- Hourly rankings keep their 1,000 best members: a window's ranking is the union of up to
-- 169 of them, and unbounded sets (millions of posts) would make that union block Redis.
for key, members in pairs(sorted) do
  for member, n in pairs(members) do redis.call('ZINCRBY', key, n, member) end
  redis.call('ZREMRANGEBYRANK', key, 0, -1001)
  redis.call('EXPIRE', key, WEEK_PLUS, 'NX')
end
for key, users in pairs(uniques) do
  redis.call('PFADD', key, unpack(users))
  redis.call('EXPIRE', key, 40 * 86400, 'NX')
end
return result
