/* SPDX-License-Identifier: MIT */
/*
 * One request to every node at once: connect where needed, send all,
 * then one poll loop over the N non-blocking connections until each has
 * answered or the per-node deadline has passed.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "quorum.h"

int64_t quorum_node_ms(const struct quorum *q, int64_t ttl_ms)
{
	/* Small against the lease (Redlock: a tenth), yet not a hair. */
	int64_t ms = ttl_ms / 10, most = q->cfg->connect_timeout_ms;

	if (most > NODE_MS_MOST)
		most = NODE_MS_MOST;
	if (ms > most)
		ms = most;
	return ms < 50 ? 50 : ms;
}

void fanout_reset(struct quorum *q)
{
	for (size_t i = 0; i < q->n; i++) {
		struct qnode *nd = &q->nodes[i];

		freeReplyObject(nd->reply);
		nd->reply = NULL;
		nd->active = false;
		nd->eval = false;
		nd->sc = NULL;
		nd->argc = 0;
		nd->c = NULL;
		nd->rc = 0;
		nd->err.code = 0;
		nd->err.msg[0] = '\0';
	}
}

/* Marks every node active for the request sc (or argv) named what. */
void fanout_ask_all(struct quorum *q, const struct script_call *sc,
		    int argc, const char **argv, const char *what)
{
	fanout_reset(q);
	for (size_t i = 0; i < q->n; i++) {
		struct qnode *nd = &q->nodes[i];

		nd->active = true;
		nd->sc = sc;
		nd->argc = argc;
		for (int j = 0; j < argc; j++)
			nd->argv[j] = argv[j];
		nd->what = what;
	}
}

void fanout_clear(struct quorum *q)
{
	fanout_reset(q);
}

/* Queues the node's request on its connection and sends what it can. */
static int node_start(struct qnode *nd)
{
	const char *argv[32];
	char numkeys[12];
	int argc = nd->argc;
	int rc;

	if (nd->sc) {
		argc = script_argv(nd->sc->script, nd->eval, nd->sc->nkeys,
				   nd->sc->keys, nd->sc->nargs, nd->sc->args,
				   argv, (int)ARRAY_SIZE(argv), numkeys);
		if (argc < 0)
			return set_error(&nd->err, DLOCK_EUSAGE,
					 "too many script arguments");
	} else {
		memcpy(argv, nd->argv, (size_t)argc * sizeof(*argv));
	}
	rc = conn_start(nd->c, argc, argv, NULL, &nd->err);
	return rc;
}

/* The node's request ended with rc and reply r, which it keeps or frees. */
static void node_end(struct qnode *nd, int rc, redisReply *r)
{
	nd->rc = session_done(nd->rs, nd->c, rc, r, nd->what, &nd->err);
	nd->c = NULL;
	if (nd->rc)
		freeReplyObject(r);
	else
		nd->reply = r;
	nd->active = false;
}

/* Moves the node on after a poll event; false while it waits for more. */
static bool node_step(struct qnode *nd)
{
	redisReply *r = NULL;
	int rc = conn_advance(nd->c, &r, &nd->err);

	if (!rc && !r)
		return false;
	if (!rc && nd->sc && !nd->eval && script_missing(r)) {
		/* The server lacks our script: send its text once. */
		freeReplyObject(r);
		r = NULL;
		nd->eval = true;
		rc = node_start(nd);
		if (!rc)
			return node_step(nd);
	}
	node_end(nd, rc, r);
	return true;
}

/* Connects (before deadline) and sends; false when the node is done. */
static bool node_open(struct qnode *nd, int64_t deadline)
{
	int rc = session_node(nd->rs, NULL, deadline, &nd->c, &nd->err);

	if (rc) {
		nd->rc = rc;
		nd->c = NULL;
		nd->active = false;
		return false;
	}
	rc = node_start(nd);
	if (rc) {
		session_drop(nd->rs, nd->c);
		nd->c = NULL;
		nd->rc = rc;
		nd->active = false;
		return false;
	}
	return !node_step(nd);
}

/* Gives up on nodes still waiting: their connections are out of step. */
static void abandon(struct qnode *nd, int code, int64_t ms)
{
	conn_abandon(nd->c);
	session_drop(nd->rs, nd->c);
	nd->c = NULL;
	nd->active = false;
	if (code == DLOCK_ECANCELED)
		nd->rc = set_error(&nd->err, code, "canceled");
	else if (ms < 0)
		nd->rc = set_error(&nd->err, DLOCK_ECONN, "%s: not waited "
				   "for", nd->display);
	else
		nd->rc = set_error(&nd->err, DLOCK_ECONN, "%s did not answer "
				   "within %lld ms", nd->display,
				   (long long)ms);
}

