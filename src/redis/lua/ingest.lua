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
-- ('' = not applicable); then expiry_count and that many pairs (key, ttl_seconds): the
-- keys whose time to live the server has not set for a while (it keeps track, so that
-- not every call pays one EXPIRE per key). Returns, per event, the stored id: the new id,
-- or the id first stored under the same client eventId (a duplicate, which changes nothing).
local recent_ttl = tonumber(ARGV[1])
local high_water = tonumber(ARGV[2])
local count = tonumber(ARGV[3])

local backlog = tonumber(redis.call('GET', 'et:backlog') or '0')
if high_water > 0 and backlog + count > high_water then
  return redis.error_reply('BACKLOG unpersisted events are past the high-water mark')
end

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
-- Every command a script runs costs Redis microseconds beyond its own work, so when a
-- call brings many increments to one key, it reads all the values concerned with one
-- command and writes the sums with another instead of one HINCRBY / ZINCRBY each (in
-- chunks: unpack() has a limit on how many values it returns).
local FEW, CHUNK = 4, 1000
local function add_all(key, increments, ranking)  -- ranking: a sorted set, else a hash
  local names = {}
  for name in pairs(increments) do names[#names + 1] = name end
  if #names <= FEW then
    for _, name in ipairs(names) do
      if ranking then redis.call('ZINCRBY', key, increments[name], name)
      else redis.call('HINCRBY', key, name, increments[name]) end
    end
    return
  end
  for first = 1, #names, CHUNK do
    local chunk = {unpack(names, first, math.min(first + CHUNK - 1, #names))}
    local current = redis.call(ranking and 'ZMSCORE' or 'HMGET', key, unpack(chunk))
    local sums = {}
    for i, name in ipairs(chunk) do
      local sum = string.format('%d', (tonumber(current[i]) or 0) + increments[name])
      if ranking then sums[2 * i - 1], sums[2 * i] = sum, name  -- ZADD takes score, member
      else sums[2 * i - 1], sums[2 * i] = name, sum end
    end
    redis.call(ranking and 'ZADD' or 'HSET', key, unpack(sums))
  end
end

-- All-time totals and per-minute counts for the query shapes of the statistics API. The
-- minute hash is what the flusher moves to event_stats (snapshot-key separation).
add_all('et:totals:live', totals, false)
add_all('et:minutes:live', minutes, false)
-- The minutes the minute hash holds, so that a read of a range looks up only those (one
-- command per call; a late event in an old minute is listed like any other). Event times
-- span about a day, so the list stays far below unpack()'s limit.
if #minute_list > 0 then redis.call('SADD', 'et:minute-index:live', unpack(minute_list)) end
-- Per-minute totals per type for dashboards; they expire on their own.
for key, n in pairs(plain) do redis.call('INCRBY', key, n) end
-- Hourly rankings keep their 1,000 best members: a window's ranking sums up to 169 of
-- them. Each change bumps the hour's version, so that readers keeping copies of the hours
-- (app/ranking_board) fetch again only the hours that changed.
for key, members in pairs(sorted) do
  add_all(key, members, true)
  redis.call('ZREMRANGEBYRANK', key, 0, -1001)
  redis.call('HINCRBY', 'et:rankings:versions', key, 1)
end
for key, users in pairs(uniques) do redis.call('PFADD', key, unpack(users)) end
for e = a + 1, a + 2 * tonumber(ARGV[a]), 2 do
  redis.call('EXPIRE', ARGV[e], ARGV[e + 1], 'NX')
end
return result
