-- SPDX-License-Identifier: MIT
--
-- Takes the lock, or joins its queue (after common.lua).
--
-- KEYS: lock, fence, our holder hash, queue, waiters, our wake-up list,
-- holders (sorted set), kind (hash: kind "s" or "l", limit), our waiter
-- hash (what "dlock status" says of us while we wait), epoch (the
-- master_replid the fence counter was last increased under).
-- ARGV: owner, server-side expiry (ms), host, pid, user, command, ttl (ms),
-- heartbeat window (ms), "fifo" or "grab", "1" to join the queue when the
-- lock is not free, "1" to report our place in the queue, mode ("x"
-- exclusive, "s" shared, "l" limit), limit, "1" when the holder renews its
-- lease itself (dlock run) or "0" (dlock acquire: only dlock renew does),
-- the master's replication ID ("": unknown), "1" when a release may hand
-- us the lock while we wait (see grant in common.lua).
--
-- Returns {1, fence} when the lock is ours (again, if a retried request
-- had already taken it, or a release handed it to us: either way its
-- expiry is set to ours now). {-1, kind, limit} when the name is in use as
-- another kind of lock ("x", "s" or "l"). Otherwise {0, pttl, holder
-- owner, host, pid, user, age (ms), command, place in the queue (0:
-- unknown), ms until the heartbeat of the waiter ahead runs out (-1: none),
-- number of shared or counting holders, their kind, until when a lock
-- delay keeps the lock (server ms; -1: none)}; pttl is -2 when the lock
-- is free but other waiters come first. The lock delay is in force when
-- less than it is left of the key: renewals reset the key to lease +
-- delay, so its holder stopped renewing and its lease ran out.
--
-- With "fifo", the lock goes to waiters in order of arrival: an exclusive
-- request only at the head of the queue; a shared one when every waiter
-- ahead of it is shared too (they enter together); a counting one when
-- it is among the first of the queue as many as there are free permits.
-- "grab" takes a free lock whoever is waiting. Under a master whose
-- replication ID is not the one the counter was last increased under (a
-- failover promoted a replica, which may have missed the last increments)
-- the counter first jumps by 2^32: a new epoch.

local now = clock()
local owner, mode = ARGV[1], ARGV[12]
local limit = tonumber(ARGV[13])
local window = tonumber(ARGV[8])
local me = mode .. owner
-- Most often there is nothing of the lock yet but its fencing counter: no
-- holder and no queue. One call finds that out in place of the reads
-- below, and of the waiter entry's clean-up after taking the lock, each of
-- which would have found nothing.
local bare = redis.call('EXISTS', KEYS[1], KEYS[4], KEYS[5], KEYS[7]) == 0
local cur = not bare and redis.call('GET', KEYS[1])
if cur == owner then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
  redis.call('DEL', KEYS[6])
  return {1, tonumber(redis.call('GET', KEYS[2]))}
end
local n = 0
if not bare then n, cur = prune(KEYS[7], KEYS[8], cur) end
if n > 0 and redis.call('ZSCORE', KEYS[7], owner) then
  return {1, tonumber(redis.call('HGET', KEYS[3], 'token'))}
end
local kind, klimit = 'x', 0
if n > 0 then
  kind = redis.call('HGET', KEYS[8], 'kind') or 's'
  klimit = tonumber(redis.call('HGET', KEYS[8], 'limit') or '0')
end
local exclusive = cur and cur ~= MARK
if exclusive and mode == 'l' and
   redis.call('HGET', KEYS[1] .. ':holder:' .. cur, 'mode') then
  return {-1, 'x', 0}
end
if n > 0 and (kind ~= mode and (kind == 'l' or mode == 'l')
              or kind == 'l' and klimit ~= limit) then
  return {-1, kind, klimit}
end
local free
if mode == 'x' then free = not cur
elseif mode == 's' then free = not exclusive
else free = not exclusive and n < limit end
-- Whether a shared or counting request may enter beside the waiters
-- ahead of it: it is among the first room entries of the queue (or not in
-- it, and the queue is shorter), with only shared requests ahead of a
-- shared one. The queue is read a chunk at a time and only as far as that
-- takes, so that a shared waiter behind an exclusive one reads a few
-- entries at each heartbeat, not the whole queue.
local function may_enter(room)
  local from = 0
  while from < room do
    local to = math.min(from + 63, room - 1)
    local chunk = redis.call('LRANGE', KEYS[4], from, to)
    for _, e in ipairs(chunk) do
      if e == me then return true end
      if mode == 's' and e:sub(1, 1) ~= 's' then return false end
    end
    if #chunk <= to - from then return true end
    from = to + 1
  end
  return false
