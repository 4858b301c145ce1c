-- The middleware's hot path for a whole batch of requests, one round trip: for each
-- request, is its session alive, and its user's cached entry.
-- KEYS[2i-1] the sessions hash of check i's user (layout: authgate/sessions/layout.py)
-- KEYS[2i] that user's cached entry (JSON string)
-- ARGV[1] now (s)  ARGV[i+1] the sid of check i
-- Returns {1 or 0, cached user or nil, 1 or 0, cached user or nil, ...}, in KEYS order.
local now = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS / 2 do
  local session = redis.call('HGET', KEYS[2 * i - 1], ARGV[i + 1]) or ''
  local iat, lifetime = string.match(session, '^(%d+)|(%d+)|')
  out[2 * i - 1] = (iat and iat + lifetime > now) and 1 or 0
  out[2 * i] = redis.call('GET', KEYS[2 * i])
end
return out
