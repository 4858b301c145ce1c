-- POST /auth/refresh-token, each session's chain followed: a pool holds every session's
-- current refresh token (the file args[1], one a line); a request takes one out, its
-- answer puts the new one back. ok counts rotations whose new token was never seen
-- before, dup those that repeated a token, bad every other answer. Give it more tokens
-- than connections: wrk calls request() once before the run (a token that stays unused),
-- and a connection finding the pool empty would spin on 401s.
-- done() also prints the final pool, for the suite to check the chains.
pool = {}
local seen = {}

function init(args)
  for line in io.lines(args[1]) do
    table.insert(pool, line)
    seen[line] = true
  end
end

function request()
  local token = table.remove(pool, 1) or "missing"
  return wrk.format("POST", "/auth/refresh-token", { ["Content-Type"] = "application/json" },
    '{"refreshToken":"' .. token .. '"}')
end

function response(status, headers, body)
  local token = status == 200 and body:match('"refreshToken"%s*:%s*"([^"]+)"')
  if not token then
    bad = bad + 1
  elseif seen[token] then
    dup = dup + 1
  else
    seen[token] = true
    ok = ok + 1
    table.insert(pool, token)
  end
end

local report_done = done

function done(summary, latency, requests)
  report_done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for _, token in ipairs(thread:get("pool") or {}) do
      io.write("WRK-TOKEN " .. token .. "\n")
    end
  end
end
