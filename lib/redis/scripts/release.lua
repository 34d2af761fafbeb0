-- SPDX-License-Identifier: MIT
--
-- A holder lets go (after common.lua).
--
-- KEYS: lock, our holder hash, queue, waiters, holders, kind, fence.
-- ARGV: owner, heartbeat window (ms), mode. Returns 1 when released, 0
-- when the lock was not ours. A lock left free goes to the first live
-- waiter (grant in common.lua) or wakes it; a semaphore with a permit
-- free wakes it.

local n
local mode, cur = mode_of(ARGV[3], ARGV[1])
if mode == 'x' then
  if (cur or redis.call('GET', KEYS[1])) ~= ARGV[1] then return 0 end
  redis.call('DEL', KEYS[1], KEYS[2])
  n = 0
else
  if redis.call('ZREM', KEYS[5], ARGV[1]) == 0 then
    prune(KEYS[5], KEYS[6], cur)
    return 0
  end
  redis.call('DEL', KEYS[2])
  n = prune(KEYS[5], KEYS[6], cur)
end
if n == 0 then
  pass_on(KEYS[3], KEYS[4], KEYS[7], ARGV[2])
elseif redis.call('HGET', KEYS[6], 'kind') == 'l' then
  local head = live_head(KEYS[3], KEYS[4])
  if head then wake(head, ARGV[2]) end
end
return 1
