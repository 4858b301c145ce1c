-- Delete one session (logout).
-- KEYS[1] the user's sessions hash (layout: authgate/sessions/layout.py)
-- ARGV[1] sid  ARGV[2] now (ms)
-- Returns 1 if the session was alive, else 0.
local sid = ARGV[1]
local iat, lifetime = parse_session(redis.call('HGET', KEYS[1], sid))
drop_session(KEYS[1], sid)
if iat and (iat + lifetime) * 1000 > tonumber(ARGV[2]) then
  return 1
end
return 0
