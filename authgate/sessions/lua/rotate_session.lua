-- Refresh: rotate on the current jti, answer idempotently on the immediate predecessor
-- inside the grace window, and revoke the session on any other jti (reuse = theft).
-- KEYS[1] session hash   KEYS[2] the user's session index
-- ARGV[1] presented jti  ARGV[2] new jti  ARGV[3] new iat (s)  ARGV[4] new exp (s)
-- ARGV[5] now (ms)  ARGV[6] grace window (ms, 0 = off)  ARGV[7] client ip
-- ARGV[8] device  ARGV[9] sid
-- Returns {'rotated', jti, iat, exp} | {'grace', current jti, iat, exp} | {'reused'} | {'missing'}
-- Fields as in create_session.lua; l (last used, ms after c) is the time of the last
-- rotation, which the grace window counts from. A session written by an older authgate (long field names:
-- jti, prev_jti, rotated_at, iat, exp, created_at, ip, ua) is read as it is and rewritten
-- in the short shape at its next rotation.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing'}
end
local now = tonumber(ARGV[5])
local grace = tonumber(ARGV[6])
-- s = {current jti, previous jti, rotated at (ms), iat}
local s = redis.call('HMGET', KEYS[1], 'j', 'p', 'l', 'i', 'c')
local exp
local created = nil
if s[1] then
  s[3] = tonumber(s[5]) + tonumber(s[3])
  exp = math.floor(redis.call('PEXPIRETIME', KEYS[1]) / 1000)
else
  s = redis.call('HMGET', KEYS[1], 'jti', 'prev_jti', 'rotated_at', 'iat', 'exp', 'created_at')
  exp = s[5]
  created = s[6]
end
-- this very rotation again (its reply was lost and the client resent it): the same answer
if ARGV[2] == s[1] and ARGV[1] == s[2] then
  return {'rotated', s[1], s[4], exp}
end
if ARGV[1] == s[1] then
  local expires_ms = tonumber(ARGV[4]) * 1000
  if created then
    redis.call('DEL', KEYS[1])
    redis.call('HSET', KEYS[1], 'c', created)
  end
  redis.call('HSET', KEYS[1], 'j', ARGV[2], 'p', s[1], 'i', ARGV[3],
    'l', now - tonumber(created or s[5]), 'a', ARGV[7], 'd', ARGV[8])
  redis.call('PEXPIREAT', KEYS[1], expires_ms)
  redis.call('ZADD', KEYS[2], expires_ms, ARGV[9])
  local latest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', KEYS[2], latest[2])
  return {'rotated', ARGV[2], ARGV[3], ARGV[4]}
end
if grace > 0 and s[2] and s[2] ~= '' and ARGV[1] == s[2]
    and now - tonumber(s[3]) <= grace then
  return {'grace', s[1], s[4], exp}
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[9])
return {'reused'}
