-- Shared by the benchmark's wrk scripts (bench/run.py puts this folder on LUA_PATH).
-- Each script numbers its threads in setup() so every thread walks its own request sequence,
-- and done() prints one machine-readable line that bench/run.py parses.
local M = {}

local next_thread_id = 0

function M.setup(thread)
   thread:set("thread_id", next_thread_id)
   next_thread_id = next_thread_id + 1
end

function M.done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'ZWR_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
         .. '"mean_us": %.1f, "max_us": %d, "connect": %d, "read": %d, "write": %d, '
         .. '"status": %d, "timeout": %d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      latency.mean, latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end

return M
