/* SPDX-License-Identifier: MIT */
/* Every key on one server: the connection is opened on first use. */
#include <stdlib.h>

#include "router.h"

struct direct {
	struct router base;
	const struct dlock_config *cfg;
	size_t index;
	struct conn *conn;
};

static int direct_node_for(struct router *r, const char *key,
			   int64_t deadline, struct conn **out,
			   struct dlock_error *err)
{
	struct direct *d = (struct direct *)r;
	int rc;

	(void)key;
	if (!d->conn) {
		rc = conn_open(d->cfg, d->index, deadline, &d->conn, err);
		if (rc)
			return rc;
	}
	*out = d->conn;
	return 0;
}

static int direct_master(struct router *r, size_t i, int64_t deadline,
			 struct conn **out, struct dlock_error *err)
{
	*out = NULL;
	return i == 0 ? direct_node_for(r, NULL, deadline, out, err) : 0;
}

static void direct_drop(struct router *r, struct conn *c)
{
	struct direct *d = (struct direct *)r;

	if (c && c == d->conn) {
		conn_close(d->conn);
		d->conn = NULL;
	}
}

static void direct_close(struct router *r)
{
	struct direct *d = (struct direct *)r;

	conn_close(d->conn);
	free(d);
}

static const struct router_ops direct_ops = {
	.node_for = direct_node_for,
	.master = direct_master,
	.drop = direct_drop,
	.close = direct_close,
};

int router_direct_open(const struct dlock_config *cfg, size_t index,
		       struct router **out, struct dlock_error *err)
{
	struct direct *d = calloc(1, sizeof(*d));

	if (!d)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	d->base.ops = &direct_ops;
	d->cfg = cfg;
	d->index = index;
	*out = &d->base;
	return 0;
}
