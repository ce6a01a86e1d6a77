-- Freezes the live counters under a new flush id (snapshot-key separation): the live
-- keys are renamed, so increments arriving after this go to fresh live keys. The minute
-- hash's index of minutes goes with it.
-- One shard's keys: KEYS[1] = its snapshot ids; KEYS[2], KEYS[3], KEYS[4] = live totals,
-- live minute counts, live minute index; KEYS[5], KEYS[6], KEYS[7] = their snapshot names.
-- ARGV[1] = flush id. Returns 1 when a snapshot was taken, 0 when nothing was live.
local id = ARGV[1]
local taken = 0
-- The minute index is absent when the minute hash was written by a server that kept no index.
local live, frozen = { KEYS[2], KEYS[3], KEYS[4] }, { KEYS[5], KEYS[6], KEYS[7] }
for i = 1, 3 do
  if redis.call('EXISTS', live[i]) == 1 then
    redis.call('RENAME', live[i], frozen[i])
    taken = 1
  end
end
if taken == 1 then
  redis.call('ZADD', KEYS[1], redis.call('TIME')[1], id)
end
return taken
