-- Delete every session of one user (logout everywhere), optionally keeping one.
-- KEYS[1] the user's session index   KEYS[2..n] the session hashes of the sids ARGV[2..]
-- ARGV[1] sid to keep, or ''   ARGV[2..] the index's sids as the caller read them
-- Returns the number of live sessions deleted, or -1 if the index changed since it was
-- read (a login raced in): the caller reads it again and retries, so none is missed.
local current = redis.call('ZRANGE', KEYS[1], 0, -1)
if #current ~= #ARGV - 1 then
  return -1
end
local expected = {}
for i = 2, #ARGV do
  expected[ARGV[i]] = true
end
for _, sid in ipairs(current) do
  if not expected[sid] then
    return -1
  end
end
local revoked = 0
for i = 2, #KEYS do
  if ARGV[i] ~= ARGV[1] then
    revoked = revoked + redis.call('DEL', KEYS[i])
    redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return revoked
