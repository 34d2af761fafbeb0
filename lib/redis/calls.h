/* SPDX-License-Identifier: MIT */
/*
 * One C call per Lua script: the only place that knows each script's
 * KEYS and ARGV order (the scripts' own comments say what they mean).
 * Each returns 0 with the raw reply, which may be an error reply (see
 * reply_error()), or a connection error; cancel_fd is as for conn_call().
 */
#ifndef DLOCK_REDIS_CALLS_H
#define DLOCK_REDIS_CALLS_H

#include "backend.h"
#include "conn.h"
#include "keys.h"

/* The scripts' name for a mode: 'x', 's', 'l'; '?' when unknown. */
char redis_mode_char(int mode);

struct acquire_call {
	const char *owner;
	int64_t expiry_ms;	/* server-side life: lease + lock delay */
	int64_t ttl_ms;
	const struct holder_meta *meta;
	bool grab;		/* take a free lock ahead of the queue */
	bool join;		/* queue up when busy */
	bool want_place;	/* report our place in the queue */
	int mode;
	long limit;
	/* The master's replication ID, for the fencing epoch; NULL: none. */
	const char *epoch;
	/* While we wait, a release may hand us the lock (a grant). */
	bool grant;
};

/*
 * One script call's KEYS and ARGV, for a request that does not block
 * (quorum mode sends one to every node at once). The strings point into
 * the keys and settings given, and into sc itself: keep them all alive
 * until the call is done.
 */
struct script_call {
	struct script *script;
	int nkeys, nargs;
	const char *keys[12];
	const char *args[16];
	char num[3][24];
	char mode[2];
};

void acquire_args(const struct redis_keys *k, const struct acquire_call *a,
		  struct script_call *sc);
void renew_args(const struct redis_keys *k, const char *owner,
		int64_t expiry_ms, char mode, struct script_call *sc);
void release_args(const struct redis_keys *k, const char *owner, char mode,
		  struct script_call *sc);
void leave_args(const struct redis_keys *k, const char *owner, char mode,
		struct script_call *sc);
/* Quorum mode: raises the fence counter to token (fence_raise.lua). */
void fence_raise_args(const struct redis_keys *k, const char *token,
		      struct script_call *sc);

int call_acquire(struct conn *c, const struct redis_keys *k,
		 const struct acquire_call *a, int64_t deadline,
		 redisReply **r, struct dlock_error *err);

/*
 * The same, with WAIT for that many replicas (0: none) pipelined after
 * the script; its reply goes to *wait_reply (NULL without WAIT).
 */
int call_acquire_wait(struct conn *c, const struct redis_keys *k,
		      const struct acquire_call *a, long replicas,
		      int64_t deadline, redisReply **r,
		      redisReply **wait_reply, struct dlock_error *err);

int call_renew_wait(struct conn *c, const struct redis_keys *k,
		    const char *owner, int64_t expiry_ms, char mode,
		    long replicas, int64_t deadline, int cancel_fd,
		    redisReply **r, redisReply **wait_reply,
		    struct dlock_error *err);

int call_renew(struct conn *c, const struct redis_keys *k, const char *owner,
	       int64_t expiry_ms, char mode, int64_t deadline, int cancel_fd,
	       redisReply **r, struct dlock_error *err);

/*
 * The renewal on a new connection: INFO server (for the run_id) and the
 * renew script, in one round trip. The script goes by EVAL, as a server
 * that restarted has no script cached. Returns 0 with both raw replies.
 */
int call_renew_identify(struct conn *c, const struct redis_keys *k,
			const char *owner, int64_t expiry_ms, char mode,
			int64_t deadline, int cancel_fd, redisReply **info,
			redisReply **r, struct dlock_error *err);

int call_release(struct conn *c, const struct redis_keys *k,
		 const char *owner, char mode, int64_t deadline,
		 redisReply **r, struct dlock_error *err);

int call_leave(struct conn *c, const struct redis_keys *k, const char *owner,
	       char mode, int64_t deadline, redisReply **r,
	       struct dlock_error *err);

int call_inspect(struct conn *c, const struct redis_keys *k, int64_t deadline,
		 redisReply **r, struct dlock_error *err);

/* The EVALSHA command line of call_inspect(), for a pipeline. */
#define INSPECT_ARGC 8
void inspect_argv(const struct redis_keys *k, const char *argv[INSPECT_ARGC]);

int call_force_release(struct conn *c, const struct redis_keys *k,
		       int64_t deadline, redisReply **r,
		       struct dlock_error *err);

#endif
