/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "scripts.h"

struct script {
	const char *body;
	char sha[41];
};

/*
 * Shared and counting holders live in a sorted set scored by the end of
 * their lease in server milliseconds. While there are any, the lock's
 * plain key holds SHARED_MARK, so that single-key clients (redis-py,
 * redsync) are kept out too.
 */
#define LUA_COMMON \
	"local MARK = 'dlock:shared'\n" \
	"local t = redis.call('TIME')\n" \
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
	"local function ms(x) return string.format('%d', x) end\n" \
	/* Keeps the marker and its companions alive as long as a holder. */ \
	"local function extend(holders, kind, expiry)\n" \
	"  if redis.call('PTTL', KEYS[1]) < expiry then\n" \
	"    redis.call('SET', KEYS[1], MARK, 'PX', expiry)\n" \
	"    redis.call('PEXPIRE', holders, expiry)\n" \
	"    redis.call('PEXPIRE', kind, expiry)\n" \
	"  end\n" \
	"end\n" \
	/* Drops holders whose lease ran out; returns how many are left. */ \
	"local function prune(holders, kind)\n" \
	"  redis.call('ZREMRANGEBYSCORE', holders, '-inf', now)\n" \
	"  local n = redis.call('ZCARD', holders)\n" \
	"  if n == 0 and redis.call('GET', KEYS[1]) == MARK then\n" \
	"    redis.call('DEL', KEYS[1], kind)\n" \
	"  end\n" \
	"  return n\n" \
	"end\n" \
	/* \
	 * Queue entries are the waiter's mode ('x', 's' or 'l') and its \
	 * owner token. Drops dead waiters at the head, returns the first \
	 * live entry and its heartbeat deadline. \
	 */ \
	"local function live_head(queue, waiters)\n" \
	"  local head = redis.call('LINDEX', queue, 0)\n" \
	"  while head do\n" \
	"    local dl = tonumber(redis.call('HGET', waiters, head:sub(2)))\n" \
	"    if dl and dl > now then return head, dl end\n" \
	"    redis.call('LPOP', queue)\n" \
	"    redis.call('HDEL', waiters, head:sub(2))\n" \
	"    redis.call('DEL', KEYS[1] .. ':w:' .. head:sub(2))\n" \
	"    head = redis.call('LINDEX', queue, 0)\n" \
	"  end\n" \
	"  return false, 0\n" \
	"end\n" \
	"local function wake(entry, window)\n" \
	"  local w = KEYS[1] .. ':w:' .. entry:sub(2)\n" \
	"  redis.call('RPUSH', w, '1')\n" \
	"  redis.call('PEXPIRE', w, window)\n" \
	"end\n"

/*
 * KEYS: lock, fence, our holder hash, queue, waiters, our wake-up list,
 * holders (sorted set), kind (hash: kind "s" or "l", limit).
 * ARGV: owner, server-side expiry (ms), host, pid, user, command, ttl (ms),
 * heartbeat window (ms), "fifo" or "grab", "1" to join the queue when the
 * lock is not free, "1" to report our place in the queue, mode ("x"
 * exclusive, "s" shared, "l" limit), limit.
 *
 * Returns {1, fence} when the lock is ours (again, if a retried request
 * had already taken it). {-1, kind, limit} when the name is in use as
 * another kind of lock ("x", "s" or "l"). Otherwise {0, pttl, holder
 * owner, host, pid, user, age (ms), command, place in the queue (0:
 * unknown), ms until the heartbeat of the waiter ahead runs out (-1: none),
 * number of shared or counting holders, their kind}; pttl is -2 when the
 * lock is free but other waiters come first.
 *
 * With "fifo", the lock goes to waiters in order of arrival: an exclusive
 * request only at the head of the queue; a shared one when every waiter
 * ahead of it is shared too (they enter together); a counting one when
 * it is among the first of the queue as many as there are free permits.
 * "grab" takes a free lock whoever is waiting. The fence counter starts
 * from the server's clock in microseconds, so a server that lost its data
 * does not hand out tokens it gave before.
 */
