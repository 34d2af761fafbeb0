-- SPDX-License-Identifier: MIT
--
-- The prelude of every dlock script. The build puts this file in front of
-- each script's own file (acquire.lua, renew.lua, ...), embeds the whole
-- text in the binary and computes its SHA-1 for EVALSHA; see the "Lua
-- scripts" rules in the Makefile. Redis runs a script from its first line,
-- so this file alone is not a script.
--
-- To run a script by hand, "make scripts" writes the complete texts, the
-- very bytes dlock sends, to build/scripts/NAME.lua; then for instance
--
--   redis-cli --eval build/scripts/inspect.lua 'dlock:{job}' \
--       'dlock:{job}:holders' 'dlock:{job}:kind' 'dlock:{job}:queue' \
--       'dlock:{job}:waiters'
--
-- (keys, then " , " and the arguments, if any). Each file says its KEYS
-- and ARGV at the top; the key schema is in lib/redis/keys.h.
--
-- Shared and counting holders live in a sorted set scored by the end of
-- their lease in server milliseconds. While there are any, the lock's
-- plain key holds MARK, so that single-key clients (redis-py, redsync) are
-- kept out too.

-- Scripts that call TIME and write must replicate their effects, not
-- themselves (Redis before 5; a no-op since 7).
pcall(redis.replicate_commands)
local MARK = 'dlock:shared'
-- The server's clock in ms, read once and only when first needed:
-- releasing or renewing an exclusive lock does without it. time is what
-- TIME said, for the microseconds.
local time, time_ms
local function clock()
  if not time then
    time = redis.call('TIME')
    time_ms = tonumber(time[1]) * 1000 +
              math.floor(tonumber(time[2]) / 1000)
  end
  return time_ms
end
local function ms(x) return string.format('%d', x) end
-- Keeps the marker and its companions alive as long as a holder.
local function extend(holders, kind, expiry)
  if redis.call('PTTL', KEYS[1]) < expiry then
    redis.call('SET', KEYS[1], MARK, 'PX', expiry)
    redis.call('PEXPIRE', holders, expiry)
    redis.call('PEXPIRE', kind, expiry)
  end
end
-- Drops holders whose lease ran out; returns how many are left and, when
-- it read the lock key or was given it, the key's value after that. A
-- caller that has read the key passes cur (false: no key), which saves
-- reading it again; an exclusive lock has no holders set, so counting
-- first saves the removal too.
local function prune(holders, kind, cur)
  local n = redis.call('ZCARD', holders)
  if n > 0 then
    n = n - redis.call('ZREMRANGEBYSCORE', holders, '-inf', clock())
  end
  if n == 0 then
    if cur == nil then cur = redis.call('GET', KEYS[1]) end
    if cur == MARK then
      redis.call('DEL', KEYS[1], kind)
      cur = false
    end
  end
  return n, cur
end
-- Queue entries are the waiter's mode ('x', 's' or 'l') and its owner
-- token. Drops dead waiters at the head (with their wake-up lists and
-- waiter hashes), returns the first live entry and
-- its heartbeat deadline.
local function live_head(queue, waiters)
  local head = redis.call('LINDEX', queue, 0)
  while head do
    local dl = tonumber(redis.call('HGET', waiters, head:sub(2)))
    if dl and dl > clock() then return head, dl end
    redis.call('LPOP', queue)
    redis.call('HDEL', waiters, head:sub(2))
    redis.call('DEL', KEYS[1] .. ':w:' .. head:sub(2),
               KEYS[1] .. ':waiter:' .. head:sub(2))
    head = redis.call('LINDEX', queue, 0)
  end
  return false, 0
end
local function wake(entry, window)
  local w = KEYS[1] .. ':w:' .. entry:sub(2)
  redis.call('RPUSH', w, '1')
  redis.call('PEXPIRE', w, window)
end
-- The fencing counter starts from the server's clock in microseconds, so
-- a server that lost its data does not hand out tokens it gave before.
-- Returns true when it had to start it.
local function seed_fence(fence)
  clock()
  return redis.call('SET', fence,
                    time[1] .. string.format('%06d', tonumber(time[2])),
                    'NX') ~= false
end
-- Hands the free lock to entry, the first live waiter, whose heartbeat
-- runs out at dl, if it is exclusive and said on joining that it takes
-- grants: its holder hash is made from its waiter hash, and its BLPOP
-- reads "g<token>". The waiter starts its command at once, counting its
-- lease from its last heartbeat, and its first renewal makes the lease
-- whole. Until then the lock lives to that heartbeat's deadline plus the
-- waiter's lock-delay, as for a holder that stopped renewing: a waiter
-- that died keeps nothing past that, and one cut off from the server is
-- killed within it. Returns false, changing nothing, when it cannot.
local function grant(entry, dl, queue, waiters, fence)
  local owner = entry:sub(2)
  local wh = KEYS[1] .. ':waiter:' .. owner
  local m = redis.call('HMGET', wh, 'grant', 'ttl', 'delay', 'host', 'pid',
                       'user', 'cmd')
  if entry:sub(1, 1) ~= 'x' or m[1] ~= '1' or
     redis.call('EXISTS', KEYS[1]) == 1 then
    return false
  end
  for i = 2, 7 do if not m[i] then return false end end
  local now = clock()
  local px = dl - now + tonumber(m[3])
  seed_fence(fence)
  local token = redis.call('INCR', fence)
  redis.call('SET', KEYS[1], owner, 'PX', px)
  local h = KEYS[1] .. ':holder:' .. owner
  redis.call('HSET', h, 'host', m[4], 'pid', m[5], 'user', m[6], 'cmd', m[7],
             'ttl', m[2], 'delay', m[3], 'since', ms(now),
             'token', ms(token), 'mode', 'exclusive', 'renews', '1')
  redis.call('PEXPIRE', h, px)
  redis.call('LPOP', queue)
  redis.call('HDEL', waiters, owner)
  local w = KEYS[1] .. ':w:' .. owner
  redis.call('DEL', wh, w)
  redis.call('RPUSH', w, 'g' .. ms(token))
  redis.call('PEXPIRE', w, px)
  return true
end
-- The lock is free: it goes to the first live waiter, or that waiter is
-- woken to take it.
local function pass_on(queue, waiters, fence, window)
  local head, dl = live_head(queue, waiters)
  if head and not grant(head, dl, queue, waiters, fence) then
    wake(head, window)
  end
end
-- Finds how owner holds the lock when the caller does not know (mode '?',
-- for "dlock renew" and "dlock release" given only a token): 'x' when the
-- plain key is its token, else 's' (any holder in the sorted set). Then
-- the plain key's value, when it had to read it, so that the caller need
-- not read it again.
local function mode_of(mode, owner)
  if mode ~= '?' then return mode end
  local cur = redis.call('GET', KEYS[1])
  if cur == owner then return 'x', cur end
  return 's', cur
end
