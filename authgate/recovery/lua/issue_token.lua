-- Store a one-time token's digest in the user's hash of outstanding tokens of one purpose.
-- Expired entries are pruned; past the cap the soonest-expiring ones go. The hash lives
-- as long as its longest-lived token.
-- KEYS[1] the hash <prefix>:{<user id>}:onetime:<purpose>
--         (field: digest, value: "<expiry ms>.<epoch>|<data>")
-- KEYS[2] the user's sessions hash, whose field '@' is their credential epoch
-- ARGV[1] digest   ARGV[2] expiry (ms)   ARGV[3] now (ms)   ARGV[4] data   ARGV[5] cap
-- ARGV[6] the credential epoch the token is issued in (read with the user)
-- Returns 1, or 0 when that epoch is older than the user's (a credential change came in
-- between: nothing is stored).
if tonumber(ARGV[6]) < (tonumber(redis.call('HGET', KEYS[2], '@') or '0') or 0) then
  return 0
end
local entries = redis.call('HGETALL', KEYS[1])
local live = {}
local latest = tonumber(ARGV[2])
for i = 1, #entries, 2 do
  local expires = tonumber(string.match(entries[i + 1], '^(%d+)'))
  if expires == nil or expires <= tonumber(ARGV[3]) then
    redis.call('HDEL', KEYS[1], entries[i])
  else
    table.insert(live, {entries[i], expires})
    if expires > latest then latest = expires end
  end
end
table.sort(live, function(a, b) return a[2] < b[2] end)
local excess = #live - tonumber(ARGV[5]) + 1
for i = 1, excess do
  redis.call('HDEL', KEYS[1], live[i][1])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '.' .. ARGV[6] .. '|' .. ARGV[4])
redis.call('PEXPIREAT', KEYS[1], latest)
return 1