static int count_answers(const struct quorum *q)
{
	int n = 0;

	for (size_t i = 0; i < q->n; i++)
		n += q->nodes[i].rc == 0 && q->nodes[i].reply;
	return n;
}

/* The active nodes' descriptors, and the cancel one after them. */
static nfds_t gather_fds(struct quorum *q, struct pollfd *pfd,
			 struct qnode **who, int cancel_fd)
{
	nfds_t n = 0;

	for (size_t i = 0; i < q->n; i++) {
		if (!q->nodes[i].active)
			continue;
		who[n] = &q->nodes[i];
		pfd[n].fd = conn_fd(q->nodes[i].c);
		pfd[n].events = conn_events(q->nodes[i].c);
		pfd[n++].revents = 0;
	}
	pfd[n].fd = cancel_fd;
	pfd[n].events = POLLIN;
	pfd[n].revents = 0;
	return n;
}

/* How long poll() may sleep: until the deadline or the next tick. */
static int poll_timeout(int64_t deadline, const struct fanout_opts *o,
			int64_t *next_tick)
{
	if (o->hooks && o->hooks->tick && now_ms() >= *next_tick) {
		o->hooks->tick(o->hooks->tick_arg);
		*next_tick = now_ms() + o->hooks->tick_ms;
	}
	if (o->hooks && o->hooks->tick && *next_tick < deadline)
		return ms_until(*next_tick);
	return ms_until(deadline);
}

int fanout_ex(struct quorum *q, int64_t deadline, const struct fanout_opts *o)
{
	struct pollfd pfd[QUORUM_MAX_NODES + 1];
	struct qnode *who[QUORUM_MAX_NODES];
	int64_t started = now_ms(), next_tick = started;
	int cancel_fd = o->cancel_fd, answered;

	if (o->hooks && o->hooks->tick)
		next_tick += o->hooks->tick_ms;
	for (size_t i = 0; i < q->n; i++)
		if (q->nodes[i].active &&
		    !node_open(&q->nodes[i], o->connect_by < deadline ?
			       o->connect_by : deadline))
			q->nodes[i].active = false;
	for (;;) {
		nfds_t n = gather_fds(q, pfd, who, cancel_fd);
		int rc, code;

		if (n == 0 || (size_t)count_answers(q) >= o->enough) {
			for (nfds_t j = 0; j < n; j++)
				abandon(who[j], DLOCK_ECONN, -1);
			break;
		}
		rc = poll(pfd, n + (cancel_fd >= 0),
			  poll_timeout(deadline, o, &next_tick));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0 && now_ms() < deadline)
			continue;	/* a tick */
		if (rc <= 0 || (cancel_fd >= 0 && pfd[n].revents)) {
			code = rc > 0 ? DLOCK_ECANCELED : DLOCK_ECONN;
			for (nfds_t j = 0; j < n; j++)
				abandon(who[j], code, now_ms() - started);
			if (code == DLOCK_ECANCELED)
				return code;
			break;
		}
		for (nfds_t j = 0; j < n; j++)
			if (pfd[j].revents)
				node_step(who[j]);
	}
	answered = count_answers(q);
	if ((size_t)answered >= q->majority)
		q->reached = true;
	return answered;
}

int fanout(struct quorum *q, int64_t deadline, int cancel_fd)
{
	const struct fanout_opts o = {
		.connect_by = deadline,
		.cancel_fd = cancel_fd,
		.enough = q->n,
	};

	return fanout_ex(q, deadline, &o);
}

int fanout_no_majority(const struct quorum *q, const char *what,
		       struct dlock_error *err)
{
	char buf[DLOCK_ERRMSG_MAX];
	size_t len;

	len = (size_t)snprintf(buf, sizeof(buf), "no majority of the %zu "
			       "servers (%zu needed) could %s:", q->n,
			       q->majority, what);
	for (size_t i = 0; i < q->n && len < sizeof(buf); i++) {
		const struct qnode *nd = &q->nodes[i];

		if (nd->rc == 0)
			continue;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, " %s%s",
					nd->err.msg[0] ? nd->err.msg :
					nd->display, i + 1 < q->n ? ";" : "");
	}
	return set_error(err, DLOCK_ECONN, "%s", buf);
}
