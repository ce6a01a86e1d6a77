-- wrk script: POSTs a realistic mix of events, in the shape of the clients' load tests
-- (CLICK / PAGE_VIEW / SEARCH / LIKE, users 1..100, components 1000..2000,
-- elements 1..50, keywords 1..10, posts 1..10). BATCH=n in the environment sends
-- {"events": [...n...]} bodies to /api/events/batch instead. CLIENTS=n sends each
-- request with X-Forwarded-For one of n client addresses (for a trusted proxy's view).
local batch = tonumber(os.getenv("BATCH") or "0")
local types = { "CLICK", "PAGE_VIEW", "SEARCH", "LIKE" }

local function event(i)
  local t = types[(i % #types) + 1]
  local user = (i * 7919) % 100 + 1
  local component = 1000 + (i * 104729) % 1001
  local keyword, post = "null", "null"
  if t == "SEARCH" then keyword = '"keyword-' .. ((i % 10) + 1) .. '"' end
  if t == "LIKE" then post = tostring((i % 10) + 1) end
  return string.format(
    '{"eventType":"%s","userId":%d,"sessionId":"session-%d","metadata":{"componentId":%d,' ..
    '"elementId":"element-%d","keyword":%s,"postId":%s,"page":"/posts/%d"}}',
    t, user, (i * 31) % 5000, component, (i % 50) + 1, keyword, post, (i % 100) + 1)
end

local bodies = {}
local path = "/api/events"
for i = 1, 997 do
  if batch > 0 then
    local parts = {}
    for j = 1, batch do parts[j] = event(i * batch + j) end
    bodies[i] = '{"events":[' .. table.concat(parts, ",") .. ']}'
  else
    bodies[i] = event(i)
  end
end
if batch > 0 then path = "/api/events/batch" end

-- The write key, from TRACKER_WRITE_KEY (bench/lib/stack.sh makes one); none with --auth=off.
local key = os.getenv("TRACKER_WRITE_KEY") or ""
-- ORIGIN: an Origin header on every request, as a browser page on another site sends.
local origin = os.getenv("ORIGIN") or ""
local clients = tonumber(os.getenv("CLIENTS") or "0")
local forwarded = {}
for i = 1, clients do
  -- wrk.format takes these instead of wrk.headers, so they carry the content type too.
  forwarded[i] = { ["Content-Type"] = "application/json",
                   ["X-Forwarded-For"] = string.format("198.18.%d.%d", math.floor(i / 250), i % 250 + 1) }
  if key ~= "" then forwarded[i]["X-Api-Key"] = key end
  if origin ~= "" then forwarded[i]["Origin"] = origin end
end

local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if key ~= "" then wrk.headers["X-Api-Key"] = key end
if origin ~= "" then wrk.headers["Origin"] = origin end

function request()
  counter = counter + 1
  local headers = clients > 0 and forwarded[(counter % clients) + 1] or nil
  return wrk.format(nil, path, headers, bodies[(counter % #bodies) + 1])
end
