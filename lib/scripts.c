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
 * Drops waiters at the head of the queue whose heartbeat ran out, and
 * returns the first live one and its deadline. KEYS[1] is always the lock,
 * the base of every other key name.
 */
#define LUA_LIVE_HEAD \
	"local function live_head(queue, waiters, now)\n" \
	"  local head = redis.call('LINDEX', queue, 0)\n" \
	"  while head do\n" \
	"    local dl = tonumber(redis.call('HGET', waiters, head))\n" \
	"    if dl and dl > now then return head, dl end\n" \
	"    redis.call('LPOP', queue)\n" \
	"    redis.call('HDEL', waiters, head)\n" \
	"    redis.call('DEL', KEYS[1] .. ':w:' .. head)\n" \
	"    head = redis.call('LINDEX', queue, 0)\n" \
	"  end\n" \
	"  return false, 0\n" \
	"end\n"

/* Wakes the first live waiter; its wake-up list dies with its heartbeat. */
#define LUA_WAKE_HEAD \
	LUA_LIVE_HEAD \
	"local function wake_head(queue, waiters, window)\n" \
	"  local t = redis.call('TIME')\n" \
	"  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
	"  local head = live_head(queue, waiters, now)\n" \
	"  if head then\n" \
	"    local w = KEYS[1] .. ':w:' .. head\n" \
	"    redis.call('RPUSH', w, '1')\n" \
	"    redis.call('PEXPIRE', w, window)\n" \
	"  end\n" \
	"end\n"

/*
 * KEYS: lock, fence, our holder hash, queue, waiters, our wake-up list.
 * ARGV: owner, server-side expiry (ms), host, pid, user, command, ttl (ms),
 * heartbeat window (ms), "fifo" or "grab", "1" to join the queue when the
 * lock is not free, "1" to report our place in the queue.
 *
 * Returns {1, fence} when the lock is ours (again, if a retried request
 * had already taken it). Otherwise {0, pttl, holder owner, host, pid,
 * user, age (ms), command, place in the queue (0: unknown), ms until the
 * heartbeat of the waiter ahead of us runs out (-1: none)}; fields the
 * holder did not record are false, and pttl is -2 when the lock is free
 * but another waiter is first in line.
 *
 * With "fifo" the lock goes to the first live waiter; "grab" takes a free
 * lock whoever is waiting. The fence counter starts from the server's
 * clock in microseconds, so a server that lost its data does not hand out
 * tokens it gave before.
 */
struct script script_acquire = { .body =
	"pcall(redis.replicate_commands)\n"
	LUA_LIVE_HEAD
	"local owner = ARGV[1]\n"
	"local cur = redis.call('GET', KEYS[1])\n"
	"if cur == owner then\n"
	"  return {1, tonumber(redis.call('GET', KEYS[2]))}\n"
	"end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local head, head_dl = live_head(KEYS[4], KEYS[5], now)\n"
	"if not cur and (not head or head == owner or ARGV[9] == 'grab') then\n"
	"  redis.call('SET', KEYS[1], owner, 'PX', ARGV[2])\n"
	"  if redis.call('EXISTS', KEYS[2]) == 0 then\n"
	"    redis.call('SET', KEYS[2],\n"
	"               t[1] .. string.format('%06d', tonumber(t[2])))\n"
	"  end\n"
	"  local fence = redis.call('INCR', KEYS[2])\n"
	"  redis.call('HSET', KEYS[3], 'host', ARGV[3], 'pid', ARGV[4],\n"
	"             'user', ARGV[5], 'cmd', ARGV[6], 'ttl', ARGV[7],\n"
	"             'since', string.format('%d', now),\n"
	"             'token', string.format('%d', fence), 'mode', 'exclusive')\n"
	"  redis.call('PEXPIRE', KEYS[3], ARGV[2])\n"
	"  if redis.call('HDEL', KEYS[5], owner) == 1 then\n"
	"    redis.call('LREM', KEYS[4], 1, owner)\n"
	"  end\n"
	"  redis.call('DEL', KEYS[6])\n"
	"  return {1, fence}\n"
	"end\n"
	"local place = 0\n"
	"if ARGV[10] == '1' then\n"
	"  local window = tonumber(ARGV[8])\n"
	"  if redis.call('HSET', KEYS[5], owner, now + window) == 1 then\n"
	"    redis.call('RPUSH', KEYS[4], owner)\n"
	"  end\n"
	"  redis.call('PEXPIRE', KEYS[4], 2 * window)\n"
	"  redis.call('PEXPIRE', KEYS[5], 2 * window)\n"
	"  if ARGV[11] == '1' then\n"
	"    local ok, p = pcall(redis.call, 'LPOS', KEYS[4], owner)\n"
	"    if ok and type(p) == 'number' then place = p + 1 end\n"
	"  end\n"
	"end\n"
	"local head_wait = -1\n"
	"if not cur and head and head ~= owner then head_wait = head_dl - now end\n"
	"if not cur then\n"
	"  return {0, -2, false, false, false, false, false, false, place,\n"
	"          head_wait}\n"
	"end\n"
	"local h = redis.call('HMGET', KEYS[1] .. ':holder:' .. cur,\n"
	"                     'host', 'pid', 'user', 'since', 'cmd')\n"
	"local age = false\n"
	"if h[4] then age = now - tonumber(h[4]) end\n"
	"return {0, redis.call('PTTL', KEYS[1]), cur, h[1], h[2], h[3], age,\n"
	"        h[5], place, head_wait}\n"
};

