-- Move sessions written by an older authgate (one hash per session, indexed in a sorted
-- set per user) into the user's sessions hash (layout: authgate/sessions/layout.py).
-- KEYS[1] the user's sessions hash  KEYS[2] the old index  KEYS[3..] the old session hashes
-- ARGV, five per old session, in KEYS order: sid, its current jti as the caller read it
-- ('' if it was gone), the session's field, its meta field, its own-field ip (or '')
-- A session whose jti changed since it was read (an older instance refreshed it
-- meanwhile) stays where it is, for the next call.
-- Returns the number of sessions left behind.
local left = 0
for k = 3, #KEYS do
  local a = (k - 3) * 5
  local sid, read = ARGV[a + 1], ARGV[a + 2]
  local now = redis.call('HMGET', KEYS[k], 'j', 'jti')
  local current = now[1] or now[2] or ''
  if current ~= read then
    left = left + 1
  else
    if read ~= '' and redis.call('HEXISTS', KEYS[1], sid) == 0 then
      redis.call('HSET', KEYS[1], sid, ARGV[a + 3], sid .. '.', ARGV[a + 4])
      if ARGV[a + 5] ~= '' then
        redis.call('HSET', KEYS[1], sid .. '@', ARGV[a + 5])
      end
      local iat, lifetime = parse_session(ARGV[a + 3])
      keep_until(KEYS[1], (iat + lifetime) * 1000)
    end
    redis.call('DEL', KEYS[k])
    redis.call('ZREM', KEYS[2], sid)
  end
end
return left
