-- Refresh: rotate on the current jti, answer idempotently on the immediate predecessor
-- inside the grace window, and revoke the session on any other jti (reuse = theft).
-- KEYS[1] the user's sessions hash (layout: authgate/sessions/layout.py)
-- ARGV[1] sid  ARGV[2] presented jti  ARGV[3] new jti  ARGV[4] new iat (s)
-- ARGV[5] new exp (s)  ARGV[6] now (ms)  ARGV[7] grace window (ms, 0 = off)
-- ARGV[8] ip ('' when it has a field of its own)  ARGV[9] device  ARGV[10] ip for its
-- own field, or ''
-- Returns {'rotated', jti, iat, exp} | {'grace', current jti, iat, exp} | {'reused'} | {'missing'}
local key, sid = KEYS[1], ARGV[1]
local now = tonumber(ARGV[6])
local grace = tonumber(ARGV[7])
local exp, jti, prev, iat
local session = redis.call('HGET', key, sid)
if session then
  exp, jti, prev, iat = string.match(session, '^(%d+)|([^|]*)|([^|]*)|(%d+)$')
end
if not exp or tonumber(exp) * 1000 <= now then
  redis.call('HDEL', key, sid, sid .. '.', sid .. '@')
  return {'missing'}
end
-- this very rotation again (its reply was lost and the client resent it): the same answer
if ARGV[3] == jti and ARGV[2] == prev then
  return {'rotated', jti, iat, exp}
end
local created, last = string.match(redis.call('HGET', key, sid .. '.') or '', '^(%d+)|(%d+)|')
created = tonumber(created) or now
if ARGV[2] == jti then
  redis.call('HSET', key, sid, ARGV[5] .. '|' .. ARGV[3] .. '|' .. jti .. '|' .. ARGV[4],
    sid .. '.', string.format('%d|%d|%s|%s', created, now - created, ARGV[8], ARGV[9]))
  if ARGV[10] ~= '' then
    redis.call('HSET', key, sid .. '@', ARGV[10])
  else
    redis.call('HDEL', key, sid .. '@')
  end
  local expires_ms = tonumber(ARGV[5]) * 1000
  if redis.call('PEXPIRETIME', key) < expires_ms then
    redis.call('PEXPIREAT', key, expires_ms)
  end
  return {'rotated', ARGV[3], ARGV[4], ARGV[5]}
end
if grace > 0 and prev ~= '' and ARGV[2] == prev
    and now - (created + (tonumber(last) or 0)) <= grace then
  return {'grace', jti, iat, exp}
end
redis.call('HDEL', key, sid, sid .. '.', sid .. '@')
return {'reused'}
