/* SPDX-License-Identifier: MIT */
/*
 * The seam between what dlock does (wait for a lock, keep its lease,
 * supervise the command, answer status and list) and where the lock is
 * kept. Everything above this table is written once; a backend owns its
 * wire format: connections, key schema, scripts, reply shapes.
 *
 * Adding a backend takes one folder and one table entry:
 *   1. lib/NAME/ implements a struct backend_ops (see lib/redis/redis.c)
 *      and says what it can do in caps;
 *   2. backend_for() in lib/backend.c picks it for its URL schemes (or
 *      for several URLs).
 * The wait loop (lib/acquire.c), the lease thread (lib/lease.c) and cmd/
 * need no change. tests/unit/test_backend.c runs them on an in-memory
 * backend of its own to show it.
 *
 * Every operation returns 0 or a negative DLOCK_E* code with the message
 * in err; an outcome with several cases comes back through an enum. A
 * session belongs to one thread at a time. An operation that fails on the
 * connection leaves the session ready to reconnect on the next call, and
 * DLOCK_ECONN is the one code worth retrying (error_is_transient()).
 */
#ifndef DLOCK_BACKEND_H
#define DLOCK_BACKEND_H

#include "lock.h"

/*
 * Bumped when an operation changes; backend_for() checks it.
 * 2: lease_watch.
 */
#define BACKEND_OPS_VERSION 2

enum backend_caps {
	CAP_FIFO = 1u << 0,		/* waiters take turns in arrival order */
	CAP_SHARED = 1u << 1,		/* -s */
	CAP_LIMIT = 1u << 2,		/* --limit N */
	CAP_LOCK_DELAY = 1u << 3,	/* --lock-delay */
	CAP_MONOTONIC_FENCE = 1u << 4,	/* tokens grow across holders */
	CAP_REPLICA_CONFIRMED = 1u << 5, /* writes confirmed by replicas */
};

/* A backend's connection(s) to its servers, opened on first use. */
struct session;

/* What other users are told about a holder or waiter. */
struct holder_meta {
	char host[256];
	char pid[16];
	char user[64];
	char command[HOLDER_COMMAND_MAX];
	bool keeps_alive;	/* the holder renews its lease itself */
};

enum try_outcome {
	TRY_TAKEN,	/* the lock is ours: lock->fence is set */
	TRY_BUSY,	/* held, or our turn has not come: see the rest */
	TRY_WRONG_KIND,	/* the name is in use as another kind of lock */
};

/* The answer to one try, for the wait loop's decisions and messages. */
struct try_result {
	enum try_outcome outcome;
	/* TRY_WRONG_KIND: */
	int held_kind;		/* DLOCK_EXCLUSIVE, DLOCK_SHARED, DLOCK_LIMIT */
	long long held_limit;
	/* TRY_BUSY: */
	int64_t look_again_ms;	/* try again this soon, even if not woken */
	long long place;	/* in the queue, from 1; 0: unknown */
	long long age_ms;	/* how long it has been held; -1: unknown */
	long long shared_holders;	/* of a shared lock or a semaphore */
	int shared_kind;		/* DLOCK_SHARED or DLOCK_LIMIT */
	bool has_owner;		/* an exclusive holder, named by owner */
	char owner[DLOCK_OWNER_MAX];
	bool has_details;	/* the holder left meta */
	struct holder_meta holder;
	/*
	 * The holder stopped renewing and a lock delay keeps the lock until
	 * blocked_until_ms (epoch ms on the server's clock), blocked_for_ms
	 * from now.
	 */
	bool lock_delay;
	int64_t blocked_until_ms;
	int64_t blocked_for_ms;
};

/* How the calling process tree holds a lock already. */
enum holding { HOLDS_NOTHING, HOLDS_EXCLUSIVE, HOLDS_SHARED };

enum renew_result {
	RENEWED,
	RENEW_GONE,		/* nobody holds it: expired, deleted, lost */
	RENEW_TAKEN_OVER,	/* someone else holds it */
};

/* What the lease thread watches between renewals (lease_watch). */
struct lease_watch {
	/*
	 * Becomes readable (or reports POLLHUP or POLLERR) when the
	 * connection the lease is renewed on breaks or the server says
	 * something unasked: the lease thread then renews at once, and the
	 * renewal reconnects. -1: nothing to watch, renew at the ticks.
	 */
	int fd;
	/*
	 * Since the previous call, the renewals have reached another
	 * instance of the server than before (Redis: its run_id changed): it
	 * restarted, or another took its address.
	 */
	bool restarted;
};

/* What a blocked wait does while it blocks. */
struct wait_hooks {
	int cancel_fd;		/* readable: give up with DLOCK_ECANCELED */
	void (*tick)(void *arg);	/* called every tick_ms; may be NULL */
	void *tick_arg;
	int tick_ms;
};

