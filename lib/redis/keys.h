/* SPDX-License-Identifier: MIT */
/*
 * The key schema, written down once. Keys of lock NAME share the hash tag
 * {NAME}, so Redis Cluster keeps them in one slot:
 *   <prefix>{NAME}                 exclusive holder's owner token, with PX
 *                                  (the single-key format of redis-py and
 *                                  redsync, so they exclude each other);
 *                                  "dlock:shared" while shared or counting
 *                                  holders have it
 *   <prefix>{NAME}:fence           fencing counter
 *   <prefix>{NAME}:epoch           master_replid the counter was last
 *                                  increased under (Sentinel)
 *   <prefix>{NAME}:holders         shared or counting holders (sorted set
 *                                  scored by lease end, server ms)
 *   <prefix>{NAME}:kind            hash: kind "s" or "l", limit
 *   <prefix>{NAME}:holder:<owner>  holder metadata (hash), expires with it
 *   <prefix>{NAME}:queue           waiters' "<mode><owner>" in arrival order
 *   <prefix>{NAME}:waiters         waiter -> heartbeat deadline, server ms
 *   <prefix>{NAME}:w:<owner>       a waiter's wake-up list (BLPOP)
 *   <prefix>{NAME}:waiter:<owner>  waiter metadata (hash: host, pid, user,
 *                                  cmd, since), expires with its heartbeat
 */
#ifndef DLOCK_REDIS_KEYS_H
#define DLOCK_REDIS_KEYS_H

#include "internal.h"

struct redis_keys {
	char *lock;
	char *fence;
	char *epoch;
	char *holders;
	char *kind;
	char *queue;
	char *waiters;
	char *holder;		/* NULL when made without an owner */
	char *wake;		/* NULL when made without an owner */
	char *waiter;		/* NULL when made without an owner */
};

/*
 * Names the keys of lock name under prefix; those of one owner too when
 * owner is not NULL. Returns 0 or DLOCK_ENOMEM.
 */
int redis_keys_init(struct redis_keys *k, const char *prefix, const char *name,
		    const char *owner, struct dlock_error *err);
void redis_keys_clear(struct redis_keys *k);

/* The SCAN pattern for the locks whose names match glob. */
char *redis_keys_pattern(const char *prefix, const char *glob);

/* The lock name of a lock's main key, or NULL for any other key. */
char *redis_keys_name_of(const char *key, const char *prefix);

#endif
