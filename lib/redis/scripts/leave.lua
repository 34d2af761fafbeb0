-- SPDX-License-Identifier: MIT
--
-- A waiter gives up (after common.lua).
--
-- KEYS: lock, queue, waiters, our wake-up list, our waiter hash.
-- ARGV: owner, heartbeat window (ms), mode. If the lock is free, the next
-- waiter is woken, in case the wake-up meant for it was ours.

if redis.call('HDEL', KEYS[3], ARGV[1]) == 1 then
  redis.call('LREM', KEYS[2], 1, ARGV[3] .. ARGV[1])
end
redis.call('DEL', KEYS[4], KEYS[5])
local cur = redis.call('GET', KEYS[1])
if not cur or cur == MARK then
  local head = live_head(KEYS[2], KEYS[3])
  if head then wake(head, ARGV[2]) end
end
return 1
