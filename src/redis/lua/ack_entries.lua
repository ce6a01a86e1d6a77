-- Acknowledges persisted stream entries and deletes them, so the stream holds exactly
-- the events not yet in PostgreSQL; the backlog counter counts them.
-- KEYS[1] = the shard's stream, KEYS[2] = its backlog counter.
-- ARGV[1] = consumer group, ARGV[2] = events in these entries, ARGV[3..] = entry ids.
local group = ARGV[1]
local chunk = {}
-- unpack() has a small stack limit, so ids go in chunks.
local function flush_chunk()
  if #chunk > 0 then
    redis.call('XACK', KEYS[1], group, unpack(chunk))
    redis.call('XDEL', KEYS[1], unpack(chunk))
    chunk = {}
  end
end
for i = 3, #ARGV do
  chunk[#chunk + 1] = ARGV[i]
  if #chunk == 500 then flush_chunk() end
end
flush_chunk()
local left = redis.call('DECRBY', KEYS[2], tonumber(ARGV[2]))
if left < 0 then redis.call('SET', KEYS[2], 0) end
return left
