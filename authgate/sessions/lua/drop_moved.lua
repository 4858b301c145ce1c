-- Delete a sessions hash of an older authgate (under the user's full id: moved.py) once it
-- is merged into the user's hash, only if it still holds what the caller read and merged:
-- one changed since (an older instance wrote to it) stays for the next merge. The cached
-- user of that layout goes either way.
-- KEYS[1] the old sessions hash  KEYS[2] the old cached user
-- ARGV the old hash's fields and values, as the caller read them
-- Returns 1 if the hash was deleted, else 0.
redis.call('DEL', KEYS[2])
if contents_digest(redis.call('HGETALL', KEYS[1]), 1) ~= contents_digest(ARGV, 1) then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
