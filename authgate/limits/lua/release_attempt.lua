-- Give back one reserved password check (it was right, or never ran).
-- KEYS[1] the counter
-- Returns the count left.
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count <= 1 then
  redis.call('DEL', KEYS[1])
  return 0
end
return redis.call('DECR', KEYS[1])
