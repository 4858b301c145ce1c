-- The prelude of every authgate script (put in front of it by authgate/redis/scripts.py).

-- A session's first field in its user's hash (layout: authgate/sessions/layout.py),
-- "<iat>|<lifetime>|<jti>|<previous>[|<epoch>]": iat, lifetime, jti, previous and epoch
-- (numbers for iat, lifetime and epoch; no epoch: 0), or nil for anything else.
local function parse_session(value)
  local iat, lifetime, jti, prev, epoch =
    string.match(value or '', '^(%d+)|(%d+)|([^|]*)|([^|]*)|?(%d*)$')
  if not iat then
    return nil
  end
  return tonumber(iat), tonumber(lifetime), jti, prev, tonumber(epoch) or 0
end

-- The number in a hash field such as the credential epoch '@' (absent: 0).
local function number_of(value)
  return tonumber(value or '0') or 0
end

-- Whether a field of a sessions hash names a session (helper fields carry '.' or '@').
local function is_session_field(field)
  return not string.find(field, '[.@]')
end

-- Delete a session's fields.
local function drop_session(key, sid)
  redis.call('HDEL', key, sid, sid .. '.', sid .. '@')
end

-- Make the key live until at least ms (since the epoch).
local function keep_until(key, ms)
  if redis.call('PEXPIRETIME', key) < ms then
    redis.call('PEXPIREAT', key, ms)
  end
end
