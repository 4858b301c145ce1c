-- Open a session at login in its user's hash (layout: authgate/sessions/layout.py), first
-- dropping the user's expired sessions and, at the per-user cap, those that expire
-- soonest (the least recently refreshed).
-- KEYS[1] the user's sessions hash
-- ARGV[1] sid  ARGV[2] refresh jti  ARGV[3] its iat (s)  ARGV[4] its exp (s)  ARGV[5] now (ms)
-- ARGV[6] ip ('' when it has a field of its own)  ARGV[7] device  ARGV[8] ip for its own
-- field, or ''  ARGV[9] the most sessions a user keeps  ARGV[10] the user's credential
-- epoch as the login read it, with the password it checked
-- Returns the number of sessions dropped, -1 if the sid is taken (the caller's sids are
-- random: in practice never), or -2 if the epoch read is older than the user's current one
-- (a credential change raced the login: it opens nothing). An epoch newer than the one
-- Redis knows (the change's own last step has not run yet, or Redis lost it) is taken on,
-- and the sessions of older epochs end as that last step would end them.
local key, sid = KEYS[1], ARGV[1]
if redis.call('HEXISTS', key, sid) == 1 then
  return -1
end
local epoch = tonumber(ARGV[10])
local current = number_of(redis.call('HGET', key, '@'))
if epoch < current then
  return -2
end
if epoch > current then
  redis.call('HSET', key, '@', ARGV[10])
end
local now_s = math.floor(tonumber(ARGV[5]) / 1000)
local fields = redis.call('HGETALL', key)
local live, gone = {}, {}
for i = 1, #fields, 2 do
  if is_session_field(fields[i]) then
    local iat, lifetime, _, _, had = parse_session(fields[i + 1])
    -- a record that does not parse has no exp (0): it goes as an expired one would
    local exp = iat and iat + lifetime or 0
    if exp <= now_s or had < epoch then
      table.insert(gone, fields[i])
    else
      table.insert(live, {exp, fields[i]})
    end
  end
end
table.sort(live, function(a, b) return a[1] < b[1] end)
for i = 1, #live - tonumber(ARGV[9]) + 1 do
  table.insert(gone, live[i][2])
end
for _, old in ipairs(gone) do
  drop_session(key, old)
end
local iat, exp, now = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('HSET', key, sid, session_value(iat, exp - iat, ARGV[2], '', epoch),
  sid .. '.', meta_value(now, now - iat * 1000, ARGV[6], ARGV[7]))
if ARGV[8] ~= '' then
  redis.call('HSET', key, sid .. '@', ARGV[8])
end
keep_until(key, exp * 1000)
return #gone
