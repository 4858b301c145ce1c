-- Copy the keys of seeded users under new tags, ARGV[1] times: KEYS are all the keys of
-- some users (each carries its user's hash tag {<tag>}); copy c of a key gets the tag
-- {<tag>:<ARGV[2]><c>} (no user's), the same value and the same remaining TTL. Standalone Redis
-- only (the new keys are not declared): the bench's private server.
-- Returns the number of keys written.
local copies = tonumber(ARGV[1])
local written = 0
for _, key in ipairs(KEYS) do
  local value = redis.call('DUMP', key)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then ttl = 0 end
  for c = 1, copies do
    local copy = string.gsub(key, '{([^}]*)}', '{%1:' .. ARGV[2] .. c .. '}', 1)
    redis.call('RESTORE', copy, ttl, value, 'REPLACE')
    written = written + 1
  end
end
return written
