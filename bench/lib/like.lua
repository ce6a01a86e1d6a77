-- wrk script: POST /api/posts/like toggles of random users 1 .. USERS on random posts
-- FIRST_POST .. FIRST_POST + POSTS - 1 (the load-test scenario: users 1..100, posts 1..1000).
local users = tonumber(os.getenv("USERS") or "100")
local first_post = tonumber(os.getenv("FIRST_POST") or "1")
local posts = tonumber(os.getenv("POSTS") or "1000")

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function init()
  math.randomseed(os.time() * 1000 + (thread_id or 0))
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  local body = string.format('{"userId":%d,"postId":%d}', math.random(1, users),
                             first_post + math.random(0, posts - 1))
  return wrk.format(nil, "/api/posts/like", nil, body)
end

-- The write key, from TRACKER_WRITE_KEY (bench/lib/stack.sh makes one); none with --auth=off.
local key = os.getenv("TRACKER_WRITE_KEY") or ""
if key ~= "" then wrk.headers["X-Api-Key"] = key end