end
local head, head_dl = false, 0
if not bare then head, head_dl = live_head(KEYS[4], KEYS[5]) end
local turn = ARGV[9] == 'grab' or not head or head == me
if free and not turn and mode ~= 'x' then
  turn = may_enter(mode == 's' and math.huge or limit - n)
end
if free and turn then
  local expiry = tonumber(ARGV[2])
  if mode == 'x' then
    redis.call('SET', KEYS[1], owner, 'PX', expiry)
  else
    redis.call('ZADD', KEYS[7], ms(now + expiry), owner)
    redis.call('HSET', KEYS[8], 'kind', mode, 'limit', ARGV[13])
    extend(KEYS[7], KEYS[8], expiry)
  end
  if not seed_fence(KEYS[2]) and ARGV[15] ~= '' and
     redis.call('GET', KEYS[10]) ~= ARGV[15] then
    redis.call('INCRBY', KEYS[2], 4294967296)
  end
  if ARGV[15] ~= '' then redis.call('SET', KEYS[10], ARGV[15]) end
  local fence = redis.call('INCR', KEYS[2])
  local label = ({x = 'exclusive', s = 'shared'})[mode] or
                ('limit ' .. ARGV[13])
  redis.call('HSET', KEYS[3], 'host', ARGV[3], 'pid', ARGV[4],
             'user', ARGV[5], 'cmd', ARGV[6], 'ttl', ARGV[7],
             'delay', ms(expiry - tonumber(ARGV[7])),
             'since', ms(now), 'token', ms(fence), 'mode', label,
             'renews', ARGV[14])
  redis.call('PEXPIRE', KEYS[3], expiry)
  if not bare and redis.call('HDEL', KEYS[5], owner) == 1 then
    redis.call('LREM', KEYS[4], 1, me)
  end
  -- Not left to bare: a user the ACL refuses DEL could take the lock but
  -- never release it; this way its acquire fails, before its command runs.
  redis.call('DEL', KEYS[6], KEYS[9])
  -- Shared waiters enter together; free permits go to those next.
  if mode ~= 'x' then
    local nxt = live_head(KEYS[4], KEYS[5])
    if nxt and nxt:sub(1, 1) == mode and
       (mode == 's' or n + 1 < limit) then
      wake(nxt, window)
    end
  end
  return {1, fence}
end
local place = 0
if ARGV[10] == '1' then
  if redis.call('HSET', KEYS[5], owner, now + window) == 1 then
    redis.call('RPUSH', KEYS[4], me)
  end
  redis.call('PEXPIRE', KEYS[4], 2 * window)
  redis.call('PEXPIRE', KEYS[5], 2 * window)
  -- Expires with our heartbeat; "since" is when we joined. A grant
  -- makes our holder hash from it.
  redis.call('HSET', KEYS[9], 'host', ARGV[3], 'pid', ARGV[4],
             'user', ARGV[5], 'cmd', ARGV[6], 'ttl', ARGV[7],
             'delay', ms(tonumber(ARGV[2]) - tonumber(ARGV[7])),
             'grant', ARGV[16])
  redis.call('HSETNX', KEYS[9], 'since', ms(now))
  redis.call('PEXPIRE', KEYS[9], window)
  if ARGV[11] == '1' then
    local ok, p = pcall(redis.call, 'LPOS', KEYS[4], me)
    if ok and type(p) == 'number' then place = p + 1 end
  end
end
local head_wait = -1
if free and head and head ~= me then head_wait = head_dl - now end
if not exclusive then
  local pttl = -2
  if n > 0 then
    local first = redis.call('ZRANGE', KEYS[7], 0, 0, 'WITHSCORES')
    pttl = tonumber(first[2]) - now
  end
  return {0, pttl, false, false, false, false, false, false, place,
          head_wait, n, kind, -1}
end
local h = redis.call('HMGET', KEYS[1] .. ':holder:' .. cur,
                     'host', 'pid', 'user', 'since', 'cmd', 'delay')
local age = false
if h[4] then age = now - tonumber(h[4]) end
local pttl = redis.call('PTTL', KEYS[1])
local blocked = -1
if pttl >= 0 and pttl < tonumber(h[6] or '0') then blocked = now + pttl end
return {0, pttl, cur, h[1], h[2], h[3], age, h[5], place, head_wait, 0,
        'x', blocked}
