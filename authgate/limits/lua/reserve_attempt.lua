-- Reserve one password check against a throttle counter, before the password is checked.
-- The counter holds the window's failures plus the checks still running; the window
-- starts at the first reservation.
-- KEYS[1] the counter
-- ARGV[1] the limit   ARGV[2] window (ms)
-- Returns {1, ms until the window ends} when reserved, {0, the same} when the limit is full.
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local reserved = 0
if count < tonumber(ARGV[1]) then
  redis.call('INCR', KEYS[1])
  reserved = 1
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {reserved, ttl}
