-- Refresh: rotate on the current jti, answer idempotently on the immediate predecessor
-- inside the grace window, and revoke the session on any other jti (reuse = theft).
-- KEYS[1] session hash   KEYS[2] the user's session index
-- ARGV[1] presented jti  ARGV[2] new jti  ARGV[3] new iat (s)  ARGV[4] new exp (s)
-- ARGV[5] now (ms)  ARGV[6] grace window (ms, 0 = off)  ARGV[7] client ip
-- ARGV[8] user agent  ARGV[9] sid
-- Returns {'rotated', jti, iat, exp} | {'grace', current jti, iat, exp} | {'reused'} | {'missing'}
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing'}
end
local now = tonumber(ARGV[5])
local grace = tonumber(ARGV[6])
local s = redis.call('HMGET', KEYS[1], 'jti', 'prev_jti', 'rotated_at', 'iat', 'exp')
-- this very rotation again (its reply was lost and the client resent it): the same answer
if ARGV[2] == s[1] and ARGV[1] == s[2] then
  return {'rotated', s[1], s[4], s[5]}
end
if ARGV[1] == s[1] then
  local expires_ms = tonumber(ARGV[4]) * 1000
  redis.call('HSET', KEYS[1],
    'jti', ARGV[2], 'prev_jti', s[1], 'rotated_at', now, 'iat', ARGV[3], 'exp', ARGV[4],
    'last_used_at', now, 'ip', ARGV[7], 'ua', ARGV[8])
  redis.call('PEXPIREAT', KEYS[1], expires_ms)
  redis.call('ZADD', KEYS[2], expires_ms, ARGV[9])
  local latest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', KEYS[2], latest[2])
  return {'rotated', ARGV[2], ARGV[3], ARGV[4]}
end
if grace > 0 and s[2] and s[2] ~= '' and ARGV[1] == s[2]
    and now - tonumber(s[3]) <= grace then
  redis.call('HSET', KEYS[1], 'last_used_at', now)
  return {'grace', s[1], s[4], s[5]}
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[9])
return {'reused'}
