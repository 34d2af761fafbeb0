/* SPDX-License-Identifier: MIT */
/*
 * A lock as the code above the backend seam sees it: the parts the wait
 * loop, the lease thread and child supervision share. What a backend
 * needs besides (key names, a lease id) hangs off impl.
 */
#ifndef DLOCK_LOCK_H
#define DLOCK_LOCK_H

#include "internal.h"

/* Random bytes in an owner token, which is twice as many hex digits. */
#define OWNER_BYTES 16
/* Room for any backend's owner token and its NUL. */
#define DLOCK_OWNER_MAX 64
/* The longest command line shown to other users. */
#define HOLDER_COMMAND_MAX 1024

struct backend_ops;
/* A backend's own part of a lock. */
struct backend_lock;

struct dlock_lock {
	const struct backend_ops *ops;	/* whose impl this is */
	struct backend_lock *impl;
	char *name;
	char owner[DLOCK_OWNER_MAX];
	char fence[24];
	int mode;		/* DLOCK_EXCLUSIVE, DLOCK_SHARED, DLOCK_LIMIT */
	long limit;		/* DLOCK_LIMIT: the most holders at once */
	bool no_fifo;		/* take it ahead of the queue when free */
	int64_t ttl_ms;
	int64_t expiry_ms;	/* what the server is told: ttl + lock delay */
	/*
	 * CLOCK_MONOTONIC time the acquiring request was sent; the lease runs
	 * out locally at lease_end, before the server can expire it.
	 */
	int64_t acquired_at;
	int64_t lease_end;
	/*
	 * The holder before us handed the lock over: the lease is the
	 * grant's, short, until the first renewal, due once a third of it
	 * is gone.
	 */
	bool granted;
	bool reentrant;
};

/*
 * The local end of a lease whose request was sent at sent_at. It allows for
 * a clock drift of 1% and 2 ms, as Redlock does, and also leaves the
 * command a moment to act on the loss before anyone else can hold the
 * lock: 5% of the lease, at most a second.
 */
static inline int64_t lease_end_from(int64_t sent_at, int64_t ttl_ms)
{
	int64_t reaction = ttl_ms / 20 < 1000 ? ttl_ms / 20 : 1000;

	return sent_at + ttl_ms - ttl_ms / 100 - 2 - reaction;
}

#endif
