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
	redisReply *none;

	return call_acquire_wait(c, k, a, 0, deadline, r, &none, err);
}

int call_acquire_wait(struct conn *c, const struct redis_keys *k,
		      const struct acquire_call *a, long replicas,
		      int64_t deadline, redisReply **r,
		      redisReply **wait_reply, struct dlock_error *err)
{
	char expiry[24], ttl[24], limit[24];
	const char mode[2] = { redis_mode_char(a->mode), '\0' };
	const char *keys[] = { k->lock, k->fence, k->holder, k->queue,
			       k->waiters, k->wake, k->holders, k->kind,
			       k->waiter, k->epoch };
	const char *args[] = { a->owner, expiry, a->meta->host, a->meta->pid,
			       a->meta->user, a->meta->command, ttl,
			       HEARTBEAT_WINDOW_TEXT, a->grab ? "grab" : "fifo",
			       a->join ? "1" : "0", a->want_place ? "1" : "0",
			       mode, limit,
			       a->meta->keeps_alive ? "1" : "0",
			       a->epoch ? a->epoch : "" };

	snprintf(expiry, sizeof(expiry), "%lld", (long long)a->expiry_ms);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)a->ttl_ms);
	snprintf(limit, sizeof(limit), "%ld", a->limit);
	return script_run_wait(c, &script_acquire, (int)ARRAY_SIZE(keys), keys,
			       (int)ARRAY_SIZE(args), args, replicas, deadline,
			       -1, r, wait_reply, err);
}

int call_renew(struct conn *c, const struct redis_keys *k, const char *owner,
	       int64_t expiry_ms, char mode, int64_t deadline, int cancel_fd,
	       redisReply **r, struct dlock_error *err)
{
	redisReply *none;

	return call_renew_wait(c, k, owner, expiry_ms, mode, 0, deadline,
			       cancel_fd, r, &none, err);
}

int call_renew_wait(struct conn *c, const struct redis_keys *k,
		    const char *owner, int64_t expiry_ms, char mode,
		    long replicas, int64_t deadline, int cancel_fd,
		    redisReply **r, redisReply **wait_reply,
		    struct dlock_error *err)
{
	char expiry[24];
	const char mode_text[2] = { mode, '\0' };
	const char *keys[] = { k->lock, k->holder, k->holders, k->kind };
	const char *args[] = { owner, expiry, mode_text };

	snprintf(expiry, sizeof(expiry), "%lld", (long long)expiry_ms);
	return script_run_wait(c, &script_renew, (int)ARRAY_SIZE(keys), keys,
			       (int)ARRAY_SIZE(args), args, replicas, deadline,
			       cancel_fd, r, wait_reply, err);
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
