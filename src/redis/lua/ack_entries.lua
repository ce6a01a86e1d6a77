-- Acknowledges persisted stream entries and deletes them, so the stream holds exactly
-- the events not yet in PostgreSQL (its length is the backlog).
-- ARGV[1] = consumer group, ARGV[2..] = entry ids.
local group = ARGV[1]
local deleted = 0
local chunk = {}
-- unpack() has a small stack limit, so ids go in chunks.
local function flush_chunk()
  if #chunk > 0 then
    redis.call('XACK', 'et:stream', group, unpack(chunk))
    deleted = deleted + redis.call('XDEL', 'et:stream', unpack(chunk))
    chunk = {}
  end
end
for i = 2, #ARGV do
  chunk[#chunk + 1] = ARGV[i]
  if #chunk == 500 then flush_chunk() end
end
flush_chunk()
return deleted
