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

#endif
