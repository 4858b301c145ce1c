-- Create a session at login and index it under its user, evicting the sessions the caller
-- chose (expired index entries, and the least recently used beyond the per-user cap).
-- KEYS[1] session hash   KEYS[2] the user's session index (zset: sid -> expiry ms)
-- KEYS[3..n] the session hashes to evict, of the sids ARGV[8..]
-- ARGV[1] sid  ARGV[2] refresh jti  ARGV[3] refresh iat (s)  ARGV[4] refresh exp (s)
-- ARGV[5] now (ms)  ARGV[6] client ip  ARGV[7] device  ARGV[8..] sids to evict
-- Returns the number of sessions evicted.
-- The hash is kept small (one-letter fields, every value under 64 bytes, so Redis keeps it
-- a listpack): j current jti, i its iat, c created (ms), l last used (ms after c), a ip,
-- d device;
-- p (the previous jti) arrives with the first rotation; exp is the key's own expiry time.
local now = tonumber(ARGV[5])
local expires_ms = tonumber(ARGV[4]) * 1000
for i = 3, #KEYS do
  redis.call('DEL', KEYS[i])
  redis.call('ZREM', KEYS[2], ARGV[i + 5])
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('HSET', KEYS[1],
  'j', ARGV[2], 'i', ARGV[3], 'c', now, 'l', 0, 'a', ARGV[6], 'd', ARGV[7])
redis.call('PEXPIREAT', KEYS[1], expires_ms)
redis.call('ZADD', KEYS[2], expires_ms, ARGV[1])
local latest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[2], latest[2])
return #KEYS - 2
