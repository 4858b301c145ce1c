-- Consume a one-time token: it works once, even when many requests present it at once,
-- and only while the credential epoch it was issued in is still the user's.
-- KEYS[1] the hash <prefix>:{<user id>}:onetime:<purpose>
-- KEYS[2] the user's sessions hash, whose field '@' is their credential epoch
-- (authgate/sessions/layout.py)
-- ARGV[1] digest   ARGV[2] now (ms)   ARGV[3] "1": also drop every other token of the hash
-- ARGV[4] the user's credential epoch as known elsewhere (the hash of an older authgate
-- is checked against the user's current one too: authgate/sessions/moved.py)
-- Returns {data, epoch}, or false when the token is unknown, used, expired or of an older
-- epoch.
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then
  return false
end
redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[1])
end
-- "<expiry ms>[.<epoch>]|<data>" (no epoch: 0, a token of an older authgate)
local expires, epoch, data = string.match(value, '^(%d+)%.?(%d*)|(.*)$')
if expires == nil or tonumber(expires) <= tonumber(ARGV[2]) then
  return false
end
epoch = tonumber(epoch) or 0
if epoch < math.max(number_of(redis.call('HGET', KEYS[2], '@')), number_of(ARGV[4])) then
  return false
end
return {data, epoch}
