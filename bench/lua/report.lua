-- Shared by every bench script: done() prints one JSON line the suite parses.
-- Scripts that count outcomes keep them in the globals ok / bad / dup (per thread).
ok, bad, dup = 0, 0, 0
threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function report(summary, latency)
  local counted = { ok = 0, bad = 0, dup = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(counted) do
      counted[name] = counted[name] + (thread:get(name) or 0)
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK-JSON {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d,'
      .. ' "p50_us": %d, "p90_us": %d, "p99_us": %d, "ok": %d, "bad": %d, "dup": %d}\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    counted.ok, counted.bad, counted.dup))
end

function done(summary, latency, requests)
  report(summary, latency)
end
