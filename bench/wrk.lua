-- Drives one Burrow workload for wrk. Environment: KEY (API key), METHOD, BODY_FILE (a file
-- holding the request body), for random reads PATHS_FILE (one path per line), and UNCACHED=1
-- to add a random, ignored query parameter so that no request is answered from Burrow's
-- list page cache. EVENT_IDS=1 replaces `@B@` in the body with a fresh string per request.
local key = os.getenv("KEY")
local method = os.getenv("METHOD") or "GET"
local uncached = os.getenv("UNCACHED") == "1"
local event_ids = os.getenv("EVENT_IDS") == "1"
local sent = 0
local body = nil
local paths = nil

local function read_file(name)
  local f = assert(io.open(name, "r"))
  local s = f:read("*a")
  f:close()
  return s
end

if os.getenv("BODY_FILE") then body = read_file(os.getenv("BODY_FILE")) end
if os.getenv("PATHS_FILE") then
  paths = {}
  for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
end

local headers = { ["Content-Type"] = "application/json" }
if key then headers["Authorization"] = "Bearer " .. key end

init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

request = function()
  local path = wrk.path
  if paths then path = paths[math.random(#paths)] end
  if uncached then path = path .. "&miss=" .. math.random(1000000000) end
  if event_ids then
    sent = sent + 1
    local boot = string.format("%x%x", math.random(1000000000), sent)
    return wrk.format(method, path, headers, (body:gsub("@B@", boot)))
  end
  return wrk.format(method, path, headers, body)
end

done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local non2xx = summary.errors.status
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%d non2xx=%d errors=%d\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, non2xx, errors))
end
