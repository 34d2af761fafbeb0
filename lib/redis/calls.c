/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "calls.h"
#include "scripts.h"

char redis_mode_char(int mode)
{
	switch (mode) {
	case DLOCK_EXCLUSIVE:
		return 'x';
	case DLOCK_SHARED:
		return 's';
	case DLOCK_LIMIT:
		return 'l';
	}
	return '?';
}

int call_acquire(struct conn *c, const struct redis_keys *k,
		 const struct acquire_call *a, int64_t deadline,
		 redisReply **r, struct dlock_error *err)
{
	char expiry[24], ttl[24], limit[24];
	const char mode[2] = { redis_mode_char(a->mode), '\0' };
	const char *keys[] = { k->lock, k->fence, k->holder, k->queue,
			       k->waiters, k->wake, k->holders, k->kind,
			       k->waiter };
	const char *args[] = { a->owner, expiry, a->meta->host, a->meta->pid,
			       a->meta->user, a->meta->command, ttl,
			       HEARTBEAT_WINDOW_TEXT, a->grab ? "grab" : "fifo",
			       a->join ? "1" : "0", a->want_place ? "1" : "0",
			       mode, limit,
			       a->meta->keeps_alive ? "1" : "0" };

	snprintf(expiry, sizeof(expiry), "%lld", (long long)a->expiry_ms);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)a->ttl_ms);
	snprintf(limit, sizeof(limit), "%ld", a->limit);
	return script_run(c, &script_acquire, (int)ARRAY_SIZE(keys), keys,
			  (int)ARRAY_SIZE(args), args, deadline, -1, r, err);
}

/* The renew script's KEYS and ARGV, for EVALSHA and EVAL alike. */
#define RENEW_KEYS 4
#define RENEW_ARGS 3

static void renew_args(const struct redis_keys *k, const char *owner,
		       const char *expiry, const char *mode,
		       const char *keys[RENEW_KEYS],
		       const char *args[RENEW_ARGS])
{
	keys[0] = k->lock;
	keys[1] = k->holder;
	keys[2] = k->holders;
	keys[3] = k->kind;
	args[0] = owner;
	args[1] = expiry;
	args[2] = mode;
}

int call_renew(struct conn *c, const struct redis_keys *k, const char *owner,
	       int64_t expiry_ms, char mode, int64_t deadline, int cancel_fd,
	       redisReply **r, struct dlock_error *err)
{
	char expiry[24];
	const char mode_text[2] = { mode, '\0' };
	const char *keys[RENEW_KEYS], *args[RENEW_ARGS];

	snprintf(expiry, sizeof(expiry), "%lld", (long long)expiry_ms);
	renew_args(k, owner, expiry, mode_text, keys, args);
	return script_run(c, &script_renew, RENEW_KEYS, keys, RENEW_ARGS,
			  args, deadline, cancel_fd, r, err);
}

int call_renew_identify(struct conn *c, const struct redis_keys *k,
			const char *owner, int64_t expiry_ms, char mode,
			int64_t deadline, int cancel_fd, redisReply **info,
			redisReply **r, struct dlock_error *err)
{
	char expiry[24], nkeys[4];
	const char mode_text[2] = { mode, '\0' };
	const char *info_argv[] = { "INFO", "server" };
	const char *eval[3 + RENEW_KEYS + RENEW_ARGS] = {
		"EVAL", script_body(&script_renew), nkeys
	};
	const char **argvs[] = { info_argv, eval };
	const int argcs[] = { (int)ARRAY_SIZE(info_argv),
			      (int)ARRAY_SIZE(eval) };
	redisReply *replies[2];
	int rc;

	snprintf(expiry, sizeof(expiry), "%lld", (long long)expiry_ms);
	snprintf(nkeys, sizeof(nkeys), "%d", RENEW_KEYS);
	renew_args(k, owner, expiry, mode_text, eval + 3,
		   eval + 3 + RENEW_KEYS);
	rc = conn_pipeline_cancel(c, deadline, cancel_fd, 2, argcs, argvs,
				  replies, err);
	if (rc)
		return rc;
	*info = replies[0];
	*r = replies[1];
	return 0;
}

int call_release(struct conn *c, const struct redis_keys *k,
		 const char *owner, char mode, int64_t deadline,
		 redisReply **r, struct dlock_error *err)
{
	const char mode_text[2] = { mode, '\0' };
	const char *keys[] = { k->lock, k->holder, k->queue, k->waiters,
			       k->holders, k->kind };
	const char *args[] = { owner, HEARTBEAT_WINDOW_TEXT, mode_text };

	return script_run(c, &script_release, (int)ARRAY_SIZE(keys), keys,
			  (int)ARRAY_SIZE(args), args, deadline, -1, r, err);
}

int call_leave(struct conn *c, const struct redis_keys *k, const char *owner,
	       char mode, int64_t deadline, redisReply **r,
	       struct dlock_error *err)
{
	const char mode_text[2] = { mode, '\0' };
	const char *keys[] = { k->lock, k->queue, k->waiters, k->wake,
			       k->waiter };
	const char *args[] = { owner, HEARTBEAT_WINDOW_TEXT, mode_text };

	return script_run(c, &script_leave, (int)ARRAY_SIZE(keys), keys,
			  (int)ARRAY_SIZE(args), args, deadline, -1, r, err);
}

int call_inspect(struct conn *c, const struct redis_keys *k, int64_t deadline,
		 redisReply **r, struct dlock_error *err)
{
	const char *keys[] = { k->lock, k->holders, k->kind, k->queue,
			       k->waiters };

	return script_run(c, &script_inspect, (int)ARRAY_SIZE(keys), keys, 0,
			  NULL, deadline, -1, r, err);
}

void inspect_argv(const struct redis_keys *k, const char *argv[INSPECT_ARGC])
{
	argv[0] = "EVALSHA";
	argv[1] = script_sha(&script_inspect);
	argv[2] = "5";
	argv[3] = k->lock;
	argv[4] = k->holders;
	argv[5] = k->kind;
	argv[6] = k->queue;
	argv[7] = k->waiters;
}

int call_force_release(struct conn *c, const struct redis_keys *k,
		       int64_t deadline, redisReply **r,
		       struct dlock_error *err)
{
	const char *keys[] = { k->lock, k->holders, k->kind, k->queue,
			       k->waiters };
	const char *args[] = { HEARTBEAT_WINDOW_TEXT };

	return script_run(c, &script_force_release, (int)ARRAY_SIZE(keys),
			  keys, (int)ARRAY_SIZE(args), args, deadline, -1, r,
			  err);
}
