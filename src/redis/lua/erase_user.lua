-- Erases one user's events from the stream entries not yet in PostgreSQL, and their recent
-- keywords; called repeatedly, each call reading a bounded number of entries, so that
-- Redis never stops for long whatever the backlog.
-- An entry holding some of the user's events is deleted (and acknowledged, in case a
-- flusher took it and failed before storing it) and its other events are added again as a
-- new entry at the stream's end; one holding only theirs is just deleted. The erasing
-- server holds the PostgreSQL lock that keeps every flush batch out meanwhile, and names
-- the last entry already stored (entries at or before it are in PostgreSQL, where it
-- deletes their rows itself; their acknowledgement may still be on its way, so they are
-- left alone). docs/DESIGN.md, "Erasing a user's data", has the whole argument.
--
-- KEYS[1] = the stream, KEYS[2] = the backlog counter, KEYS[3] = the user's recent keywords.
-- ARGV: consumer group, user id, from (exclusive start: '(' .. the last stored entry id,
-- then what the previous call answered), last (the stream's last entry id when the first
-- call ran; '' in the first call), entries per call.
-- Returns {events removed, recent keywords removed, next from ('' when done), last}.
local stream, backlog, recent = KEYS[1], KEYS[2], KEYS[3]
local group, user, from, last, count = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])

local keywords = 0
if last == '' then
  keywords = redis.call('LLEN', recent)
  redis.call('DEL', recent)
  local newest = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
  if #newest == 0 then return {0, keywords, '', ''} end
  -- Entries added later (new events, and the rewritten ones below) are not this erasure's.
  last = newest[1][1]
end

-- A row is one line of COPY text: id, event_type, user_id, ... (tabs and newlines inside
-- values are escaped, so both split rows exactly). `needle` finds candidates fast; the
-- third column decides.
local needle = '\t' .. user .. '\t'
local function users_row(row)
  return row:match('^[^\t]*\t[^\t]*\t([^\t]*)') == user
end

local removed = 0
local entries = redis.call('XRANGE', stream, from, last, 'COUNT', count)
for _, entry in ipairs(entries) do
  local id, fields = entry[1], entry[2]
  local candidate = false
  for i = 2, #fields, 2 do
    if string.find(fields[i], needle, 1, true) then candidate = true break end
  end
  if candidate then
    -- Field "rows" holds the rows one per line; older entries hold one row per field r0, r1...
    local kept, gone = {}, 0
    for i = 1, #fields, 2 do
      local name, value = fields[i], fields[i + 1]
      if name == 'rows' then
        for row in string.gmatch(value, '[^\n]+') do
          if users_row(row) then gone = gone + 1 else kept[#kept + 1] = row end
        end
      elseif string.sub(name, 1, 1) == 'r' then
        if users_row(value) then gone = gone + 1 else kept[#kept + 1] = value end
      end
    end
    if gone > 0 then
      redis.call('XACK', stream, group, id)
      redis.call('XDEL', stream, id)
      if #kept > 0 then redis.call('XADD', stream, '*', 'rows', table.concat(kept, '\n')) end
      removed = removed + gone
    end
  end
end
if removed > 0 then
  if redis.call('DECRBY', backlog, removed) < 0 then redis.call('SET', backlog, 0) end
end
local next_from = ''
if #entries == count then next_from = '(' .. entries[#entries][1] end
return {removed, keywords, next_from, last}
