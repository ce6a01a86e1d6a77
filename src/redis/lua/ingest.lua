-- Stores a group of validated events atomically, each with all of its effects.
-- The server groups the events of concurrent requests into one call and computes every
-- key and field name itself, so this script only counts and writes. Most events need no
-- decision here: the server sums their counter increments over the group in advance, and
-- their rows arrive as one block ("summed" events). Only an event with a client eventId
-- (it may be a repeat), an UNLIKE (it depends on the standing likes) and a LIKE that comes
-- after one of those on the same post are looked at one by one, in order ("checked"
-- events); their increments join the sums unless they are repeats. The summed LIKEs'
-- standing likes are added first: each came before every checked event on its post.
-- Each field is written once, each TTL set once per call, and all stored events go into
-- one stream entry (field "rows", one COPY row per line).
--
-- ARGV: its layout is defined in src/redis/ingest_layout.hpp, which the server builds the
-- call from; the block of locals below names its places (tests/unit/ingest_layout_test.cpp
-- checks that the two agree). Expiry pairs (key, ttl_seconds) are the keys whose time to
-- live the server has not set for a while (it keeps track, so that not every call pays
-- one EXPIRE per key).
-- KEYS: one shard's keys (all with its hash tag {<shard>}, so in Redis Cluster one slot):
-- KEYS[1] = stream, KEYS[2] = backlog counter, KEYS[3] = live totals, KEYS[4] = live
-- minute counts, KEYS[5] = live minute index, KEYS[6] = ranking versions, KEYS[7] = the
-- dedup keys' prefix (+ client eventId). The per-event keys named in ARGV (minute counts,
-- unique users, rankings, standing likes, recent keywords) carry the same tag: in Cluster
-- every key of one tag lives in the one slot KEYS[1] routes the call to, so touching them
-- is safe. While that slot moves to another master, the script must not run on either side
-- (it could recreate there a per-event key already moved): KEYS[7] names no key that
-- exists, so Redis answers TRYAGAIN (some declared keys missing) until the move is over,
-- and the server tries again within the command's deadline.
-- Returns, per checked event, the stored id: the new id, or the id first stored under
-- the same client eventId (a repeat, which changes nothing).

-- layout: begin
local HEAD_RECENT_TTL = 1
local HEAD_HIGH_WATER = 2
local HEAD_CHECKED_COUNT = 3
local HEAD_SUMMED_COUNT = 4
local HEAD_SUMMED_ROWS = 5
local HEAD_COUNT = 5
local CHECKED_ID = 0
local CHECKED_DEDUP_ID = 1
local CHECKED_TYPE = 2
local CHECKED_USER_ID = 3
local CHECKED_POST_ID = 4
local CHECKED_KEYWORD = 5
local CHECKED_COPY_ROW = 6
local CHECKED_LIKES_KEY = 7
local CHECKED_MINUTE_KEY = 8
local CHECKED_USERS_KEY = 9
local CHECKED_KEYWORDS_KEY = 10
local CHECKED_TOP_KEY = 11
local CHECKED_MINUTE = 12
local CHECKED_SHAPE_COUNT = 13
local CHECKED_FIELDS = 14
local SHAPE_TOTAL_FIELD = 0
local SHAPE_MINUTE_FIELD = 1
local SHAPE_WIDTH = 2
local UNLIKE_TOP_KEY = 0
local UNLIKE_SHAPE_COUNT = 1
local UNLIKE_FIELDS = 2
-- layout: end

local recent_ttl = tonumber(ARGV[HEAD_RECENT_TTL])
local high_water = tonumber(ARGV[HEAD_HIGH_WATER])
local checked_count = tonumber(ARGV[HEAD_CHECKED_COUNT])
local summed_count = tonumber(ARGV[HEAD_SUMMED_COUNT])
local summed_rows = ARGV[HEAD_SUMMED_ROWS]
local stream_key, backlog_key, totals_key, minutes_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local minute_index_key, versions_key, dedup_prefix = KEYS[5], KEYS[6], KEYS[7]

local backlog = tonumber(redis.call('GET', backlog_key) or '0')
if high_water > 0 and backlog + checked_count + summed_count > high_water then
  return redis.error_reply('BACKLOG unpersisted events are past the high-water mark')
end

local totals, minutes, counters, sorted, uniques = {}, {}, {}, {}, {}
local minute_seen, minute_list = {}, {}
local function add(map, field, n) map[field] = (map[field] or 0) + n end
local function zadd(key, member, n)
  local members = sorted[key]
  if not members then members = {}; sorted[key] = members end
  members[member] = (members[member] or 0) + n
