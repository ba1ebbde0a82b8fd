-- wrk: POST /v1/check/media with a JPEG's bytes (TAKEDOWN_MEDIA), a new content_id each time.
local key = os.getenv("TAKEDOWN_KEY")
local f = assert(io.open(os.getenv("TAKEDOWN_MEDIA"), "rb"))
local media = f:read("*a")
f:close()
local counter = 0
local prefix = ""

function setup(thread)
  thread:set("tid", tostring(math.random(1, 1e9)))
end

function init(args)
  prefix = "wrkm-" .. tid .. "-" .. tostring(os.time())
  wrk.headers["Authorization"] = "Bearer " .. key
  wrk.headers["Content-Type"] = "image/jpeg"
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/v1/check/media?content_id=" .. prefix .. "-" .. counter .. "&chat_id=chat-1&uploader_id=user-1", nil, media)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_s=%.1f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f errors_connect=%d errors_read=%d errors_write=%d errors_status=%d errors_timeout=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
end
