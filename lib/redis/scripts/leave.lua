-- SPDX-License-Identifier: MIT
--
-- A waiter gives up (after common.lua).
--
-- KEYS: lock, queue, waiters, our wake-up list, our waiter hash, fence.
-- ARGV: owner, heartbeat window (ms), mode. A lock handed to us just as
-- we gave up (see grant in common.lua) goes on to the next waiter. If the
-- lock is free, the next waiter gets it or is woken, in case the wake-up
-- meant for it was ours.

if redis.call('HDEL', KEYS[3], ARGV[1]) == 1 then
  redis.call('LREM', KEYS[2], 1, ARGV[3] .. ARGV[1])
end
redis.call('DEL', KEYS[4], KEYS[5])
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[1] .. ':holder:' .. ARGV[1])
  cur = false
end
if not cur or cur == MARK then
  pass_on(KEYS[2], KEYS[3], KEYS[6], ARGV[2])
end
return 1
