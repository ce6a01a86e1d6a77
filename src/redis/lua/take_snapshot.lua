-- Freezes the live counters under a new flush id (snapshot-key separation): the live
-- keys are renamed, so increments arriving after this go to fresh live keys. The minute
-- hash's index of minutes goes with it.
-- ARGV[1] = flush id. Returns 1 when a snapshot was taken, 0 when nothing was live.
local id = ARGV[1]
local taken = 0
for _, kind in ipairs({ 'totals', 'minutes' }) do
  if redis.call('EXISTS', 'et:' .. kind .. ':live') == 1 then
    redis.call('RENAME', 'et:' .. kind .. ':live', 'et:' .. kind .. ':snap:' .. id)
    taken = 1
  end
end
-- Absent when the minute hash was written by a server that kept no index.
if redis.call('EXISTS', 'et:minute-index:live') == 1 then
  redis.call('RENAME', 'et:minute-index:live', 'et:minute-index:snap:' .. id)
  taken = 1
end
if taken == 1 then
  redis.call('ZADD', 'et:snapshots', redis.call('TIME')[1], id)
end
return taken
