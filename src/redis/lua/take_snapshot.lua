-- Freezes the live counters under a new flush id (snapshot-key separation): the live
-- keys are renamed, so increments arriving after this go to fresh live keys. The minute
-- hash's index of minutes goes with it.
-- ARGV[1] = flush id. Returns 1 when a snapshot was taken, 0 when nothing was live.
local id = ARGV[1]
local taken = 0
-- Each live key and the prefix of its snapshot's name. The minute index is absent when
-- the minute hash was written by a server that kept no index.
local renames = {
  { 'et:totals:live', 'et:totals:snap:' },
  { 'et:minutes:live', 'et:minutes:snap:' },
  { 'et:minute-index:live', 'et:minute-index:snap:' },
}
for _, rename in ipairs(renames) do
  if redis.call('EXISTS', rename[1]) == 1 then
    redis.call('RENAME', rename[1], rename[2] .. id)
    taken = 1
  end
end
if taken == 1 then
  redis.call('ZADD', 'et:snapshots', redis.call('TIME')[1], id)
end
return taken
