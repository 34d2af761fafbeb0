-- SPDX-License-Identifier: MIT
--
-- The operator's override (after common.lua): removes every holder,
-- whoever it is, and wakes the first waiter.
--
-- KEYS: lock, holders, kind, queue, waiters. ARGV: heartbeat window (ms).
-- Returns the evicted holders as {owner, {field, value, ...}} pairs.

local gone = {}
local function evict(owner)
  local h = KEYS[1] .. ':holder:' .. owner
  gone[#gone + 1] = {owner, redis.call('HGETALL', h)}
  redis.call('DEL', h)
end
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= MARK then evict(cur) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', clock())
for _, o in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  evict(o)
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
local head = live_head(KEYS[4], KEYS[5])
if head then wake(head, ARGV[1]) end
return gone
