/* SPDX-License-Identifier: MIT */
/*
 * Which server a key lives on. Today one direct node; Sentinel (the
 * master the sentinels name) and Cluster (the node that owns the key's
 * slot) implement the same table, and nothing that calls it changes.
 */
#ifndef DLOCK_REDIS_ROUTER_H
#define DLOCK_REDIS_ROUTER_H

#include "conn.h"

struct router;

/* What a router learned of a master when it connected to it. */
struct node_info {
	/*
	 * master_replid: a failover (or a restart without the data) gives
	 * the master a new one, which starts a new fencing epoch. "" when
	 * unknown.
	 */
	char replid[48];
	long long replicas;	/* connected and in sync; -1 when unknown */
	long long known_replicas;	/* up, as the sentinels see it */
};

struct router_ops {
	/*
	 * The connection for key, connected and authenticated before
	 * deadline. It stays the router's.
	 */
	int (*node_for)(struct router *r, const char *key, int64_t deadline,
			struct conn **out, struct dlock_error *err);
	/*
	 * The connection to master number i (from 0), for a request that
	 * must see every master, such as a listing; *out NULL past the
	 * last. A router that tells masters apart by asking the server
	 * does so before deadline.
	 */
	int (*master)(struct router *r, size_t i, int64_t deadline,
		      struct conn **out, struct dlock_error *err);
	/* A request on c failed or left it out of step: forget c. */
	void (*drop)(struct router *r, struct conn *c);
	void (*close)(struct router *r);
	/* What is known of c's server; NULL op or result: nothing. */
	const struct node_info *(*info)(struct router *r,
					const struct conn *c);
};

struct router {
	const struct router_ops *ops;
};

/* A router to the one server at URL number index. No I/O. */
int router_direct_open(const struct dlock_config *cfg, size_t index,
		       struct router **out, struct dlock_error *err);

/*
 * A router for URL number index, a cluster node or not: every key goes to
 * that server until it answers MOVED, which turns on slot routing (the map
 * from CLUSTER SLOTS). A redis+cluster:// URL routes from the start, asking
 * its seed nodes in turn. No I/O.
 */
int router_cluster_open(const struct dlock_config *cfg, size_t index,
			struct router **out, struct dlock_error *err);

/*
 * A router to the master that the sentinels of URL number index name,
 * found again on every reconnect. No I/O.
 */
int router_sentinel_open(const struct dlock_config *cfg, size_t index,
			 struct router **out, struct dlock_error *err);

/*
 * Reads field key of the text of an INFO reply into buf, cut to size.
 * Returns whether it was there; buf is left as it was when it is not.
 */
bool info_field(const char *info, const char *key, char *buf, size_t size);

#endif
