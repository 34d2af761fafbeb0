/* SPDX-License-Identifier: MIT */
/*
 * Redis Cluster: each key goes to the master that owns its slot, from the
 * map CLUSTER SLOTS gives. MOVED, ASK, TRYAGAIN and CLUSTERDOWN are
 * followed where the replies come back (conn.c's redirect hook), so the
 * lock operations above never see them. A plain URL stays a direct
 * connection until the first MOVED says the server is in a cluster: a
 * standalone server costs nothing more.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "slot.h"

/* More nodes than any cluster has: a map that names more is refused. */
#define NODES_MAX 1000
/* Back-off between tries of a slot that is migrating or a cluster down. */
#define BACKOFF_FIRST_MS 10
#define BACKOFF_MAX_MS 200

struct node {
	/* What conn uses: a URL of the configuration, or own. */
	const struct url *url;
	/* A discovered node: its own host and display, the seed's secrets. */
	struct url own;
	struct conn *conn;
};

struct cluster {
	struct router base;
	const struct dlock_config *cfg;
	const struct url *seed;
	bool routing;		/* slot routing is on */
	bool stale;		/* ask for the map before the next request */
	bool probed;		/* asked whether a plain URL is a cluster */
	bool moved;		/* a node has answered MOVED */
	/* Never freed while open: a connection handed out stays valid. */
	struct node **nodes;
	size_t nnodes;
	int16_t owner[CLUSTER_SLOTS];	/* node index; -1 unknown */
	size_t masters[NODES_MAX];	/* the nodes that own slots */
	size_t nmasters;
	int backoff_ms;
};

static void node_free(struct node *n)
{
	conn_close(n->conn);
	free(n->own.host);
	free(n->own.display);
	free(n);
}

/* The node at host:port, added with the seed's TLS and credentials. */
static int node_find(struct cluster *cl, const char *host, int port,
		     size_t *index, struct dlock_error *err)
{
	struct node *n, **grown;
	bool v6 = strchr(host, ':') != NULL;

	for (size_t i = 0; i < cl->nnodes; i++) {
		const struct url *u = cl->nodes[i]->url;

		if (u->kind == URL_TCP && u->port == port &&
		    strcmp(u->host, host) == 0) {
			*index = i;
			return 0;
		}
	}
	if (cl->nnodes >= NODES_MAX)
		return set_error(err, DLOCK_ESERVER, "the cluster of %s names "
				 "over %d nodes", cl->seed->display, NODES_MAX);
	n = calloc(1, sizeof(*n));
	grown = realloc(cl->nodes, (cl->nnodes + 1) * sizeof(*cl->nodes));
	if (grown)
		cl->nodes = grown;
	if (!n || !grown)
		goto oom;
	n->own.kind = URL_TCP;
	n->own.tls = cl->seed->tls;
	n->own.port = port;
	n->own.user = cl->seed->user;
	n->own.password = cl->seed->password;
	n->own.host = strdup(host);
	if (!n->own.host ||
	    asprintf(&n->own.display, "%s://%s%s%s:%d",
		     cl->seed->tls ? "rediss" : "redis", v6 ? "[" : "", host,
		     v6 ? "]" : "", port) < 0) {
		n->own.display = NULL;
		goto oom;
	}
	n->url = &n->own;
	cl->nodes[cl->nnodes] = n;
	*index = cl->nnodes++;
	return 0;
oom:
	if (n)
		node_free(n);
	return set_error(err, DLOCK_ENOMEM, "out of memory");
}

static int redirect(void *arg, struct conn *from, const redisReply *r,
		    int64_t deadline, struct conn **next, bool *asking,
		    struct dlock_error *err);

/* Node number i's connection, opened (again) if need be. */
static int node_conn(struct cluster *cl, size_t i, int64_t deadline,
		     struct conn **out, struct dlock_error *err)
{
	struct node *n = cl->nodes[i];
	int64_t connect_by = now_ms() + cl->cfg->connect_timeout_ms;
	int rc;

	/* Only a broken connection is closed: no caller is still on it. */
	if (n->conn && conn_broken(n->conn)) {
		conn_close(n->conn);
		n->conn = NULL;
	}
	if (!n->conn) {
		rc = conn_open_url(cl->cfg, n->url, deadline < connect_by ?
				   deadline : connect_by, &n->conn, err);
		if (rc) {
			cl->stale = cl->routing;
			return rc;
		}
		conn_set_redirect(n->conn, redirect, cl);
	}
	*out = n->conn;
	return 0;
}

static int bad_map(const struct conn *c, const char *why,
		   struct dlock_error *err)
{
	return set_error(err, DLOCK_ESERVER, "malformed CLUSTER SLOTS reply "
			 "from %s: %s; is it a Redis Cluster node?",
			 conn_display(c), why);
}

