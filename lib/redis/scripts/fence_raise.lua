-- SPDX-License-Identifier: MIT
--
-- Quorum mode: writes a fencing token back (after common.lua).
--
-- KEYS: fence, our holder hash. ARGV: token, the largest counter read
-- from the nodes that granted the lock. Raises the counter to the token
-- when it is lower, so that a majority of the nodes holds at least it and
-- the next holder's majority, which shares a node with this one, counts
-- past it. Records the token in the holder hash when there is one (never
-- making one, which would have no expiry). Returns the counter. Lua
-- compares the values as doubles, exact below 2^53: counters seeded from
-- the server's clock in microseconds stay below that until the year 2255.

local want = tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur < want then
  redis.call('SET', KEYS[1], ARGV[1])
  cur = want
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], 'token', ARGV[1])
end
return cur
