-- wrk script: GET /api/search for the seeded hashtags tag1 .. tag500 (random, uniform)
-- and random users 1 .. USERS. MODE=unique searches keywords never seen before instead
-- (each request a cache miss: rebuild lock, database lookup, cache fill).
local mode = os.getenv("MODE") or "tags"
local users = tonumber(os.getenv("USERS") or "100000")
local tags = tonumber(os.getenv("TAGS") or "500")

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

local counter = 0
local run_id
function init()
  math.randomseed(os.time() * 1000 + (thread_id or 0))
  run_id = string.format("%x%x", os.time(), math.random(0, 0xffffff))
end

function request()
  counter = counter + 1
  local keyword
  if mode == "unique" then
    keyword = string.format("unseen-%s-%d-%d", run_id, thread_id or 0, counter)
  else
    keyword = "tag" .. math.random(1, tags)
  end
  return wrk.format("GET", "/api/search?userId=" .. math.random(1, users) .. "&keyword=" .. keyword)
end

-- The write key, from TRACKER_WRITE_KEY (bench/lib/stack.sh makes one); none with --auth=off.
local key = os.getenv("TRACKER_WRITE_KEY") or ""
if key ~= "" then wrk.headers["X-Api-Key"] = key end
