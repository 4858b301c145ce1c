-- Merge a sessions hash of an older authgate (under the user's full id: moved.py) into the
-- user's sessions hash (layout: authgate/sessions/layout.py), as the caller read it: the
-- larger credential epoch of the two, and every live session of that epoch which the user's
-- hash lacks or holds as of an earlier refresh (a smaller iat), written in base 36.
-- The same contents are merged once only: a caller that read the old hash before another
-- one moved it, and writes after a logout, must not bring its sessions back.
-- KEYS[1] the user's sessions hash  KEYS[2] the digests of the hashes merged already
-- ARGV[1] now (ms)  ARGV[2] the old hash's expiry (ms; negative: none)  ARGV[3..] its
-- fields and values
-- Returns the number of sessions written, or -1 when these contents were merged before.
local key, now, expires = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
if redis.call('HSETNX', KEYS[2], contents_digest(ARGV, 3), '1') == 0 then
  return -1
end
-- remembered while a copy read before this merge can still hold a live session
keep_until(KEYS[2], math.max(expires, now + 60000))
local old = {}
for i = 3, #ARGV, 2 do
  old[ARGV[i]] = ARGV[i + 1]
end
local current = number_of(redis.call('HGET', key, '@'))
local epoch = math.max(current, number_of(old['@']))
if epoch > current then
  redis.call('HSET', key, '@', string.format('%d', epoch))
  -- as long as the old hash would have kept it (every key has an expiry)
  keep_until(key, math.max(expires, now + 60000))
end
local written = 0
for sid, value in pairs(old) do
  if is_session_field(sid) then
    local iat, lifetime, jti, prev, had = parse_session(value)
    if iat and (iat + lifetime) * 1000 > now and had >= epoch then
      local mine = parse_session(redis.call('HGET', key, sid))
      if not mine or mine < iat then
        local created, last, ip, device = parse_meta(old[sid .. '.'])
        redis.call('HSET', key, sid, session_value(iat, lifetime, jti, prev, had),
          sid .. '.', meta_value(created or iat * 1000, last or 0, ip or '', device or ''))
        if old[sid .. '@'] then
          redis.call('HSET', key, sid .. '@', old[sid .. '@'])
        else
          redis.call('HDEL', key, sid .. '@')
        end
        keep_until(key, (iat + lifetime) * 1000)
        written = written + 1
      end
    end
  end
end
return written
