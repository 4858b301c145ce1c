-- The middleware's hot path for a whole batch of requests, one round trip: for each
-- request, is its session alive (unexpired, and of the user's current credential epoch),
-- and its user's cached entry, unless the caller already holds that very entry.
-- KEYS[2i-1] the sessions hash of check i's user (layout: authgate/sessions/layout.py)
-- KEYS[2i] that user's cached entry, '<tag>|<JSON>' (authgate/sessions/user_entries.py)
-- ARGV[1] now (s)  ARGV[2i] the sid of check i
-- ARGV[2i+1] the tag of the entry the caller holds for check i's user ('' for none)
-- Returns {1 or 0, entry, 1 or 0, entry, ...} in KEYS order, where entry is nil (none),
-- 1 (the entry still carries the tag sent) or the entry itself.
local now = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS / 2 do
  local found = redis.call('HMGET', KEYS[2 * i - 1], ARGV[2 * i], '@')
  -- the parse returns its values as they are (no table): this loop allocates none per check
  local iat, lifetime, _, _, epoch = parse_session(found[1])
  out[2 * i - 1] = (iat and iat + lifetime > now and epoch >= number_of(found[2])) and 1 or 0
  local entry = redis.call('GET', KEYS[2 * i])
  local held = ARGV[2 * i + 1]
  if entry and held ~= '' and string.sub(entry, 1, #held + 1) == held .. '|' then
    entry = 1
  end
  out[2 * i] = entry
end
return out