struct backend_ops {
	unsigned version;
	const char *name;
	unsigned caps;

	/* Makes a session on resolved settings, without any I/O. */
	int (*session_open)(const struct dlock_config *cfg,
			    struct session **out, struct dlock_error *err);
	void (*session_close)(struct session *s);
	/* Connects and authenticates now, if not connected yet. */
	int (*connect)(struct session *s, struct dlock_error *err);
	/* Whether a server has answered this session at least once. */
	bool (*reached)(const struct session *s);

	/* Fills lock->impl for name and lock->owner; no I/O. */
	int (*lock_init)(struct session *s, struct dlock_lock *lock,
			 struct dlock_error *err);
	void (*lock_free)(struct backend_lock *impl);

	/* How owner (another token than lock->owner) holds the lock. */
	int (*held_by)(struct session *s, const struct dlock_lock *lock,
		       const char *owner, enum holding *how,
		       struct dlock_error *err);
	/*
	 * One try. With join, a busy lock puts us in its queue (or keeps us
	 * there) and the result says where; the wait loop then calls wait
	 * and tries again, or leave.
	 */
	int (*try_acquire)(struct session *s, struct dlock_lock *lock,
			   const struct holder_meta *meta, bool join,
			   bool want_place, struct try_result *res,
			   struct dlock_error *err);
	/*
	 * Blocks until the holder ahead lets go (our turn may have come),
	 * or until; both return 0. A backend whose releases hand the lock
	 * to the first waiter may instead return 0 with the lock ours:
	 * lock->granted, lock->fence, lock->acquired_at (when it came) and
	 * lock->lease_end (the grant's local end) set, and the wait loop is
	 * done.
	 */
	int (*wait)(struct session *s, struct dlock_lock *lock, int64_t until,
		    const struct wait_hooks *hooks, struct dlock_error *err);
	/* Takes us out of the queue; a failure only delays the others. */
	void (*leave)(struct session *s, struct dlock_lock *lock);
	/*
	 * Extends the lease by lock->expiry_ms, sent before deadline. A
	 * connection that broke while idle is replaced first.
	 */
	int (*renew)(struct session *s, struct dlock_lock *lock,
		     int64_t deadline, int cancel_fd,
		     enum renew_result *res, struct dlock_error *err);
	/*
	 * Optional: NULL leaves the lease thread to renew at its ticks only.
	 * Called by the lease thread when the lease starts and after every
	 * renewal that was answered, before deadline, with cancel_fd as for
	 * renew; fills *w. The first call may ask the server who it is (a
	 * server that will not say is no error: then restarted stays false);
	 * later ones only report what the renewals learnt. DLOCK_ECONN:
	 * the connection broke; renew at once.
	 */
	int (*lease_watch)(struct session *s, struct dlock_lock *lock,
			   int64_t deadline, int cancel_fd,
			   struct lease_watch *w, struct dlock_error *err);
	/* Lets go of the lock; *was_ours is false when it was not ours. */
	int (*release)(struct session *s, struct dlock_lock *lock,
		       bool *was_ours, struct dlock_error *err);

	/* The public calls of the same names, on a checked name or glob. */
	int (*status)(struct session *s, const char *name,
		      struct dlock_status **out, struct dlock_error *err);
	int (*list)(struct session *s, const char *glob,
		    struct dlock_status ***out, size_t *count,
		    struct dlock_error *err);
	int (*renew_owner)(struct session *s, const char *name,
			   const char *owner, int64_t ttl_ms,
			   struct dlock_error *err);
	int (*release_owner)(struct session *s, const char *name,
			     const char *owner, struct dlock_error *err);
	int (*force_release)(struct session *s, const char *name,
			     struct dlock_status **evicted,
			     struct dlock_error *err);
	int (*doctor)(const struct dlock_config *cfg, size_t index,
		      struct dlock_doctor_report *report,
		      struct dlock_error *err);
};

/*
 * The backend for resolved settings, from the URL schemes and the number
 * of URLs. Returns 0 with *out, or DLOCK_EUSAGE with a message.
 */
int backend_for(const struct dlock_config *cfg,
		const struct backend_ops **out, struct dlock_error *err);

/* The backend for URL number index alone, as dlock doctor checks it. */
int backend_for_url(const struct dlock_config *cfg, size_t index,
		    const struct backend_ops **out, struct dlock_error *err);

/*
 * Refuses, with DLOCK_EUSAGE, a request that the backend cannot honour
 * (a shared lock where it has no CAP_SHARED, ...). No I/O.
 */
int backend_check_request(const struct backend_ops *ops,
			  const struct dlock_acquire_opts *opts,
			  struct dlock_error *err);

/* True when a failure may pass if the request is tried again later. */
static inline bool error_is_transient(int code)
{
	return code == DLOCK_ECONN;
}

#endif