struct script script_acquire = { .body =
	"pcall(redis.replicate_commands)\n"
	LUA_COMMON
	"local owner, mode = ARGV[1], ARGV[12]\n"
	"local limit = tonumber(ARGV[13])\n"
	"local window = tonumber(ARGV[8])\n"
	"local me = mode .. owner\n"
	"local cur = redis.call('GET', KEYS[1])\n"
	"if cur == owner then\n"
	"  return {1, tonumber(redis.call('GET', KEYS[2]))}\n"
	"end\n"
	"local n = prune(KEYS[7], KEYS[8])\n"
	"if n > 0 and redis.call('ZSCORE', KEYS[7], owner) then\n"
	"  return {1, tonumber(redis.call('HGET', KEYS[3], 'token'))}\n"
	"end\n"
	"cur = redis.call('GET', KEYS[1])\n"
	"local kind, klimit = 'x', 0\n"
	"if n > 0 then\n"
	"  kind = redis.call('HGET', KEYS[8], 'kind') or 's'\n"
	"  klimit = tonumber(redis.call('HGET', KEYS[8], 'limit') or '0')\n"
	"end\n"
	"local exclusive = cur and cur ~= MARK\n"
	"if exclusive and mode == 'l' and\n"
	"   redis.call('HGET', KEYS[1] .. ':holder:' .. cur, 'mode') then\n"
	"  return {-1, 'x', 0}\n"
	"end\n"
	"if n > 0 and (kind ~= mode and (kind == 'l' or mode == 'l')\n"
	"              or kind == 'l' and klimit ~= limit) then\n"
	"  return {-1, kind, klimit}\n"
	"end\n"
	"local free\n"
	"if mode == 'x' then free = not cur\n"
	"elseif mode == 's' then free = not exclusive\n"
	"else free = not exclusive and n < limit end\n"
	"local head, head_dl = live_head(KEYS[4], KEYS[5])\n"
	"local turn = ARGV[9] == 'grab' or not head or head == me\n"
	"if free and not turn and mode ~= 'x' then\n"
	"  local room = mode == 's' and 1000000 or limit - n\n"
	"  local ahead = redis.call('LRANGE', KEYS[4], 0, room - 1)\n"
	"  turn = true\n"
	"  for i, e in ipairs(ahead) do\n"
	"    if e == me then break end\n"
	"    if mode == 's' and e:sub(1, 1) ~= 's' then turn = false break end\n"
	"    if i == #ahead then turn = #ahead < room end\n"
	"  end\n"
	"end\n"
	"if free and turn then\n"
	"  local expiry = tonumber(ARGV[2])\n"
	"  if mode == 'x' then\n"
	"    redis.call('SET', KEYS[1], owner, 'PX', expiry)\n"
	"  else\n"
	"    redis.call('ZADD', KEYS[7], ms(now + expiry), owner)\n"
	"    redis.call('HSET', KEYS[8], 'kind', mode, 'limit', ARGV[13])\n"
	"    extend(KEYS[7], KEYS[8], expiry)\n"
	"  end\n"
	"  if redis.call('EXISTS', KEYS[2]) == 0 then\n"
	"    redis.call('SET', KEYS[2],\n"
	"               t[1] .. string.format('%06d', tonumber(t[2])))\n"
	"  end\n"
	"  local fence = redis.call('INCR', KEYS[2])\n"
	"  local label = ({x = 'exclusive', s = 'shared'})[mode] or\n"
	"                ('limit ' .. ARGV[13])\n"
	"  redis.call('HSET', KEYS[3], 'host', ARGV[3], 'pid', ARGV[4],\n"
	"             'user', ARGV[5], 'cmd', ARGV[6], 'ttl', ARGV[7],\n"
	"             'delay', ms(expiry - tonumber(ARGV[7])),\n"
	"             'since', ms(now), 'token', ms(fence), 'mode', label)\n"
	"  redis.call('PEXPIRE', KEYS[3], expiry)\n"
	"  if redis.call('HDEL', KEYS[5], owner) == 1 then\n"
	"    redis.call('LREM', KEYS[4], 1, me)\n"
	"  end\n"
	"  redis.call('DEL', KEYS[6])\n"
	/* Shared waiters enter together; free permits go to those next. */
	"  if mode ~= 'x' then\n"
	"    local nxt = live_head(KEYS[4], KEYS[5])\n"
	"    if nxt and nxt:sub(1, 1) == mode and\n"
	"       (mode == 's' or n + 1 < limit) then\n"
	"      wake(nxt, window)\n"
	"    end\n"
	"  end\n"
	"  return {1, fence}\n"
	"end\n"
	"local place = 0\n"
	"if ARGV[10] == '1' then\n"
	"  if redis.call('HSET', KEYS[5], owner, now + window) == 1 then\n"
	"    redis.call('RPUSH', KEYS[4], me)\n"
	"  end\n"
	"  redis.call('PEXPIRE', KEYS[4], 2 * window)\n"
	"  redis.call('PEXPIRE', KEYS[5], 2 * window)\n"
	"  if ARGV[11] == '1' then\n"
	"    local ok, p = pcall(redis.call, 'LPOS', KEYS[4], me)\n"
	"    if ok and type(p) == 'number' then place = p + 1 end\n"
	"  end\n"
	"end\n"
	"local head_wait = -1\n"
	"if free and head and head ~= me then head_wait = head_dl - now end\n"
	"if not exclusive then\n"
	"  local pttl = -2\n"
	"  if n > 0 then\n"
	"    local first = redis.call('ZRANGE', KEYS[7], 0, 0, 'WITHSCORES')\n"
	"    pttl = tonumber(first[2]) - now\n"
	"  end\n"
	"  return {0, pttl, false, false, false, false, false, false, place,\n"
	"          head_wait, n, kind}\n"
	"end\n"
	"local h = redis.call('HMGET', KEYS[1] .. ':holder:' .. cur,\n"
	"                     'host', 'pid', 'user', 'since', 'cmd')\n"
	"local age = false\n"
	"if h[4] then age = now - tonumber(h[4]) end\n"
	"return {0, redis.call('PTTL', KEYS[1]), cur, h[1], h[2], h[3], age,\n"
	"        h[5], place, head_wait, 0, 'x'}\n"
};

