-- Acknowledges persisted stream entries and deletes them, so the stream holds exactly
-- the events not yet in PostgreSQL; et:backlog counts them.
-- ARGV[1] = consumer group, ARGV[2] = events in these entries, ARGV[3..] = entry ids.
local group = ARGV[1]
local chunk = {}
-- unpack() has a small stack limit, so ids go in chunks.
local function flush_chunk()
  if #chunk > 0 then
    redis.call('XACK', 'et:stream', group, unpack(chunk))
    redis.call('XDEL', 'et:stream', unpack(chunk))
    chunk = {}
  end
end
for i = 3, #ARGV do
  chunk[#chunk + 1] = ARGV[i]
  if #chunk == 500 then flush_chunk() end
end
flush_chunk()
local left = redis.call('DECRBY', 'et:backlog', tonumber(ARGV[2]))
if left < 0 then redis.call('SET', 'et:backlog', 0) end
return left
