-- wrk script: GETs the request targets listed in the file $TARGETS (one "/path?query" per
-- line), round-robin, each thread starting at its own place in the list. bench/statistics.sh
-- writes one such file per statistics endpoint from the keys of its data set.
local targets = {}
local file = os.getenv("TARGETS") or error("TARGETS is not set")
for line in io.lines(file) do
  if line ~= "" then targets[#targets + 1] = line end
end
if #targets == 0 then error("no request targets in " .. file) end

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("offset", threads * 7919)
end

local i = 0
function init(args)
  i = tonumber(offset) or 0
end

function request()
  i = i + 1
  return wrk.format("GET", targets[(i % #targets) + 1])
end

-- The read key, from TRACKER_READ_KEY (bench/lib/stack.sh makes one); none with --auth=off.
local key = os.getenv("TRACKER_READ_KEY") or ""
if key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end
