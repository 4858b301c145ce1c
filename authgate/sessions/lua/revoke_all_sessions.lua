-- Delete every session of one user (logout everywhere), optionally keeping one. The
-- user's credential epoch (field '@') stays.
-- KEYS[1] the user's sessions hash (layout: authgate/sessions/layout.py)
-- ARGV[1] sid to keep, or ''  ARGV[2] now (ms)
-- Returns the number of live sessions deleted.
local now = tonumber(ARGV[2])
local fields = redis.call('HGETALL', KEYS[1])
local revoked = 0
for i = 1, #fields, 2 do
  local field = fields[i]
  local sid = string.match(field, '^[^.@]*')
  -- field by field, so a helper field left without its session goes too
  if sid ~= ARGV[1] and field ~= '@' then
    if is_session_field(field) then
      local iat, lifetime = parse_session(fields[i + 1])
      if iat and (iat + lifetime) * 1000 > now then
        revoked = revoked + 1
      end
    end
    redis.call('HDEL', KEYS[1], field)
  end
end
return revoked
