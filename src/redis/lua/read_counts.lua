-- Reads counters from the live hash and from every snapshot not yet dropped, in one
-- atomic step. ARGV[1] = 'totals' or 'minutes', ARGV[2..] = fields.
-- Returns { live_values, flush_id_1, values_1, flush_id_2, values_2, ... }.
local kind = ARGV[1]
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
local function read(key)
  local values = {}
  for j = 1, #fields, 1000 do  -- unpack() has a small stack limit
    local part = redis.call('HMGET', key, unpack(fields, j, math.min(j + 999, #fields)))
    for _, v in ipairs(part) do values[#values + 1] = v end
  end
  -- nil values would end the Lua array early: spell them 0
  for j = 1, #fields do
    if not values[j] then values[j] = 0 end
  end
  return values
end
local out = { read('et:' .. kind .. ':live') }
for _, id in ipairs(redis.call('ZRANGE', 'et:snapshots', 0, -1)) do
  out[#out + 1] = id
  out[#out + 1] = read('et:' .. kind .. ':snap:' .. id)
end
return out
