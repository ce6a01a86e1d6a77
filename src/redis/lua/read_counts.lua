-- Reads one shard's counters from the live hashes and from every snapshot not yet
-- dropped, in one atomic step.
--
-- KEYS[1] = the live hash the kind reads (totals or minute counts), KEYS[2] = the live
-- minute index, KEYS[3] = the shard's snapshot ids, KEYS[4] = the prefix of the kind's
-- snapshot hashes, KEYS[5] = the prefix of the snapshot minute indexes (+ flush id). All
-- carry the shard's hash tag: in Redis Cluster the snapshot names built from them are in
-- the slot of KEYS[1].
--
-- ARGV = kind, known_count, known flush ids..., then what the kind reads. The known
-- snapshots are those the server does not need read: a snapshot never changes once taken,
-- so it keeps what it read from one (redis/statistics_reader), and one already applied in
-- the caller's PostgreSQL reading adds nothing. A known snapshot that is still present is
-- listed with false instead of its values, and costs no lookup.
-- kind 'totals', then field, field, ...: returns { live_values, flush_id_1, values_1,
--   flush_id_2, values_2, ... } with one value per field (0 when absent).
-- kind 'minutes', then field_prefix, from_ms, to_ms: the per-minute fields prefix .. minute
--   for the minutes in [from_ms, to_ms). Each minute hash comes with the set of minutes it
--   holds (et:minute-index:*), normally the last one or two, so only those are looked up,
--   not every minute of the range. Returns { live_pairs, flush_id_1, pairs_1, ... } where
--   pairs = { minute, value, minute, value, ... } for the minutes with a non-zero value.
local kind = ARGV[1]
local known = {}
local first = 3 + tonumber(ARGV[2])  -- the kind's first argument
for i = 3, first - 1 do known[ARGV[i]] = true end

local function hmget(key, fields)
  local values = {}
  for j = 1, #fields, 1000 do  -- unpack() has a small stack limit
    local part = redis.call('HMGET', key, unpack(fields, j, math.min(j + 999, #fields)))
    for k = 1, #part do values[j + k - 1] = part[k] end
  end
  return values
end

local function read_totals(key, fields)
  local values = hmget(key, fields)
  -- nil values would end the Lua array early: spell them 0
  for j = 1, #fields do
    if not values[j] then values[j] = 0 end
  end
  return values
end

local prefix, from, to = ARGV[first], tonumber(ARGV[first + 1]), tonumber(ARGV[first + 2])
local function read_minutes(key, index_key)
  local minutes = {}
  local listed = redis.call('SMEMBERS', index_key)
  if #listed == 0 and redis.call('EXISTS', key) == 1 then
    -- A hash written by a server that kept no index: every minute of the range such a
    -- server wrote to (event times at most a day old and minutes ahead), not of a range
    -- that may span centuries.
    local now = tonumber(redis.call('TIME')[1]) * 1000
    local first = math.max(from, now - (now % 60000) - 86400000 - 120000)
    for minute = first, math.min(to, now + 660000) - 1, 60000 do minutes[#minutes + 1] = minute end
  else
    for _, text in ipairs(listed) do
      local minute = tonumber(text)
      if minute and minute >= from and minute < to then minutes[#minutes + 1] = minute end
    end
  end
  local fields = {}
  for j = 1, #minutes do fields[j] = prefix .. string.format('%d', minutes[j]) end
  local values = hmget(key, fields)
  local pairs_out = {}
  for j = 1, #minutes do
    local value = tonumber(values[j] or 0)
    if value ~= 0 then
      pairs_out[#pairs_out + 1] = minutes[j]
      pairs_out[#pairs_out + 1] = value
    end
  end
  return pairs_out
end

local fields = {}
if kind == 'totals' then
  for i = first, #ARGV do fields[#fields + 1] = ARGV[i] end
end
local function read(key, index_key)
  if kind == 'totals' then return read_totals(key, fields) end
  return read_minutes(key, index_key)
end

local out = { read(KEYS[1], KEYS[2]) }
for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  out[#out + 1] = id
  if known[id] then out[#out + 1] = false else out[#out + 1] = read(KEYS[4] .. id, KEYS[5] .. id) end
end
return out