/*
 * KEYS: lock, our holder hash. ARGV: owner, server-side expiry (ms).
 * Returns 1 when renewed, 0 when the key is gone, -1 when someone else
 * holds it.
 */
struct script script_renew = { .body =
	"local cur = redis.call('GET', KEYS[1])\n"
	"if cur == ARGV[1] then\n"
	"  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
	"  redis.call('PEXPIRE', KEYS[2], ARGV[2])\n"
	"  return 1\n"
	"end\n"
	"if cur then return -1 end\n"
	"return 0\n"
};

/*
 * KEYS: lock, our holder hash, queue, waiters. ARGV: owner, heartbeat
 * window (ms). Returns 1 when released and the first live waiter woken, 0
 * when the lock was not ours.
 */
struct script script_release = { .body =
	"pcall(redis.replicate_commands)\n"
	LUA_WAKE_HEAD
	"if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end\n"
	"redis.call('DEL', KEYS[1], KEYS[2])\n"
	"wake_head(KEYS[3], KEYS[4], ARGV[2])\n"
	"return 1\n"
};

/*
 * A waiter gives up. KEYS: lock, queue, waiters, our wake-up list.
 * ARGV: owner, heartbeat window (ms). If the lock is free, the next waiter
 * is woken, in case the wake-up meant for it was ours.
 */
struct script script_leave = { .body =
	"pcall(redis.replicate_commands)\n"
	LUA_WAKE_HEAD
	"if redis.call('HDEL', KEYS[3], ARGV[1]) == 1 then\n"
	"  redis.call('LREM', KEYS[2], 1, ARGV[1])\n"
	"end\n"
	"redis.call('DEL', KEYS[4])\n"
	"if redis.call('EXISTS', KEYS[1]) == 0 then\n"
	"  wake_head(KEYS[2], KEYS[3], ARGV[2])\n"
	"end\n"
	"return 1\n"
};

static void compute_shas(void)
{
	struct script *all[] = { &script_acquire, &script_renew,
				 &script_release, &script_leave };

	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		sha1_hex(all[i]->body, strlen(all[i]->body), all[i]->sha);
}

static int run_once(struct conn *c, const char *verb, const char *first,
		    int nkeys, const char **keys, int nargs, const char **args,
		    int64_t deadline, int cancel_fd, redisReply **reply,
		    struct dlock_error *err)
{
	const char *argv[20];
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

int script_run(struct conn *c, struct script *s, int nkeys,
	       const char **keys, int nargs, const char **args,
	       int64_t deadline, int cancel_fd, redisReply **reply,
	       struct dlock_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int rc;

	pthread_once(&once, compute_shas);
	rc = run_once(c, "EVALSHA", s->sha, nkeys, keys, nargs, args,
		      deadline, cancel_fd, reply, err);
	if (rc || (*reply)->type != REDIS_REPLY_ERROR ||
	    strncmp((*reply)->str, "NOSCRIPT", 8) != 0)
		return rc;
	freeReplyObject(*reply);
	*reply = NULL;
	return run_once(c, "EVAL", s->body, nkeys, keys, nargs, args,
			deadline, cancel_fd, reply, err);
}
