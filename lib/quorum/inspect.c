/* SPDX-License-Identifier: MIT */
/*
 * status, list and the by-owner calls on a quorum: each node's own
 * answer (lib/redis/inspect.c, one node after the other, each bounded by
 * its own short deadline), merged so that a holder counts only when a
 * majority shows it.
 */
#include <stdlib.h>
#include <string.h>

#include "quorum.h"

extern const struct backend_ops redis_backend;

/* The exclusive holder a node shows, or NULL for none. */
static const char *holder_of(const struct dlock_status *st)
{
	return st->held && st->nholders == 1 ? st->holders[0].owner : NULL;
}

static bool same_holder(const struct dlock_status *a,
			const struct dlock_status *b)
{
	const char *x = holder_of(a), *y = holder_of(b);

	if (a->held != b->held || a->nholders != b->nholders)
		return false;
	return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

/* Nodes of st[] (of n) that show what st[i] shows. */
static size_t agreeing(struct dlock_status **st, size_t n, size_t i)
{
	size_t agree = 0;

	for (size_t j = 0; j < n; j++)
		agree += st[j] && same_holder(st[i], st[j]);
	return agree;
}

static struct dlock_status *free_status(const char *name, int64_t now)
{
	struct dlock_status *st = calloc(1, sizeof(*st));

	if (st && !(st->name = strdup(name))) {
		free(st);
		return NULL;
	}
	if (st) {
		st->kind = DLOCK_EXCLUSIVE;
		st->server_now_ms = now;
	}
	return st;
}

int quorum_status(struct session *s, const char *name,
		  struct dlock_status **out, struct dlock_error *err)
{
	struct quorum *q = quorum_of(s);
	struct dlock_status *st[QUORUM_MAX_NODES] = { NULL };
	size_t ok = 0, pick = q->n;
	int64_t now = 0;

	fanout_reset(q);
	for (size_t i = 0; i < q->n; i++) {
		struct qnode *nd = &q->nodes[i];

		nd->rc = redis_backend.status(nd->rs, name, &st[i], &nd->err);
		if (nd->rc)
			continue;
		ok++;
		now = st[i]->server_now_ms;
	}
	for (size_t i = 0; i < q->n && pick == q->n; i++)
		if (st[i] && agreeing(st, q->n, i) >= q->majority)
			pick = i;
	*out = NULL;
	if (pick < q->n) {
		*out = st[pick];
		st[pick] = NULL;
	}
	for (size_t i = 0; i < q->n; i++)
		dlock_status_free(st[i]);
	if (ok < q->majority)
		return fanout_no_majority(q, "read the lock", err);
	/* No majority agrees: a split, or a minority; nobody holds it. */
	if (!*out && !(*out = free_status(name, now)))
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	return 0;
}

static int cmp_status(const void *a, const void *b)
{
	const struct dlock_status *x = *(struct dlock_status *const *)a;
	const struct dlock_status *y = *(struct dlock_status *const *)b;

	return strcmp(x->name, y->name);
}

/* Node i's entry for name, or NULL. */
static struct dlock_status *entry(struct dlock_status ***all,
				  const size_t *count, size_t i,
				  const char *name)
{
	for (size_t k = 0; all[i] && k < count[i]; k++)
		if (all[i][k] && strcmp(all[i][k]->name, name) == 0)
			return all[i][k];
	return NULL;
}

/* Moves to out the entries of node i that a majority shows alike. */
static size_t merge_node(struct quorum *q, struct dlock_status ***all,
			 const size_t *count, size_t i,
			 struct dlock_status **out, size_t n)
{
	for (size_t k = 0; k < count[i]; k++) {
		struct dlock_status *mine = all[i][k], *other;
		size_t agree = 0;

		if (!mine)
			continue;
		for (size_t j = 0; j < q->n; j++) {
			other = entry(all, count, j, mine->name);
			agree += other && same_holder(mine, other);
		}
		if (agree < q->majority)
			continue;
		out[n++] = mine;
		/* Taken: the other nodes' copies are dropped. */
		for (size_t j = 0; j < q->n; j++)
			while ((other = entry(all, count, j, out[n - 1]->name)) &&
			       other != mine)
				for (size_t m = 0; m < count[j]; m++)
					if (all[j][m] == other) {
						dlock_status_free(other);
						all[j][m] = NULL;
					}
		all[i][k] = NULL;
	}
	return n;
}

int quorum_list(struct session *s, const char *glob,
		struct dlock_status ***out, size_t *count,
		struct dlock_error *err)
{
	struct quorum *q = quorum_of(s);
	struct dlock_status **all[QUORUM_MAX_NODES] = { NULL };
	size_t counts[QUORUM_MAX_NODES] = { 0 }, ok = 0, total = 0, n = 0;
	struct dlock_status **merged = NULL;
	int rc = 0;

	fanout_reset(q);
	for (size_t i = 0; i < q->n; i++) {
		struct qnode *nd = &q->nodes[i];

		nd->rc = redis_backend.list(nd->rs, glob, &all[i], &counts[i],
					    &nd->err);
		ok += nd->rc == 0;
		total += counts[i];
	}
	if (ok < q->majority)
		rc = fanout_no_majority(q, "list the locks", err);
	else if (total && !(merged = calloc(total, sizeof(*merged))))
		rc = set_error(err, DLOCK_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < q->n; i++)
		n = merge_node(q, all, counts, i, merged, n);
	for (size_t i = 0; i < q->n; i++) {
		for (size_t k = 0; k < counts[i]; k++)
			dlock_status_free(all[i][k]);
		free(all[i]);
	}
	if (rc)
		return rc;
	if (n)
		qsort(merged, n, sizeof(*merged), cmp_status);
	*out = merged;
	*count = n;
	return 0;
}

/*
 * A call on every node that must pass on a majority. When it does not,
 * the answer of the nodes that answered wins over "no majority".
 */
static int on_majority(struct quorum *q, size_t ok, const char *what,
		       struct dlock_error *err)
{
	size_t answered = ok;
	int code = 0;

	if (ok >= q->majority)
		return 0;
	for (size_t i = 0; i < q->n; i++)
		if (q->nodes[i].rc && q->nodes[i].rc != DLOCK_ECONN) {
			answered++;
			if (!code) {
				code = q->nodes[i].rc;
				*err = q->nodes[i].err;
			}
		}
	if (answered >= q->majority && code)
		return code;
	return fanout_no_majority(q, what, err);
}

static int by_owner(struct session *s, bool renew, const char *name,
		    const char *owner, int64_t ttl_ms, struct dlock_error *err)
{
	struct quorum *q = quorum_of(s);
	size_t ok = 0;

	fanout_reset(q);
	for (size_t i = 0; i < q->n; i++) {
		struct qnode *nd = &q->nodes[i];

		nd->rc = renew ? redis_backend.renew_owner(nd->rs, name, owner,
							   ttl_ms, &nd->err) :
			 redis_backend.release_owner(nd->rs, name, owner,
						     &nd->err);
		ok += nd->rc == 0;
	}
	return on_majority(q, ok, renew ? "renew the lease" :
			   "release the lock", err);
}

int quorum_renew_owner(struct session *s, const char *name,
		       const char *owner, int64_t ttl_ms,
		       struct dlock_error *err)
{
	return by_owner(s, true, name, owner, ttl_ms, err);
}

int quorum_release_owner(struct session *s, const char *name,
			 const char *owner, struct dlock_error *err)
{
	return by_owner(s, false, name, owner, 0, err);
}

/* Evicts on every node; the holders reported are the first node's. */
int quorum_force_release(struct session *s, const char *name,
			 struct dlock_status **evicted,
			 struct dlock_error *err)
{
	struct quorum *q = quorum_of(s);
	struct dlock_status *st = NULL;
	size_t ok = 0;
	int rc;

	fanout_reset(q);
	for (size_t i = 0; i < q->n; i++) {
		struct qnode *nd = &q->nodes[i];
		struct dlock_status *one = NULL;

		nd->rc = redis_backend.force_release(nd->rs, name, &one,
						     &nd->err);
		ok += nd->rc == 0;
		if (!st || (one && one->held && !st->held)) {
			dlock_status_free(st);
			st = one;
		} else {
			dlock_status_free(one);
		}
	}
	rc = on_majority(q, ok, "release the lock", err);
	if (rc) {
		dlock_status_free(st);
		return rc;
	}
	*evicted = st;
	return 0;
}
