-- Refresh: rotate on the current jti, answer idempotently on the immediate predecessor
-- inside the grace window, and revoke the session on any other jti (reuse = theft).
-- KEYS[1] the user's sessions hash (layout: authgate/sessions/layout.py)
-- KEYS[2] the user's cached entry (JSON string), handed back with a new token so that a
-- refresh needs no database while the user is cached
-- ARGV[1] sid  ARGV[2] presented jti  ARGV[3] new jti  ARGV[4] new iat (s)
-- ARGV[5] new exp (s)  ARGV[6] now (ms)  ARGV[7] grace window (ms, 0 = off)
-- ARGV[8] ip ('' when it has a field of its own)  ARGV[9] device  ARGV[10] ip for its
-- own field, or ''
-- A session of an older credential epoch than the user's is gone, like an expired one.
-- Returns {'rotated', jti, iat, exp, cached user or nil} | {'grace', current jti, iat, exp,
-- cached user or nil} | {'reused'} | {'missing'}
local key, sid = KEYS[1], ARGV[1]
local now = tonumber(ARGV[6])
local grace = tonumber(ARGV[7])
local found = redis.call('HMGET', key, sid, '@')
local iat, lifetime, jti, prev, epoch = parse_session(found[1])
local exp = iat and iat + lifetime
if not exp or exp * 1000 <= now or epoch < number_of(found[2]) then
  drop_session(key, sid)
  return {'missing'}
end
-- iat goes back as the record spells it (a string), exp as a number
local iat_text = string.format('%d', iat)
-- only the start of the previous jti is kept (layout.py): compare the presented one's
local presented_start = string.sub(ARGV[2], 1, 8)
-- this very rotation again (its reply was lost and the client resent it): the same answer
if ARGV[3] == jti and presented_start == prev then
  return {'rotated', jti, iat_text, exp, redis.call('GET', KEYS[2])}
end
local created, last = parse_meta(redis.call('HGET', key, sid .. '.'))
if ARGV[2] == jti then
  local new_iat, new_exp = tonumber(ARGV[4]), tonumber(ARGV[5])
  redis.call('HSET', key,
    sid, session_value(new_iat, new_exp - new_iat, ARGV[3], string.sub(jti, 1, 8), epoch),
    sid .. '.', meta_value(created or now, now - new_iat * 1000, ARGV[8], ARGV[9]))
  if ARGV[10] ~= '' then
    redis.call('HSET', key, sid .. '@', ARGV[10])
  else
    redis.call('HDEL', key, sid .. '@')
  end
  keep_until(key, new_exp * 1000)
  return {'rotated', ARGV[3], ARGV[4], ARGV[5], redis.call('GET', KEYS[2])}
end
-- the last use (the last refresh) is kept in ms after the current token's iat
if grace > 0 and prev ~= '' and presented_start == prev
    and now - (iat * 1000 + (last or 0)) <= grace then
  return {'grace', jti, iat_text, exp, redis.call('GET', KEYS[2])}
end
drop_session(key, sid)
return {'reused'}
