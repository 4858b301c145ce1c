-- The live sessions of one user, dropping index entries whose session has expired.
-- KEYS[1] the user's session index   KEYS[2..n] the session hashes of the sids ARGV[1..]
-- Returns {sid, created_at, last_used_at, ip, user agent, sid, ...}.
local out = {}
for i = 2, #KEYS do
  local sid = ARGV[i - 1]
  local s = redis.call('HMGET', KEYS[i], 'created_at', 'last_used_at', 'ip', 'ua')
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
