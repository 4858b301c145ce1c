-- GET wrk.path with a Bearer token, the tokens taken in turn from the file args[1]
-- (one access token a line), so each request is one of many logged-in users.
local tokens = {}
local next_token = 0

function init(args)
  for line in io.lines(args[1]) do
    table.insert(tokens, line)
  end
end

function request()
  next_token = next_token % #tokens + 1
  return wrk.format("GET", wrk.path, { ["Authorization"] = "Bearer " .. tokens[next_token] })
end