/* One range of the map: {first, last, {host, port, ...}, replicas...}. */
static int parse_range(struct cluster *cl, const struct conn *from,
		       const char *from_host, const redisReply *e,
		       int16_t *owner, struct dlock_error *err)
{
	const redisReply *m;
	const char *host;
	size_t index;
	int rc;

	if (e->type != REDIS_REPLY_ARRAY || e->elements < 3)
		return bad_map(from, "a range is not an array of 3 or more",
			       err);
	m = e->element[2];
	if (e->element[0]->type != REDIS_REPLY_INTEGER ||
	    e->element[1]->type != REDIS_REPLY_INTEGER ||
	    e->element[0]->integer < 0 ||
	    e->element[0]->integer > e->element[1]->integer ||
	    e->element[1]->integer >= CLUSTER_SLOTS)
		return bad_map(from, "a slot range out of 0-16383", err);
	if (m->type != REDIS_REPLY_ARRAY || m->elements < 2 ||
	    m->element[0]->type != REDIS_REPLY_STRING ||
	    m->element[0]->len > 255 ||
	    strlen(m->element[0]->str) != m->element[0]->len ||
	    m->element[1]->type != REDIS_REPLY_INTEGER ||
	    m->element[1]->integer < 1 || m->element[1]->integer > 65535)
		return bad_map(from, "a master is not {host, port}", err);
	/* Redis says "" or "?" for "the address you reached me on". */
	host = m->element[0]->str;
	if (!*host || strcmp(host, "?") == 0)
		host = from_host;
	rc = node_find(cl, host, (int)m->element[1]->integer, &index, err);
	if (rc)
		return rc;
	for (long long s = e->element[0]->integer;
	     s <= e->element[1]->integer; s++)
		owner[s] = (int16_t)index;
	return 0;
}

/* Takes a whole CLUSTER SLOTS reply, or leaves the old map as it was. */
static int parse_map(struct cluster *cl, const struct conn *from,
		     const char *from_host, const redisReply *r,
		     struct dlock_error *err)
{
	size_t nmasters = 0;
	int rc;

	if (r->type != REDIS_REPLY_ARRAY)
		return bad_map(from, "not an array", err);
	if (r->elements == 0)
		return set_error(err, DLOCK_ECONN, "the cluster of %s has no "
				 "slots assigned yet (CLUSTER SLOTS is empty)",
				 conn_display(from));
	{
		int16_t *fresh = malloc(sizeof(cl->owner));

		if (!fresh)
			return set_error(err, DLOCK_ENOMEM, "out of memory");
		for (size_t s = 0; s < CLUSTER_SLOTS; s++)
			fresh[s] = -1;
		for (size_t i = 0; i < r->elements; i++) {
			rc = parse_range(cl, from, from_host, r->element[i],
					 fresh, err);
			if (rc) {
				free(fresh);
				return rc;
			}
		}
		memcpy(cl->owner, fresh, sizeof(cl->owner));
		free(fresh);
	}
	/* The masters, each once, in the order of their first slot. */
	for (size_t s = 0; s < CLUSTER_SLOTS; s++) {
		size_t i;

		if (cl->owner[s] < 0)
			continue;
		for (i = 0; i < nmasters; i++)
			if (cl->masters[i] == (size_t)cl->owner[s])
				break;
		if (i == nmasters)
			cl->masters[nmasters++] = (size_t)cl->owner[s];
	}
	cl->nmasters = nmasters;
	return 0;
}

/* Sentinel value of ask_map(): the server is no cluster node. */
#define NOT_CLUSTER 1

/* CLUSTER SLOTS from node i. */
static int ask_map(struct cluster *cl, size_t i, int64_t deadline,
		   struct dlock_error *err)
{
	const char *argv[] = { "CLUSTER", "SLOTS" };
	redisReply *r = NULL;
	struct conn *c;
	const struct url *u = cl->nodes[i]->url;
	int rc = node_conn(cl, i, deadline, &c, err);

	if (rc)
		return rc;
	rc = conn_call(c, deadline, -1, 2, argv, NULL, &r, err);
	/*
	 * A plain URL's server that refuses CLUSTER SLOTS (an ACL user
	 * without it, a proxy without the command) and never sent MOVED is
	 * served as a standalone one. Any other error (LOADING, BUSY) says
	 * nothing about what the server is.
	 */
	if (!rc && r->type == REDIS_REPLY_ERROR &&
	    (strstr(r->str, "cluster support disabled") ||
	     (!cl->seed->cluster && !cl->moved &&
	      (strncmp(r->str, "NOPERM", 6) == 0 ||
	       strncmp(r->str, "ERR unknown command", 19) == 0))))
		rc = NOT_CLUSTER;
	else if (!rc)
		rc = reply_error(c, r, "read the cluster's slots", err);
	if (!rc)
		rc = parse_map(cl, c, u->kind == URL_TCP ? u->host :
			       "127.0.0.1", r, err);
	freeReplyObject(r);
	return rc;
}

