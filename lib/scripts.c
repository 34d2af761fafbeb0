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
 * KEYS: lock, fence, our holder hash.
 * ARGV: owner, server-side expiry (ms), host, pid, user, command, ttl (ms).
 * Returns {1, fence} when the lock is ours (again, if a retried request
 * had already taken it), or {0, pttl, owner, host, pid, user, age (ms),
 * command} for the current holder; fields it did not record are false.
 *
 * The fence counter starts from the server's clock in microseconds, so a
 * server that lost its data does not hand out tokens it already gave.
 */
struct script script_acquire = { .body =
	"pcall(redis.replicate_commands)\n"
	"local cur = redis.call('GET', KEYS[1])\n"
	"if cur == ARGV[1] then\n"
	"  return {1, tonumber(redis.call('GET', KEYS[2]))}\n"
	"end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"if cur then\n"
	"  local h = redis.call('HMGET', KEYS[1] .. ':holder:' .. cur,\n"
	"                       'host', 'pid', 'user', 'since', 'cmd')\n"
	"  local age = false\n"
	"  if h[4] then age = now - tonumber(h[4]) end\n"
	"  return {0, redis.call('PTTL', KEYS[1]), cur, h[1], h[2], h[3],\n"
	"          age, h[5]}\n"
	"end\n"
	"redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
	"if redis.call('EXISTS', KEYS[2]) == 0 then\n"
	"  redis.call('SET', KEYS[2], t[1] .. string.format('%06d', tonumber(t[2])))\n"
	"end\n"
	"local fence = redis.call('INCR', KEYS[2])\n"
	"redis.call('HSET', KEYS[3], 'host', ARGV[3], 'pid', ARGV[4],\n"
	"           'user', ARGV[5], 'cmd', ARGV[6], 'ttl', ARGV[7],\n"
	"           'since', string.format('%d', now),\n"
	"           'token', string.format('%d', fence), 'mode', 'exclusive')\n"
	"redis.call('PEXPIRE', KEYS[3], ARGV[2])\n"
	"return {1, fence}\n"
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
 * KEYS: lock, our holder hash, wake list. ARGV: owner, notice lifetime (ms).
 * Returns 1 when released, 0 when the lock was not ours.
 *
 * The notice wakes one waiter blocked on the wake list; it expires so that
 * a release nobody waited for leaves nothing behind for long.
 */
struct script script_release = { .body =
	"if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end\n"
	"redis.call('DEL', KEYS[1], KEYS[2])\n"
	"if redis.call('LLEN', KEYS[3]) == 0 then\n"
	"  redis.call('RPUSH', KEYS[3], '1')\n"
	"end\n"
	"redis.call('PEXPIRE', KEYS[3], ARGV[2])\n"
	"return 1\n"
};

static void compute_shas(void)
{
	struct script *all[] = { &script_acquire, &script_renew,
				 &script_release };

	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		sha1_hex(all[i]->body, strlen(all[i]->body), all[i]->sha);
}

static int run_once(struct conn *c, const char *verb, const char *first,
		    int nkeys, const char **keys, int nargs, const char **args,
		    int64_t deadline, int cancel_fd, redisReply **reply,
		    struct dlock_error *err)
{
	const char *argv[16];
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
