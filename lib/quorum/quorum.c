/* SPDX-License-Identifier: MIT */
/*
 * Quorum mode behind the backend seam: take, renew and release on a
 * majority of independent Redis masters, with a fencing token that grows
 * across holders whichever majority grants the lock.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quorum.h"

extern const struct backend_ops redis_backend;

static void quorum_session_close(struct session *s)
{
	struct quorum *q = quorum_of(s);

	if (!q)
		return;
	fanout_reset(q);
	for (size_t i = 0; i < q->n; i++)
		if (q->nodes[i].rs)
			redis_backend.session_close(q->nodes[i].rs);
	free(q->nodes);
	free(q);
}

static int quorum_session_open(const struct dlock_config *cfg,
			       struct session **out, struct dlock_error *err)
{
	struct quorum *q = calloc(1, sizeof(*q));
	int rc = 0;

	if (!q)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	q->cfg = cfg;
	q->n = cfg->nurls;
	q->majority = q->n / 2 + 1;
	q->nodes = calloc(q->n, sizeof(*q->nodes));
	if (!q->nodes) {
		free(q);
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < q->n && !rc; i++) {
		struct qnode *nd = &q->nodes[i];

		/* Each node is a one-server Redis session on its own URL. */
		nd->cfg = *cfg;
		nd->cfg.urls = &cfg->urls[i];
		nd->cfg.url_texts = &cfg->url_texts[i];
		nd->cfg.nurls = 1;
		/* What a node's status or list may take: a frozen one. */
		if (nd->cfg.connect_timeout_ms > NODE_MS_MOST)
			nd->cfg.connect_timeout_ms = NODE_MS_MOST;
		nd->display = cfg->urls[i].display;
		rc = redis_backend.session_open(&nd->cfg, &nd->rs, err);
	}
	if (rc) {
		quorum_session_close((struct session *)(void *)q);
		return rc;
	}
	*out = (struct session *)(void *)q;
	return 0;
}

static int quorum_connect(struct session *s, struct dlock_error *err)
{
	struct quorum *q = quorum_of(s);
	const char *ping[] = { "PING" };
	int answered;

	fanout_ask_all(q, NULL, 1, ping, "answer PING");
	/* A frozen node must not hold up a majority that answered. */
	answered = fanout(q, now_ms() + quorum_node_ms(q, NODE_MS_MOST * 10),
			  -1);
	if ((size_t)answered < q->majority)
		return fanout_no_majority(q, "be reached", err);
	return 0;
}

static bool quorum_reached(const struct session *s)
{
	return ((const struct quorum *)(const void *)s)->reached;
}

static int quorum_lock_init(struct session *s, struct dlock_lock *lock,
			    struct dlock_error *err)
{
	struct quorum *q = quorum_of(s);
	struct quorum_lock *impl = calloc(1, sizeof(*impl));
	int rc;

	if (!impl)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	rc = redis_keys_init(&impl->keys, q->cfg->prefix, lock->name,
			     lock->owner, err);
	if (rc) {
		free(impl);
		return rc;
	}
	impl->backoff_ms = BACKOFF_FIRST_MS;
	lock->impl = (struct backend_lock *)(void *)impl;
	return 0;
}

static void quorum_lock_free(struct backend_lock *b)
{
	struct quorum_lock *impl = (struct quorum_lock *)(void *)b;

	redis_keys_clear(&impl->keys);
	free(impl);
}

/* Only an exclusive lock can be held here: -s is refused (caps). */
static int quorum_held_by(struct session *s, const struct dlock_lock *lock,
			  const char *owner, enum holding *how,
			  struct dlock_error *err)
{
	struct quorum *q = quorum_of(s);
	const char *get[] = { "GET", qlock_of(lock)->keys.lock };
	size_t match = 0;
	int answered;

	*how = HOLDS_NOTHING;
	fanout_ask_all(q, NULL, 2, get, "read the lock");
	/* A frozen node must not hold up a majority that answered. */
	answered = fanout(q, now_ms() + quorum_node_ms(q, NODE_MS_MOST * 10),
			  -1);
	for (size_t i = 0; i < q->n; i++) {
		const redisReply *r = q->nodes[i].reply;

		match += r && r->type == REDIS_REPLY_STRING &&
			 strcmp(r->str, owner) == 0;
	}
	fanout_clear(q);
	if ((size_t)answered < q->majority)
		return fanout_no_majority(q, "read the lock", err);
	if (match >= q->majority)
		*how = HOLDS_EXCLUSIVE;
	return 0;
}

