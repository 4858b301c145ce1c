-- Delete one session (logout) and drop it from its user's index.
-- KEYS[1] session hash   KEYS[2] the user's session index
-- ARGV[1] sid
-- Returns 1 if the session existed, else 0.
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