/*
 * Finds how owner holds the lock when the caller does not know (mode "?",
 * for "dlock renew" and "dlock release" given only a token): "x" when the
 * plain key is its token, else "s" (any holder in the sorted set).
 */
#define LUA_MODE_OF \
	"local function mode_of(mode, owner)\n" \
	"  if mode ~= '?' then return mode end\n" \
	"  if redis.call('GET', KEYS[1]) == owner then return 'x' end\n" \
	"  return 's'\n" \
	"end\n"

/*
 * KEYS: lock, our holder hash, holders, kind. ARGV: owner, server-side
 * expiry (ms), mode. With mode "?" (by token), ARGV[2] is the new lease
 * ("0": the one the lock was taken with), to which the lock delay it was
 * taken with is added. Returns 1 when renewed, 0 when the lock is no longer ours
 * (expired, deleted, or the server lost it), -1 when someone else holds
 * it.
 */
struct script script_renew = { .body =
	"pcall(redis.replicate_commands)\n"
	LUA_COMMON
	LUA_MODE_OF
	"local mode = mode_of(ARGV[3], ARGV[1])\n"
	"local expiry = tonumber(ARGV[2])\n"
	"if ARGV[3] == '?' then\n"
	"  local m = redis.call('HMGET', KEYS[2], 'ttl', 'delay')\n"
	"  if expiry == 0 then expiry = tonumber(m[1] or '30000') end\n"
	"  expiry = expiry + tonumber(m[2] or '0')\n"
	"end\n"
	"if mode == 'x' then\n"
	"  local cur = redis.call('GET', KEYS[1])\n"
	"  if cur == ARGV[1] then\n"
	"    redis.call('PEXPIRE', KEYS[1], expiry)\n"
	"    redis.call('PEXPIRE', KEYS[2], expiry)\n"
	"    return 1\n"
	"  end\n"
	"  if cur then return -1 end\n"
	"  return 0\n"
	"end\n"
	"prune(KEYS[3], KEYS[4])\n"
	"if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 0 end\n"
	"redis.call('ZADD', KEYS[3], 'XX', ms(now + expiry), ARGV[1])\n"
	"redis.call('PEXPIRE', KEYS[2], expiry)\n"
	"extend(KEYS[3], KEYS[4], expiry)\n"
	"return 1\n"
};

