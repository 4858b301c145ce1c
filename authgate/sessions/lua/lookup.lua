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
  -- the parse returns its values as they are (no table): this loop allocates none per check
  local iat, lifetime, _, _, epoch = parse_session(found[1])
  out[2 * i - 1] = (iat and iat + lifetime > now and epoch >= number_of(found[2])) and 1 or 0
  out[2 * i] = redis.call('GET', KEYS[2 * i])
end
return out