/*
 * A fresh map from the first node that gives one: those connected first,
 * then the seeds and the others in turn, so a dead seed costs nothing
 * once another node has answered.
 */
static int refresh(struct cluster *cl, int64_t deadline,
		   struct dlock_error *err)
{
	int rc = set_error(err, DLOCK_ECONN, "no cluster node to ask");

	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < cl->nnodes; i++) {
			bool open = cl->nodes[i]->conn &&
				    !conn_broken(cl->nodes[i]->conn);

			if (open != (pass == 0))
				continue;
			rc = ask_map(cl, i, deadline, err);
			if (rc == 0 || rc == NOT_CLUSTER ||
			    rc == DLOCK_EAUTH || rc == DLOCK_ENOMEM)
				goto out;
		}
out:
	if (rc == 0)
		cl->stale = false;
	return rc;
}

/* Turns routing on with a fresh map, or off for a standalone server. */
static int route(struct cluster *cl, int64_t deadline,
		 struct dlock_error *err)
{
	int rc = refresh(cl, deadline, err);

	if (rc == NOT_CLUSTER) {
		if (cl->seed->cluster)
			return set_error(err, DLOCK_ECONFIG, "%s is not a "
					 "cluster node (cluster support "
					 "disabled); use redis://",
					 cl->seed->display);
		cl->routing = cl->stale = false;
		return 0;
	}
	return rc;
}

static int cluster_node_for(struct router *r, const char *key,
			    int64_t deadline, struct conn **out,
			    struct dlock_error *err)
{
	struct cluster *cl = (struct cluster *)r;
	unsigned slot;
	int rc;

	cl->backoff_ms = 0;
	if (cl->routing && cl->stale) {
		rc = route(cl, deadline, err);
		if (rc)
			return rc;
	}
	if (!cl->routing)
		return node_conn(cl, 0, deadline, out, err);
	if (!key || cl->nmasters == 0)
		return node_conn(cl, cl->nmasters ? cl->masters[0] : 0,
				 deadline, out, err);
	slot = redis_key_slot(key, strlen(key));
	if (cl->owner[slot] < 0) {
		cl->stale = true;
		return set_error(err, DLOCK_ECONN, "no master of the cluster "
				 "of %s serves slot %u (of key %s); is the "
				 "cluster down?", cl->seed->display, slot, key);
	}
	return node_conn(cl, (size_t)cl->owner[slot], deadline, out, err);
}

static int cluster_master(struct router *r, size_t i, int64_t deadline,
			  struct conn **out, struct dlock_error *err)
{
	struct cluster *cl = (struct cluster *)r;
	int rc;

	*out = NULL;
	/* SCAN draws no MOVED: ask a plain URL's server what it is. */
	if ((!cl->routing && !cl->probed) || (cl->routing && cl->stale)) {
		cl->probed = cl->routing = true;
		rc = route(cl, deadline, err);
		if (rc)
			return rc;
	}
	if (!cl->routing)
		return i == 0 ? node_conn(cl, 0, deadline, out, err) : 0;
	if (i >= cl->nmasters)
		return 0;
	return node_conn(cl, cl->masters[i], deadline, out, err);
}

static void cluster_drop(struct router *r, struct conn *c)
{
	struct cluster *cl = (struct cluster *)r;

	for (size_t i = 0; c && i < cl->nnodes; i++)
		if (cl->nodes[i]->conn == c) {
			conn_close(c);
			cl->nodes[i]->conn = NULL;
			/* The node may be gone in a failover. */
			cl->stale = cl->routing;
		}
}

static void cluster_close(struct router *r)
{
	struct cluster *cl = (struct cluster *)r;

	for (size_t i = 0; i < cl->nnodes; i++)
		node_free(cl->nodes[i]);
	free(cl->nodes);
	free(cl);
}

static const struct router_ops cluster_ops = {
	.node_for = cluster_node_for,
	.master = cluster_master,
	.drop = cluster_drop,
	.close = cluster_close,
};

/*
 * "MOVED 3999 127.0.0.1:6381" or "ASK ...": the slot and the node. An
 * empty host is the one the reply came from. Returns false for any other
 * text.
 */
