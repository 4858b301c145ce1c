-- POST /auth/login as the users of the file args[1] (one "username password" a line), in
-- turn; ok counts 200s, bad everything else.
local users = {}
local next_user = 0

function init(args)
  for line in io.lines(args[1]) do
    local name, password = line:match("^(%S+) (.+)$")
    table.insert(users, '{"username":"' .. name .. '","password":"' .. password .. '"}')
  end
end

function request()
  next_user = next_user % #users + 1
  return wrk.format("POST", "/auth/login", { ["Content-Type"] = "application/json" },
    users[next_user])
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else bad = bad + 1 end
end
