-- Create a session at login and index it under its user, evicting the least recently
-- used sessions beyond the per-user cap and dropping expired index entries.
-- KEYS[1] session hash   KEYS[2] the user's session index (zset: sid -> expiry ms)
-- ARGV[1] sid  ARGV[2] refresh jti  ARGV[3] refresh iat (s)  ARGV[4] refresh exp (s)
-- ARGV[5] now (ms)  ARGV[6] client ip  ARGV[7] user agent
-- ARGV[8] session key prefix (KEYS[1] without the sid)  ARGV[9] max sessions per user
-- Returns the number of sessions evicted.
local now = tonumber(ARGV[5])
local expires_ms = tonumber(ARGV[4]) * 1000
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local evicted = 0
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[9]) + 1
if excess > 0 then
  for _, sid in ipairs(redis.call('ZRANGE', KEYS[2], 0, excess - 1)) do
    redis.call('DEL', ARGV[8] .. sid)
    redis.call('ZREM', KEYS[2], sid)
    evicted = evicted + 1
  end
end
redis.call('HSET', KEYS[1],
  'jti', ARGV[2], 'prev_jti', '', 'rotated_at', 0, 'iat', ARGV[3], 'exp', ARGV[4],
  'created_at', now, 'last_used_at', now, 'ip', ARGV[6], 'ua', ARGV[7])
redis.call('PEXPIREAT', KEYS[1], expires_ms)
redis.call('ZADD', KEYS[2], expires_ms, ARGV[1])
local latest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[2], latest[2])
return evicted
