-- bench/post.lua, and at the end one more line with the latency distribution's tail (bench/tail.sh parses it).
dofile(os.getenv("BENCH_POST_LUA"))
local post_done = done
function done(summary, latency, requests)
  post_done(summary, latency, requests)
  io.write(string.format("TAIL requests=%d rps=%.0f p50=%.2f p90=%.2f p99=%.2f p99.9=%.2f max=%.2f\n",
    summary.requests, summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000))
end
