-- Deletes a lock only if it still holds this owner's token.
-- KEYS[1] = lock key; ARGV[1] = token. Returns 1 if released.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
