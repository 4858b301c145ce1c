-- The live sessions of one user, dropping index entries whose session has expired.
-- KEYS[1] the user's session index
-- ARGV[1] session key prefix (a session key without its sid)
-- Returns {sid, created_at, last_used_at, ip, user agent, sid, ...}.
local out = {}
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local s = redis.call('HMGET', ARGV[1] .. sid, 'created_at', 'last_used_at', 'ip', 'ua')
  if s[1] then
    table.insert(out, sid)
    table.insert(out, s[1])
    table.insert(out, s[2])
    table.insert(out, s[3])
    table.insert(out, s[4])
  else
    redis.call('ZREM', KEYS[1], sid)
  end
end
return out