/*
 * KEYS: lock, our holder hash, queue, waiters, holders, kind.
 * ARGV: owner, heartbeat window (ms), mode. Returns 1 when released and
 * the first live waiter woken if it may now enter, 0 when the lock was
 * not ours.
 */
struct script script_release = { .body =
	"pcall(redis.replicate_commands)\n"
	LUA_COMMON
	LUA_MODE_OF
	"local n\n"
	"local mode = mode_of(ARGV[3], ARGV[1])\n"
	"if mode == 'x' then\n"
	"  if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end\n"
	"  redis.call('DEL', KEYS[1], KEYS[2])\n"
	"  n = 0\n"
	"else\n"
	"  if redis.call('ZREM', KEYS[5], ARGV[1]) == 0 then\n"
	"    prune(KEYS[5], KEYS[6])\n"
	"    return 0\n"
	"  end\n"
	"  redis.call('DEL', KEYS[2])\n"
	"  n = prune(KEYS[5], KEYS[6])\n"
	"end\n"
	"local head = live_head(KEYS[3], KEYS[4])\n"
	"if head and (n == 0 or redis.call('HGET', KEYS[6], 'kind') == 'l')\n"
	"then wake(head, ARGV[2]) end\n"
	"return 1\n"
};

/*
 * A waiter gives up. KEYS: lock, queue, waiters, our wake-up list.
 * ARGV: owner, heartbeat window (ms), mode. If the lock is free, the next
 * waiter is woken, in case the wake-up meant for it was ours.
 */
struct script script_leave = { .body =
	"pcall(redis.replicate_commands)\n"
	LUA_COMMON
	"if redis.call('HDEL', KEYS[3], ARGV[1]) == 1 then\n"
	"  redis.call('LREM', KEYS[2], 1, ARGV[3] .. ARGV[1])\n"
	"end\n"
	"redis.call('DEL', KEYS[4])\n"
	"local cur = redis.call('GET', KEYS[1])\n"
	"if not cur or cur == MARK then\n"
	"  local head = live_head(KEYS[2], KEYS[3])\n"
	"  if head then wake(head, ARGV[2]) end\n"
	"end\n"
	"return 1\n"
};

/*
 * Reads everything "dlock status" shows, changing nothing.
 * KEYS: lock, holders, kind, queue, waiters.
 * Returns {server now (ms), plain key's value or false, its pttl, kind or
 * false, limit, queue length, first waiter or false, its heartbeat
 * deadline or false, holders...} where each holder is {owner, lease end
 * in server ms or -1 for the plain key's owner, {field, value, ...}}.
 */
