-- Read a throttle counter without changing it.
-- KEYS[1] the counter
-- Returns {failures in the window (0 if none), ms until the window ends (0 if none)}.
local failures = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = 0 end
return {failures, ttl}
