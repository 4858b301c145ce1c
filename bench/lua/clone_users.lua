-- Copy the keys of seeded users under new user ids, ARGV[1] times: KEYS are all the keys of
-- some users (each carries its user's hash tag {<user id>}); copy c of a key gets the tag
-- {<user id>:<ARGV[2]><c>}, the same value and the same remaining TTL. Standalone Redis
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