end
local function note_minute(minute)
  if not minute_seen[minute] then
    minute_seen[minute] = true
    minute_list[#minute_list + 1] = minute
  end
end

local a = HEAD_COUNT + 1  -- the next argument to read
local function take()
  local value = ARGV[a]
  a = a + 1
  return value
end

-- Every command a script runs costs Redis microseconds beyond its own work, so when a
-- call brings increments to many fields of one key, it reads all the values concerned
-- with one command and writes the sums with another instead of one HINCRBY / ZINCRBY each
-- (in chunks: unpack() has a limit on how many values it returns).
local FEW, CHUNK = 4, 1000
local function write_sums(key, kind, names, increments)  -- kind: 'hash' or 'ranking'
  local n = #names
  if n <= FEW then
    for i = 1, n do
      if kind == 'ranking' then redis.call('ZINCRBY', key, increments[i], names[i])
      else redis.call('HINCRBY', key, names[i], increments[i]) end
    end
    return
  end
  for first = 1, n, CHUNK do
    local last = math.min(first + CHUNK - 1, n)
    local current
    if kind == 'ranking' then current = redis.call('ZMSCORE', key, unpack(names, first, last))
    else current = redis.call('HMGET', key, unpack(names, first, last)) end
    local sums = {}
    for i = first, last do
      local sum = (tonumber(current[i - first + 1]) or 0) + increments[i]
      local j = 2 * (i - first)
      if kind == 'ranking' then sums[j + 1], sums[j + 2] = sum, names[i]  -- ZADD takes score, member
      else sums[j + 1], sums[j + 2] = names[i], sum end
    end
    if kind == 'ranking' then redis.call('ZADD', key, unpack(sums))
    else redis.call('HSET', key, unpack(sums)) end
  end
end
-- The next section of ARGV: n, then n names, then their n increments; `map` (name ->
-- increment), when given, adds its own increments to them.
local function take_sums(map)
  local n = tonumber(take())
  local names, increments = {}, {}
  for i = 1, n do
    names[i] = ARGV[a + i - 1]
    increments[i] = tonumber(ARGV[a + n + i - 1])
  end
  a = a + 2 * n
  if map and next(map) then
    local at = {}
    for i = 1, n do at[names[i]] = i end
    for name, increment in pairs(map) do
      local i = at[name]
      if i then increments[i] = increments[i] + increment
      else names[#names + 1] = name; increments[#names] = increment end
    end
  end
  return names, increments
end
local function write_map(key, kind, map)
  local names, increments = {}, {}
  for name, increment in pairs(map) do
    names[#names + 1] = name
    increments[#names] = increment
  end
  write_sums(key, kind, names, increments)
end

-- Standing likes. An UNLIKE takes back the post's most recent standing LIKE (the last to
-- arrive) in the minute that LIKE was counted in, never in its own: so each LIKE bucket counts the likes made in
-- it that still stand, no bucket goes below zero, and a count over a range equals the sum
-- of the series over it. et:liked:<component>:<post> lists the minutes of the post's
-- standing likes, oldest first (its length is the post's like balance).
local liked, liked_keys = {}, {}
for _ = 1, tonumber(take()) do
  local key, minute = take(), take()
  local list = liked[key]
  if not list then list = {}; liked[key] = list; liked_keys[#liked_keys + 1] = key end
  list[#list + 1] = minute
end
for _, key in ipairs(liked_keys) do redis.call('RPUSH', key, unpack(liked[key])) end

local rows = {}
if summed_count > 0 then rows[1] = summed_rows end
local result, repeated = {}, {}
for i = 1, checked_count do
  local id, dedup, etype = ARGV[a + CHECKED_ID], ARGV[a + CHECKED_DEDUP_ID], ARGV[a + CHECKED_TYPE]
  local user, post, kw = ARGV[a + CHECKED_USER_ID], ARGV[a + CHECKED_POST_ID], ARGV[a + CHECKED_KEYWORD]
  local row, likes_key, minute_key = ARGV[a + CHECKED_COPY_ROW], ARGV[a + CHECKED_LIKES_KEY], ARGV[a + CHECKED_MINUTE_KEY]
  local users_key, keywords_key, top_key = ARGV[a + CHECKED_USERS_KEY], ARGV[a + CHECKED_KEYWORDS_KEY], ARGV[a + CHECKED_TOP_KEY]
  local minute, shape_count = ARGV[a + CHECKED_MINUTE], tonumber(ARGV[a + CHECKED_SHAPE_COUNT])
  local shapes_at = a + CHECKED_FIELDS
  a = shapes_at + SHAPE_WIDTH * shape_count
  local like_top_key, like_shapes_at, like_shape_count = '', 0, 0
  if etype == 'UNLIKE' then
    like_top_key, like_shape_count = ARGV[a + UNLIKE_TOP_KEY], tonumber(ARGV[a + UNLIKE_SHAPE_COUNT])
    like_shapes_at = a + UNLIKE_FIELDS
    a = like_shapes_at + like_shape_count
  end

  local first_id = false
  if dedup ~= '' then
    first_id = redis.call('SET', dedup_prefix .. dedup, id, 'NX', 'GET', 'EX', 86400)
  end
  if first_id then
    result[i] = first_id
    repeated[i] = true
  else
    result[i] = id
    rows[#rows + 1] = row
    note_minute(minute)
    for s = shapes_at, shapes_at + SHAPE_WIDTH * shape_count - 1, SHAPE_WIDTH do
      add(totals, ARGV[s + SHAPE_TOTAL_FIELD], 1)
      add(minutes, ARGV[s + SHAPE_MINUTE_FIELD], 1)
    end
    if top_key ~= '' then zadd(top_key, post, 1) end
    add(counters, minute_key, 1)
    if users_key ~= '' then
      local users = uniques[users_key]
      if not users then users = {}; uniques[users_key] = users end
      users[#users + 1] = user
    end
    -- Standing likes change at once: a later event of this call may depend on them.
    if etype == 'LIKE' then
      redis.call('RPUSH', likes_key, minute)
    elseif etype == 'UNLIKE' then
      local taken = redis.call('RPOP', likes_key)
      if taken then
        -- It undoes a like: that like's minute loses it (see "Standing likes" above).
        note_minute(taken)
        for s = like_shapes_at, like_shapes_at + like_shape_count - 1 do
          add(totals, ARGV[s], -1)
          add(minutes, ARGV[s] .. '|' .. taken, -1)
        end
        if like_top_key ~= '' then zadd(like_top_key, post, -1) end
      end
    end
    if keywords_key ~= '' then zadd(keywords_key, kw, 1) end
  end
end

-- The summed events' effects, with the checked events' ones.
-- All-time totals and per-minute counts for the query shapes of the statistics API. The
-- minute hash is what the flusher moves to event_stats (snapshot-key separation).
local names, increments = take_sums(totals)
write_sums(totals_key, 'hash', names, increments)
names, increments = take_sums(minutes)
write_sums(minutes_key, 'hash', names, increments)
for _ = 1, tonumber(take()) do note_minute(take()) end
for _ = 1, tonumber(take()) do
  local key = take()
  add(counters, key, tonumber(take()))
end
for _ = 1, tonumber(take()) do
  local key = take()
  for _ = 1, tonumber(take()) do
    local member = take()
    zadd(key, member, tonumber(take()))
  end
end
for _ = 1, tonumber(take()) do
  local key = take()
  local users = uniques[key]
  if not users then users = {}; uniques[key] = users end
  for _ = 1, tonumber(take()) do users[#users + 1] = take() end
end
-- Recent keywords, in the order the searches came (a repeated event changes nothing).
for _ = 1, tonumber(take()) do
  local checked_index, recent_key, kw = tonumber(take()), take(), take()
  if not repeated[checked_index] then
    redis.call('LREM', recent_key, 0, kw)
    if redis.call('LPUSH', recent_key, kw) > 10 then redis.call('LTRIM', recent_key, 0, 9) end
    redis.call('EXPIRE', recent_key, recent_ttl)
  end
end

local stored = summed_count + #rows - (summed_count > 0 and 1 or 0)
if stored > 0 then
  -- The durable buffer the flusher moves into PostgreSQL, and its length in events.
  redis.call('XADD', stream_key, '*', 'rows', table.concat(rows, '\n'))
  redis.call('INCRBY', backlog_key, stored)
end
-- The minutes the minute hash holds, so that a read of a range looks up only those (one
-- command per call; a late event in an old minute is listed like any other). Event times
-- span about a day, so the list stays far below unpack()'s limit.
if #minute_list > 0 then redis.call('SADD', minute_index_key, unpack(minute_list)) end
-- Per-minute totals per type for dashboards; they expire on their own.
for key, n in pairs(counters) do redis.call('INCRBY', key, n) end
-- Hourly rankings keep their 1,000 best members: a window's ranking sums up to 169 of
-- them. Each change bumps the hour's version, so that readers keeping copies of the hours
-- (app/ranking_board) fetch again only the hours that changed.
for key, members in pairs(sorted) do
  write_map(key, 'ranking', members)
  redis.call('ZREMRANGEBYRANK', key, 0, -1001)
  redis.call('HINCRBY', versions_key, key, 1)
end
for key, users in pairs(uniques) do redis.call('PFADD', key, unpack(users)) end
for _ = 1, tonumber(take()) do
  local key, ttl = take(), take()
  redis.call('EXPIRE', key, ttl, 'NX')
end
return result
