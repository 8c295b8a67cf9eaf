-- wrk script for every throughput scenario: POST BENCH_BODY_FILE with the client's bearer token,
-- and count every answer that is not a 2xx with a body of exactly BENCH_EXPECT_LEN bytes, so a
-- fast wrong answer cannot win. done() prints one "BENCH ..." line that bench/run.sh parses.
local function read_file(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

wrk.method = "POST"
wrk.body = read_file(os.getenv("BENCH_BODY_FILE"))
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
local expected_length = tonumber(os.getenv("BENCH_EXPECT_LEN"))

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

good, bad, bad_status = 0, 0, 0
function response(status, headers, body)
  if status >= 200 and status < 300 and #body == expected_length then
    good = good + 1
  else
    bad = bad + 1
    bad_status = status
  end
end

function done(summary, latency, requests)
  local good_total, bad_total, last_bad_status = 0, 0, 0
  for _, thread in ipairs(threads) do
    good_total = good_total + thread:get("good")
    bad_total = bad_total + thread:get("bad")
    if thread:get("bad_status") ~= 0 then last_bad_status = thread:get("bad_status") end
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d good=%d bad=%d bad_status=%d p50_us=%d p99_us=%d max_us=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
    summary.requests, summary.duration, good_total, bad_total, last_bad_status,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout))
end