static bool parse_redirect(const char *text, const char *from_host,
			   unsigned *slot, char *host, size_t size, int *port)
{
	const char *p = strchr(text, ' '), *addr, *colon;
	char *end;
	unsigned long n;
	long pn;

	if (!p || p[1] < '0' || p[1] > '9')
		return false;
	n = strtoul(p + 1, &end, 10);
	if (n >= CLUSTER_SLOTS || *end != ' ')
		return false;
	addr = end + 1;
	colon = strrchr(addr, ':');
	if (!colon || (size_t)(colon - addr) >= size || colon[1] < '0' ||
	    colon[1] > '9')
		return false;
	pn = strtol(colon + 1, &end, 10);
	if (*end || pn < 1 || pn > 65535)
		return false;
	if (colon == addr)
		snprintf(host, size, "%s", from_host);
	else
		snprintf(host, size, "%.*s", (int)(colon - addr), addr);
	*slot = (unsigned)n;
	*port = (int)pn;
	return true;
}

static const char *host_of(const struct cluster *cl, const struct conn *c)
{
	for (size_t i = 0; i < cl->nnodes; i++)
		if (cl->nodes[i]->conn == c &&
		    cl->nodes[i]->url->kind == URL_TCP)
			return cl->nodes[i]->url->host;
	return "127.0.0.1";
}

/*
 * TRYAGAIN and CLUSTERDOWN pass: the same node again after a back-off,
 * while the deadline allows. While a slot migrates, a script whose keys
 * are not all on one side (a lock's :holders and :kind often do not
 * exist) gets TRYAGAIN from both nodes until the move is complete.
 */
static void try_again(struct cluster *cl, struct conn *from, bool down,
		      int64_t deadline, struct conn **next)
{
	int left = ms_until(deadline);

	cl->backoff_ms = cl->backoff_ms ? cl->backoff_ms * 2 :
			 BACKOFF_FIRST_MS;
	if (cl->backoff_ms > BACKOFF_MAX_MS)
		cl->backoff_ms = BACKOFF_MAX_MS;
	if (left >= 0 && left <= cl->backoff_ms)
		return;
	poll(NULL, 0, cl->backoff_ms);
	if (down && cl->routing)
		cl->stale = true;
	*next = from;
}

static int redirect(void *arg, struct conn *from, const redisReply *r,
		    int64_t deadline, struct conn **next, bool *asking,
		    struct dlock_error *err)
{
	struct cluster *cl = arg;
	bool moved = strncmp(r->str, "MOVED ", 6) == 0;
	bool ask = strncmp(r->str, "ASK ", 4) == 0;
	char host[256];
	unsigned slot;
	size_t index;
	int port, rc;

	if (strncmp(r->str, "TRYAGAIN", 8) == 0 ||
	    strncmp(r->str, "CLUSTERDOWN", 11) == 0) {
		try_again(cl, from, r->str[0] == 'C', deadline, next);
		return 0;
	}
	if ((!moved && !ask) ||
	    !parse_redirect(r->str, host_of(cl, from), &slot, host,
			    sizeof(host), &port))
		return 0;
	rc = node_find(cl, host, port, &index, err);
	if (rc)
		return rc;
	/* The first MOVED says this is a cluster: route from now on. */
	if (moved) {
		cl->moved = true;
		cl->owner[slot] = (int16_t)index;
		cl->stale = true;
		cl->routing = true;
	}
	*asking = ask;
	return node_conn(cl, index, deadline, next, err);
}

/* The seed nodes: a plain URL's server, or every node a cluster URL names. */
static int add_seeds(struct cluster *cl, struct dlock_error *err)
{
	size_t index;
	int rc;

	if (!cl->seed->cluster) {
		cl->nodes = calloc(1, sizeof(*cl->nodes));
		if (cl->nodes)
			cl->nodes[0] = calloc(1, sizeof(**cl->nodes));
		if (!cl->nodes || !cl->nodes[0])
			return set_error(err, DLOCK_ENOMEM, "out of memory");
		cl->nodes[0]->url = cl->seed;
		cl->nnodes = 1;
		return 0;
	}
	for (size_t i = 0; i < cl->seed->nseeds; i++) {
		rc = node_find(cl, cl->seed->seeds[i].host,
			       cl->seed->seeds[i].port, &index, err);
		if (rc)
			return rc;
	}
	cl->routing = cl->stale = true;
	return 0;
}

int router_cluster_open(const struct dlock_config *cfg, size_t index,
			struct router **out, struct dlock_error *err)
{
	struct cluster *cl = calloc(1, sizeof(*cl));
	int rc;

	if (!cl)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	cl->base.ops = &cluster_ops;
	cl->cfg = cfg;
	cl->seed = &cfg->urls[index];
	for (size_t s = 0; s < CLUSTER_SLOTS; s++)
		cl->owner[s] = -1;
	rc = add_seeds(cl, err);
	if (rc) {
		cluster_close(&cl->base);
		return rc;
	}
	*out = &cl->base;
	return 0;
}