struct script script_inspect = { .body =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local cur = redis.call('GET', KEYS[1])\n"
	"local pttl = redis.call('PTTL', KEYS[1])\n"
	"local kind = redis.call('HGET', KEYS[3], 'kind')\n"
	"local limit = tonumber(redis.call('HGET', KEYS[3], 'limit') or '0')\n"
	"local head = redis.call('LINDEX', KEYS[4], 0)\n"
	"local head_dl = false\n"
	"if head then head_dl = redis.call('HGET', KEYS[5], head:sub(2)) end\n"
	"local r = {now, cur, pttl, kind, limit, redis.call('LLEN', KEYS[4]),\n"
	"           head, head_dl}\n"
	"local function add(owner, ends)\n"
	"  r[#r + 1] = {owner, ends,\n"
	"               redis.call('HGETALL', KEYS[1] .. ':holder:' .. owner)}\n"
	"end\n"
	"if cur and cur ~= 'dlock:shared' then add(cur, -1) end\n"
	"local hs = redis.call('ZRANGEBYSCORE', KEYS[2], now, '+inf',\n"
	"                      'WITHSCORES')\n"
	"for i = 1, #hs, 2 do add(hs[i], tonumber(hs[i + 1])) end\n"
	"return r\n"
};

/*
 * The operator's override: removes every holder, whoever it is, and wakes
 * the first waiter. KEYS: lock, holders, kind, queue, waiters.
 * ARGV: heartbeat window (ms). Returns the evicted holders as
 * {owner, {field, value, ...}} pairs.
 */
struct script script_force_release = { .body =
	"pcall(redis.replicate_commands)\n"
	LUA_COMMON
	"local gone = {}\n"
	"local function evict(owner)\n"
	"  local h = KEYS[1] .. ':holder:' .. owner\n"
	"  gone[#gone + 1] = {owner, redis.call('HGETALL', h)}\n"
	"  redis.call('DEL', h)\n"
	"end\n"
	"local cur = redis.call('GET', KEYS[1])\n"
	"if cur and cur ~= MARK then evict(cur) end\n"
	"redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)\n"
	"for _, o in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do\n"
	"  evict(o)\n"
	"end\n"
	"redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])\n"
	"local head = live_head(KEYS[4], KEYS[5])\n"
	"if head then wake(head, ARGV[1]) end\n"
	"return gone\n"
};

static void compute_shas(void)
{
	struct script *all[] = { &script_acquire, &script_renew,
				 &script_release, &script_leave,
				 &script_inspect, &script_force_release };

	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		sha1_hex(all[i]->body, strlen(all[i]->body), all[i]->sha);
}

static int run_once(struct conn *c, const char *verb, const char *first,
		    int nkeys, const char **keys, int nargs, const char **args,
		    int64_t deadline, int cancel_fd, redisReply **reply,
		    struct dlock_error *err)
{
	const char *argv[32];
	char numkeys[12];
	int argc = 0;

	if (3 + nkeys + nargs > (int)ARRAY_SIZE(argv))
		return set_error(err, DLOCK_EUSAGE, "too many script arguments");
	snprintf(numkeys, sizeof(numkeys), "%d", nkeys);
	argv[argc++] = verb;
	argv[argc++] = first;
	argv[argc++] = numkeys;
	for (int i = 0; i < nkeys; i++)
		argv[argc++] = keys[i];
	for (int i = 0; i < nargs; i++)
		argv[argc++] = args[i];
	return conn_call(c, deadline, cancel_fd, argc, argv, NULL, reply, err);
}

static pthread_once_t shas_once = PTHREAD_ONCE_INIT;

const char *script_sha(struct script *s)
{
	pthread_once(&shas_once, compute_shas);
	return s->sha;
}

int script_run(struct conn *c, struct script *s, int nkeys,
	       const char **keys, int nargs, const char **args,
	       int64_t deadline, int cancel_fd, redisReply **reply,
	       struct dlock_error *err)
{
	int rc;

	rc = run_once(c, "EVALSHA", script_sha(s), nkeys, keys, nargs, args,
		      deadline, cancel_fd, reply, err);
	if (rc || (*reply)->type != REDIS_REPLY_ERROR ||
	    strncmp((*reply)->str, "NOSCRIPT", 8) != 0)
		return rc;
	freeReplyObject(*reply);
	*reply = NULL;
	return run_once(c, "EVAL", s->body, nkeys, keys, nargs, args,
			deadline, cancel_fd, reply, err);
}
