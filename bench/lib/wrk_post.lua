-- wrk script: POST the JSON body in $BENCH_BODY to the URL, count every answer that is not
-- HTTP 200 or carries GraphQL "errors" as bad (wrk itself only counts non-2xx/3xx), and
-- print the summary as one JSON line (prefixed "BENCH_JSON ") for bench/lib/wrk.py.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
-- The authenticated targets (issue 12): the same "Bearer <jwt>" on every request.
local authorization = os.getenv("BENCH_AUTHORIZATION")
if authorization ~= nil and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  sample = nil
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    bad = bad + 1
    if sample == nil then
      sample = status .. " " .. string.sub(body, 1, 300)
    end
  end
end

-- A JSON string literal of `s` (quotes, backslashes and control characters escaped).
local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local bad_total = 0
  local bad_sample = ""
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
    local s = thread:get("sample")
    if s ~= nil and bad_sample == "" then
      bad_sample = s
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"bad_answers":%d,"bad_sample":%s,' ..
    '"latency_us":{"min":%d,"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    bad_total, json_string(bad_sample),
    latency.min, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
