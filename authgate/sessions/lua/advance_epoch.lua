-- A credential change has moved the user to a new credential epoch (layout:
-- authgate/sessions/layout.py): from this step on, every session of an older epoch is dead
-- (the one the change keeps moves to the new epoch), every one-time token of the user is
-- gone, and so is the cached user.
-- KEYS[1] the user's sessions hash  KEYS[2] the cached user  KEYS[3..] the user's one-time
-- token hashes
-- ARGV[1] the new epoch  ARGV[2] sid to keep, or ''  ARGV[3] now (ms)  ARGV[4] how long
-- the epoch is remembered at least (ms)  ARGV[5] '1': only if the sessions hash exists (the
-- keys of an older authgate: moved.py), else ''
-- Returns the number of live sessions ended.
local key, keep = KEYS[1], ARGV[2]
local now = tonumber(ARGV[3])
for k = 2, #KEYS do
  redis.call('DEL', KEYS[k])
end
if ARGV[5] == '1' and redis.call('EXISTS', key) == 0 then
  return 0
end
local epoch = math.max(number_of(redis.call('HGET', key, '@')), tonumber(ARGV[1]))
local fields = redis.call('HGETALL', key)
local ended = 0
for i = 1, #fields, 2 do
  local sid = fields[i]
  if is_session_field(sid) then
    local iat, lifetime, jti, prev, had = parse_session(fields[i + 1])
    if sid == keep and iat then
      redis.call('HSET', key, sid, session_value(iat, lifetime, jti, prev, epoch))
    elseif not iat or had < epoch then
      if iat and (iat + lifetime) * 1000 > now then
        ended = ended + 1
      end
      drop_session(key, sid)
    end
  end
end
redis.call('HSET', key, '@', string.format('%d', epoch))
keep_until(key, now + tonumber(ARGV[4]))
return ended
