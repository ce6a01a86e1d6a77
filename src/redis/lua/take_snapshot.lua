-- Freezes the live counters under a new flush id (snapshot-key separation): the live
-- keys are renamed, so increments arriving after this go to fresh live keys.
-- ARGV[1] = flush id. Returns 1 when a snapshot was taken, 0 when nothing was live.
local id = ARGV[1]
local taken = 0
if redis.call('EXISTS', 'et:stats:live') == 1 then
  redis.call('RENAME', 'et:stats:live', 'et:stats:snap:' .. id)
  taken = 1
end
if redis.call('EXISTS', 'et:totals:live') == 1 then
  redis.call('RENAME', 'et:totals:live', 'et:totals:snap:' .. id)
  taken = 1
end
if redis.call('EXISTS', 'et:series:live') == 1 then
  redis.call('RENAME', 'et:series:live', 'et:series:snap:' .. id)
  taken = 1
end
if taken == 1 then
  redis.call('ZADD', 'et:snapshots', redis.call('TIME')[1], id)
end
return taken
