-- The top members of the union of some hourly sorted sets (KEYS), summed.
-- ARGV[1] = how many. Returns member, score, member, score, ...
local existing = {}
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then existing[#existing + 1] = key end
end
if #existing == 0 then return {} end
local function best(key)  -- members with a positive score only (UNLIKEs can cancel LIKEs)
  return redis.call('ZREVRANGEBYSCORE', key, '+inf', '(0', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))
end
if #existing == 1 then return best(existing[1]) end
local scratch = 'et:scratch:top'
redis.call('ZUNIONSTORE', scratch, #existing, unpack(existing))
local top = best(scratch)
redis.call('DEL', scratch)
return top
