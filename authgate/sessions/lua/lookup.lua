-- The middleware's hot path, one round trip: is the session alive, and the cached user.
-- KEYS[1] session hash   KEYS[2] cached user (JSON string)
-- Returns {1 or 0, cached user or nil}.
return {redis.call('EXISTS', KEYS[1]), redis.call('GET', KEYS[2])}
