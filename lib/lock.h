/* SPDX-License-Identifier: MIT */
/* The parts of a held lock that the lease thread shares. */
#ifndef DLOCK_LOCK_H
#define DLOCK_LOCK_H

#include "internal.h"

#define OWNER_BYTES 16

struct dlock_lock {
	char *name;
	char *key;		/* <prefix>{NAME} */
	char *holder_key;	/* <prefix>{NAME}:holder:<owner> */
	char *wake_key;		/* <prefix>{NAME}:w:<owner> */
	char *fence_key;	/* <prefix>{NAME}:fence */
	char *queue_key;	/* <prefix>{NAME}:queue */
	char *waiters_key;	/* <prefix>{NAME}:waiters */
	char *holders_key;	/* <prefix>{NAME}:holders */
	char *kind_key;		/* <prefix>{NAME}:kind */
	char mode[2];		/* "x", "s" or "l", as the scripts name it */
	char limit[24];
	char owner[2 * OWNER_BYTES + 1];
	char fence[24];
	int64_t ttl_ms;
	int64_t expiry_ms;	/* what the server is told: ttl + lock delay */
	/*
	 * CLOCK_MONOTONIC time the acquiring request was sent; the lease runs
	 * out locally at lease_end, before the server can expire it.
	 */
	int64_t acquired_at;
	int64_t lease_end;
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
