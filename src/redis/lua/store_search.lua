-- Stores a rebuilt search result and releases its rebuild lock if this rebuild still
-- holds it (the lock may have expired and been taken by another request meanwhile).
-- KEYS[1] = result key, KEYS[2] = lock key; ARGV[1] = value, ARGV[2] = keep (ms),
-- ARGV[3] = lock token.
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('DEL', KEYS[2])
end
return 1
