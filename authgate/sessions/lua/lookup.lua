-- The middleware's hot path for a whole batch of requests, one round trip: for each
-- request, is its session alive (unexpired, and of the user's current credential epoch),
-- and its user's cached entry.
-- KEYS[2i-1] the sessions hash of check i's user (layout: authgate/sessions/layout.py)
-- KEYS[2i] that user's cached entry (JSON string)
-- ARGV[1] now (s)  ARGV[i+1] the sid of check i
-- Returns {1 or 0, cached user or nil, 1 or 0, cached user or nil, ...}, in KEYS order.
local now = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS / 2 do
  local found = redis.call('HMGET', KEYS[2 * i - 1], ARGV[i + 1], '@')
  local iat, lifetime, epoch = string.match(found[1] or '', '^(%d+)|(%d+)|[^|]*|[^|]*|?(%d*)$')
  out[2 * i - 1] = (iat and iat + lifetime > now
    and (tonumber(epoch) or 0) >= (tonumber(found[2]) or 0)) and 1 or 0
  out[2 * i] = redis.call('GET', KEYS[2 * i])
end
return out
