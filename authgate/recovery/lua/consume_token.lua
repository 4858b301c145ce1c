-- Consume a one-time token: it works once, even when many requests present it at once.
-- KEYS[1] the hash <prefix>:{<user id>}:onetime:<purpose>
-- ARGV[1] digest   ARGV[2] now (ms)   ARGV[3] "1": also drop every other token of the hash
-- Returns the token's data, or false when it is unknown, used or expired.
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then
  return false
end
redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[1])
end
local expires, data = string.match(value, '^(%d+)|(.*)$')
if expires == nil or tonumber(expires) <= tonumber(ARGV[2]) then
  return false
end
return data
