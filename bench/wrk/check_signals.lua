-- wrk: POST /v1/check with precomputed PDQ signals, as a platform's upload pipeline sends them.
-- One request in ten carries a hash from the bank (bank-sample.txt: must block); the rest are
-- random hashes (must allow). Every content_id is new, so every request is also a write to the
-- content index. Env: TAKEDOWN_KEY (platform key), TAKEDOWN_SAMPLE (bank-sample.txt).
local key = os.getenv("TAKEDOWN_KEY")
local sample = {}
for line in io.lines(os.getenv("TAKEDOWN_SAMPLE")) do sample[#sample + 1] = line end
local counter = 0
local prefix = ""

function setup(thread)
  thread:set("tid", tostring(math.random(1, 1e9)))
end

function init(args)
  prefix = "wrk-" .. tid .. "-" .. tostring(os.time())
  math.randomseed(os.time() + tonumber(tid))
  wrk.headers["Authorization"] = "Bearer " .. key
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local pdq
  if counter % 10 == 0 then
    pdq = sample[math.random(#sample)]
  else
    -- 64 random hex digits: eight 32-bit draws (one draw a digit cost the load generator, which
    -- shares the server's two cores, twice the CPU)
    local r = math.random
    pdq = string.format("%08x%08x%08x%08x%08x%08x%08x%08x", r(0, 0xffffffff), r(0, 0xffffffff), r(0, 0xffffffff),
      r(0, 0xffffffff), r(0, 0xffffffff), r(0, 0xffffffff), r(0, 0xffffffff), r(0, 0xffffffff))
  end
  local body = '{"content_id":"' .. prefix .. "-" .. counter .. '","chat_id":"chat-1","uploader_id":"user-1","signals":{"pdq":"' .. pdq .. '"}}'
  return wrk.format("POST", "/v1/check", nil, body)
end

-- No response() callback: with one, wrk builds a Lua table of every response's headers (CPU the
-- server would otherwise get). Non-2xx answers are counted by wrk itself (errors_status).
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_s=%.1f rps=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f errors_connect=%d errors_read=%d errors_write=%d errors_status=%d errors_timeout=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
end