/* Sleeps until until, ticking, unless canceled: a split's back-off. */
static int sleep_until(int64_t until, const struct wait_hooks *hooks,
		       struct dlock_error *err)
{
	struct pollfd pfd = { .fd = hooks->cancel_fd, .events = POLLIN };
	int64_t next_tick = now_ms() + hooks->tick_ms;

	for (;;) {
		int64_t wake = until;

		if (now_ms() >= until)
			return 0;
		if (hooks->tick && next_tick < wake)
			wake = next_tick;
		if (poll(&pfd, hooks->cancel_fd >= 0, ms_until(wake)) > 0)
			return set_error(err, DLOCK_ECANCELED, "canceled");
		if (hooks->tick && now_ms() >= next_tick) {
			hooks->tick(hooks->tick_arg);
			next_tick = now_ms() + hooks->tick_ms;
		}
	}
}

/*
 * Blocks on our wake-up list on every node at once (BLPOP) until one of
 * them wakes us, until until, or until canceled. After a split, sleeps
 * out the back-off instead: no wake-up is due then. A node that fails
 * only goes unheard; the next try says what is wrong.
 */
static int quorum_wait(struct session *s, struct dlock_lock *lock,
		       int64_t until, const struct wait_hooks *hooks,
		       struct dlock_error *err)
{
	struct quorum *q = quorum_of(s);
	int64_t left = until - now_ms();
	char timeout[32];
	const char *argv[] = { "BLPOP", qlock_of(lock)->keys.wake, timeout };
	struct fanout_opts o = {
		.connect_by = now_ms() + quorum_node_ms(q, lock->ttl_ms),
		.cancel_fd = hooks->cancel_fd,
		.enough = 1,
		.hooks = hooks,
	};
	int rc;

	if (left <= 0)
		return 0;
	if (qlock_of(lock)->grab_next)
		return sleep_until(until, hooks, err);
	/* BLPOP's own time-out ends the wait; ours is a safety net. */
	snprintf(timeout, sizeof(timeout), "%lld.%03lld",
		 (long long)(left / 1000), (long long)(left % 1000));
	fanout_ask_all(q, NULL, 3, argv, "wait for the lock (BLPOP)");
	rc = fanout_ex(q, until + quorum_node_ms(q, lock->ttl_ms), &o);
	fanout_clear(q);
	if (rc == DLOCK_ECANCELED)
		return set_error(err, rc, "canceled");
	/*
	 * No node could block for us (all refused at once, or one before
	 * Redis 6 refused a fractional time-out): wait out the time anyway,
	 * or the wait loop would spin.
	 */
	if (rc == 0)
		return sleep_until(until, hooks, err);
	return 0;
}

/* Takes us out of every node's queue; a failure only delays the others. */
static void quorum_leave(struct session *s, struct dlock_lock *lock)
{
	struct quorum *q = quorum_of(s);
	struct script_call sc = { 0 };

	leave_args(&qlock_of(lock)->keys, lock->owner, 'x', &sc);
	fanout_ask_all(q, &sc, 0, NULL, "leave the queue");
	fanout(q, now_ms() + quorum_node_ms(q, lock->ttl_ms), -1);
	fanout_clear(q);
}

const struct backend_ops quorum_backend = {
	.version = BACKEND_OPS_VERSION,
	.name = "quorum",
	/* Waiters queue on every node; FIFO is exact only when they agree. */
	.caps = CAP_LOCK_DELAY | CAP_MONOTONIC_FENCE,
	.session_open = quorum_session_open,
	.session_close = quorum_session_close,
	.connect = quorum_connect,
	.reached = quorum_reached,
	.lock_init = quorum_lock_init,
	.lock_free = quorum_lock_free,
	.held_by = quorum_held_by,
	.try_acquire = quorum_try_acquire,
	.wait = quorum_wait,
	.leave = quorum_leave,
	.renew = quorum_renew,
	.release = quorum_release,
	.status = quorum_status,
	.list = quorum_list,
	.renew_owner = quorum_renew_owner,
	.release_owner = quorum_release_owner,
	.force_release = quorum_force_release,
	.doctor = quorum_doctor,
};
