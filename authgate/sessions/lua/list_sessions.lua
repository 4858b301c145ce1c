-- The live sessions of one user, dropping index entries whose session has expired.
-- KEYS[1] the user's session index   KEYS[2..n] the session hashes of the sids ARGV[1..]
-- Returns {sid, created_at, last_used_at, ip, device, user agent, sid, ...}: a session of
-- the short shape has a device and no user agent, one written by an older authgate the
-- raw user agent and no device.
local out = {}
for i = 2, #KEYS do
  local sid = ARGV[i - 1]
  local s = redis.call('HMGET', KEYS[i], 'c', 'l', 'a', 'd')
  if s[1] then
    s[2] = tonumber(s[1]) + tonumber(s[2])  -- last used is kept as ms after created
  else
    s = redis.call('HMGET', KEYS[i], 'created_at', 'last_used_at', 'ip', 'ua')
    s = {s[1], s[2], s[3], false, s[4]}
  end
  if s[1] then
    table.insert(out, sid)
    table.insert(out, s[1])
    table.insert(out, s[2])
    table.insert(out, s[3] or '')
    table.insert(out, s[4] or '')
    table.insert(out, s[5] or '')
  else
    redis.call('ZREM', KEYS[1], sid)
  end
end
return out
