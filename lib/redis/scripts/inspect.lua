-- SPDX-License-Identifier: MIT
--
-- Reads everything "dlock status" shows, changing nothing (after
-- common.lua, for clock and MARK).
--
-- KEYS: lock, holders, kind, queue, waiters. No ARGV.
-- Returns {server now (ms), plain key's value or false, its pttl, kind or
-- false, limit, queue length, first waiter or false, its heartbeat
-- deadline or false, its waiter hash {field, value, ...} (empty when it
-- left none), holders...} where each holder is {owner, lease end
-- in server ms or -1 for the plain key's owner, {field, value, ...}}.

local now = clock()
local cur = redis.call('GET', KEYS[1])
local pttl = redis.call('PTTL', KEYS[1])
local kind = redis.call('HGET', KEYS[3], 'kind')
local limit = tonumber(redis.call('HGET', KEYS[3], 'limit') or '0')
local head = redis.call('LINDEX', KEYS[4], 0)
local head_dl, head_meta = false, {}
if head then
  head_dl = redis.call('HGET', KEYS[5], head:sub(2))
  head_meta = redis.call('HGETALL', KEYS[1] .. ':waiter:' .. head:sub(2))
end
local r = {now, cur, pttl, kind, limit, redis.call('LLEN', KEYS[4]),
           head, head_dl, head_meta}
local function add(owner, ends)
  r[#r + 1] = {owner, ends,
               redis.call('HGETALL', KEYS[1] .. ':holder:' .. owner)}
end
if cur and cur ~= MARK then add(cur, -1) end
local hs = redis.call('ZRANGEBYSCORE', KEYS[2], now, '+inf',
                      'WITHSCORES')
for i = 1, #hs, 2 do add(hs[i], tonumber(hs[i + 1])) end
return r
