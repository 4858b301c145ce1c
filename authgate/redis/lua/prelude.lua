-- The prelude of every authgate script (put in front of it by authgate/redis/scripts.py).

-- The numbers of a session's two fields (layout: authgate/sessions/layout.py) are spelled
-- in base 36 and separated by ','; an older authgate spelled them in decimal, separated by
-- '|'. Every reader here takes both; every write is in base 36.
local DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz'

-- n (a whole number) in base 36.
local function base36(n)
  if n < 0 then
    return '-' .. base36(-n)
  end
  local text = ''
  repeat
    local digit = n % 36
    text = string.sub(DIGITS, digit + 1, digit + 1) .. text
    n = (n - digit) / 36
  until n == 0
  return text
end

-- A session's first field, "<iat>,<lifetime>,<jti>,<previous>[,<epoch>]" (or the older
-- decimal spelling with '|'): iat, lifetime, jti, previous and epoch (numbers for iat,
-- lifetime and epoch; no epoch: 0), or nil for anything else.
local function parse_session(value)
  local base = 36
  local iat, lifetime, jti, prev, epoch =
    string.match(value or '', '^(%w+),(%w+),([^,]*),([^,]*),?(%w*)$')
  if not iat then
    base = 10
    iat, lifetime, jti, prev, epoch =
      string.match(value or '', '^(%d+)|(%d+)|([^|]*)|([^|]*)|?(%d*)$')
  end
  iat, lifetime = tonumber(iat, base), tonumber(lifetime, base)
  if not iat or not lifetime then
    return nil
  end
  return iat, lifetime, jti, prev, tonumber(epoch, base) or 0
end

-- A session's first field, written.
local function session_value(iat, lifetime, jti, prev, epoch)
  -- the epoch is written only once it is not 0
  local suffix = epoch > 0 and ',' .. base36(epoch) or ''
  return base36(iat) .. ',' .. base36(lifetime) .. ',' .. jti .. ',' .. prev .. suffix
end

-- A session's meta field, "<created>,<last used>,<ip>,<device>" (or the older decimal
-- spelling with '|'): created (ms), last used (ms after iat), ip and device, or nil.
local function parse_meta(value)
  local base = 36
  local created, sign, last, ip, device =
    string.match(value or '', '^(%w+),(-?)(%w+),([^,]*),(.*)$')
  if not created then
    base = 10
    created, sign, last, ip, device = string.match(value or '', '^(%d+)|(-?)(%d+)|([^|]*)|(.*)$')
  end
  created, last = tonumber(created, base), tonumber(last, base)
  if not created or not last then
    return nil
  end
  return created, sign == '-' and -last or last, ip, device
end

-- A session's meta field, written.
local function meta_value(created, last, ip, device)
  return base36(created) .. ',' .. base36(last) .. ',' .. ip .. ',' .. device
end

-- The number in a hash field such as the credential epoch '@' (absent: 0).
local function number_of(value)
  return tonumber(value or '0') or 0
end

-- Whether a field of a sessions hash names a session (helper fields carry '.' or '@').
local function is_session_field(field)
  return not string.find(field, '[.@]')
end

-- Delete a session's fields.
local function drop_session(key, sid)
  redis.call('HDEL', key, sid, sid .. '.', sid .. '@')
end

-- Make the key live until at least ms (since the epoch).
local function keep_until(key, ms)
  if redis.call('PEXPIRETIME', key) < ms then
    redis.call('PEXPIREAT', key, ms)
  end
end

-- The digest of a hash's fields and values (a flat list, from its index first on), in
-- whatever order they come: the same contents always give the same digest.
local function contents_digest(flat, first)
  local entries = {}
  for i = first, #flat, 2 do
    local field, value = flat[i], flat[i + 1]
    table.insert(entries, #field .. ':' .. field .. #value .. ':' .. value)
  end
  table.sort(entries)
  return string.sub(redis.sha1hex(table.concat(entries, '\n')), 1, 16)
end
