/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

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

/* Copies a script's KEYS and ARGV into sc, which they may point into. */
static void set_call(struct script_call *sc, const char **keys, size_t nkeys,
		     const char **args, size_t nargs)
{
	memcpy(sc->keys, keys, nkeys * sizeof(*keys));
	memcpy(sc->args, args, nargs * sizeof(*args));
	sc->nkeys = (int)nkeys;
	sc->nargs = (int)nargs;
}

void acquire_args(const struct redis_keys *k, const struct acquire_call *a,
		  struct script_call *sc)
{
	const char *keys[] = { k->lock, k->fence, k->holder, k->queue,
			       k->waiters, k->wake, k->holders, k->kind,
			       k->waiter, k->epoch };
	const char *args[] = { a->owner, sc->num[0], a->meta->host,
			       a->meta->pid, a->meta->user, a->meta->command,
			       sc->num[1], HEARTBEAT_WINDOW_TEXT,
			       a->grab ? "grab" : "fifo", a->join ? "1" : "0",
			       a->want_place ? "1" : "0", sc->mode,
			       sc->num[2], a->meta->keeps_alive ? "1" : "0",
			       a->epoch ? a->epoch : "", a->grant ? "1" : "0" };

	sc->script = &script_acquire;
	snprintf(sc->num[0], sizeof(sc->num[0]), "%lld",
		 (long long)a->expiry_ms);
	snprintf(sc->num[1], sizeof(sc->num[1]), "%lld", (long long)a->ttl_ms);
	snprintf(sc->num[2], sizeof(sc->num[2]), "%ld", a->limit);
	sc->mode[0] = redis_mode_char(a->mode);
	sc->mode[1] = '\0';
	set_call(sc, keys, ARRAY_SIZE(keys), args, ARRAY_SIZE(args));
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
	struct script_call sc = { 0 };

	acquire_args(k, a, &sc);
	return script_run_wait(c, sc.script, sc.nkeys, sc.keys, sc.nargs,
			       sc.args, replicas, deadline, -1, r, wait_reply,
			       err);
}

void renew_args(const struct redis_keys *k, const char *owner,
		int64_t expiry_ms, char mode, struct script_call *sc)
{
	const char *keys[] = { k->lock, k->holder, k->holders, k->kind };
	const char *args[] = { owner, sc->num[0], sc->mode };

	sc->script = &script_renew;
	snprintf(sc->num[0], sizeof(sc->num[0]), "%lld", (long long)expiry_ms);
	sc->mode[0] = mode;
	sc->mode[1] = '\0';
	set_call(sc, keys, ARRAY_SIZE(keys), args, ARRAY_SIZE(args));
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
	struct script_call sc = { 0 };

	renew_args(k, owner, expiry_ms, mode, &sc);
	return script_run_wait(c, sc.script, sc.nkeys, sc.keys, sc.nargs,
			       sc.args, replicas, deadline, cancel_fd, r,
			       wait_reply, err);
}

int call_renew_identify(struct conn *c, const struct redis_keys *k,
			const char *owner, int64_t expiry_ms, char mode,
			int64_t deadline, int cancel_fd, redisReply **info,
			redisReply **r, struct dlock_error *err)
{
	struct script_call sc = { 0 };
	char nkeys[4];
	const char *info_argv[] = { "INFO", "server" };
	const char *eval[3 + ARRAY_SIZE(sc.keys) + ARRAY_SIZE(sc.args)];
	const char **argvs[] = { info_argv, eval };
	int argcs[] = { (int)ARRAY_SIZE(info_argv), 0 };
	redisReply *replies[2];
	int rc;

	renew_args(k, owner, expiry_ms, mode, &sc);
	snprintf(nkeys, sizeof(nkeys), "%d", sc.nkeys);
	eval[0] = "EVAL";
	eval[1] = script_body(sc.script);
	eval[2] = nkeys;
	memcpy(eval + 3, sc.keys, (size_t)sc.nkeys * sizeof(*eval));
	memcpy(eval + 3 + sc.nkeys, sc.args, (size_t)sc.nargs * sizeof(*eval));
	argcs[1] = 3 + sc.nkeys + sc.nargs;
	rc = conn_pipeline_cancel(c, deadline, cancel_fd, 2, argcs, argvs,
				  replies, err);
	if (rc)
		return rc;
	*info = replies[0];
	*r = replies[1];
	return 0;
}

void release_args(const struct redis_keys *k, const char *owner, char mode,
		  struct script_call *sc)
{
	const char *keys[] = { k->lock, k->holder, k->queue, k->waiters,
			       k->holders, k->kind, k->fence };
	const char *args[] = { owner, HEARTBEAT_WINDOW_TEXT, sc->mode };

	sc->script = &script_release;
	sc->mode[0] = mode;
	sc->mode[1] = '\0';
	set_call(sc, keys, ARRAY_SIZE(keys), args, ARRAY_SIZE(args));
}

int call_release(struct conn *c, const struct redis_keys *k,
		 const char *owner, char mode, int64_t deadline,
		 redisReply **r, struct dlock_error *err)
{
	struct script_call sc = { 0 };

	release_args(k, owner, mode, &sc);
	return script_run(c, sc.script, sc.nkeys, sc.keys, sc.nargs, sc.args,
			  deadline, -1, r, err);
}

void leave_args(const struct redis_keys *k, const char *owner, char mode,
		struct script_call *sc)
{
	const char *keys[] = { k->lock, k->queue, k->waiters, k->wake,
			       k->waiter, k->fence };
	const char *args[] = { owner, HEARTBEAT_WINDOW_TEXT, sc->mode };

	sc->script = &script_leave;
	sc->mode[0] = mode;
	sc->mode[1] = '\0';
	set_call(sc, keys, ARRAY_SIZE(keys), args, ARRAY_SIZE(args));
}

int call_leave(struct conn *c, const struct redis_keys *k, const char *owner,
	       char mode, int64_t deadline, redisReply **r,
	       struct dlock_error *err)
{
	struct script_call sc = { 0 };

	leave_args(k, owner, mode, &sc);
	return script_run(c, sc.script, sc.nkeys, sc.keys, sc.nargs, sc.args,
			  deadline, -1, r, err);
}

void fence_raise_args(const struct redis_keys *k, const char *token,
		      struct script_call *sc)
{
	const char *keys[] = { k->fence, k->holder };
	const char *args[] = { token };

	sc->script = &script_fence_raise;
	set_call(sc, keys, ARRAY_SIZE(keys), args, ARRAY_SIZE(args));
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
