-- The middleware's hot path for a whole batch of requests, one round trip: for each
-- request, is its session alive, and its user's cached entry.
-- KEYS[2i-1] a session hash   KEYS[2i] the cached user (JSON string) of that session's user
-- Returns {1 or 0, cached user or nil, 1 or 0, cached user or nil, ...}, in KEYS order.
local out = {}
for i = 1, #KEYS, 2 do
  out[i] = redis.call('EXISTS', KEYS[i])
  out[i + 1] = redis.call('GET', KEYS[i + 1])
end
return out
