-- Delete every session of one user (logout everywhere), optionally keeping one.
-- KEYS[1] the user's session index
-- ARGV[1] session key prefix (a session key without its sid)  ARGV[2] sid to keep, or ''
-- Returns the number of live sessions deleted.
local revoked = 0
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if sid ~= ARGV[2] then
    revoked = revoked + redis.call('DEL', ARGV[1] .. sid)
    redis.call('ZREM', KEYS[1], sid)
  end
end
return revoked
