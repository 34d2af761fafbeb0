-- SPDX-License-Identifier: MIT
--
-- Extends a holder's lease (after common.lua).
--
-- KEYS: lock, our holder hash, holders, kind. ARGV: owner, server-side
-- expiry (ms), mode. With mode "?" (by token), ARGV[2] is the new lease
-- ("0": the one the lock was taken with), to which the lock delay it was
-- taken with is added. The lease renewed for becomes the holder hash's
-- ttl, for "dlock status"; the one the lock was taken with is then kept
-- as ttl0. Returns 1 when renewed, 0 when the lock is no longer ours
-- (expired, deleted, or the server lost it), -1 when someone else holds
-- it.

local mode, cur = mode_of(ARGV[3], ARGV[1])
local expiry = tonumber(ARGV[2])
local set_ttl = false
if ARGV[3] == '?' then
  local m = redis.call('HMGET', KEYS[2], 'ttl', 'delay', 'ttl0')
  local taken = m[3] or m[1]
  if expiry == 0 then
    expiry = tonumber(taken or '30000')
    if m[3] then set_ttl = m[3] end
  elseif m[1] then
    set_ttl = ARGV[2]
  end
  if set_ttl then set_ttl = {set_ttl, taken} end
  expiry = expiry + tonumber(m[2] or '0')
end
-- Only once the lock is known to be ours, and just before the PEXPIRE;
-- only into a hash that exists, so that it keeps an expiry.
local function record()
  if set_ttl then
    redis.call('HSET', KEYS[2], 'ttl', set_ttl[1], 'ttl0', set_ttl[2])
  end
end
if mode == 'x' then
  cur = cur or redis.call('GET', KEYS[1])
  if cur == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], expiry)
    record()
    redis.call('PEXPIRE', KEYS[2], expiry)
    return 1
  end
  if cur then return -1 end
  return 0
end
prune(KEYS[3], KEYS[4], cur)
if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[3], 'XX', ms(clock() + expiry), ARGV[1])
record()
redis.call('PEXPIRE', KEYS[2], expiry)
extend(KEYS[3], KEYS[4], expiry)
return 1
