-- Count one failed login against a throttle key; the window starts at the first failure.
-- KEYS[1] the counter
-- ARGV[1] window (ms)
-- Returns {failures in the window, ms until the window ends}.
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {failures, ttl}
