/* SPDX-License-Identifier: MIT */
/*
 * Take, renew and release on a majority (Redlock). The local lease end
 * is counted from before the first request was sent; the lock is ours
 * only when a majority took it and the time spent leaves some of the
 * lease; whatever fails is released on every node, answered or not.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quorum.h"

/* The nodes' answers to one acquire request, counted. */
struct tally {
	size_t taken, busy, other;
	long long fence_max;
	int busy_pick;		/* the busy node whose holder most agree on */
	size_t busy_agree;	/* how many busy nodes name that holder */
	bool took[QUORUM_MAX_NODES];
	bool busy_at[QUORUM_MAX_NODES];	/* answered busy: queued there */
	bool answered[QUORUM_MAX_NODES];
	struct try_result res[QUORUM_MAX_NODES];
};

/* A reply of the wrong shape counts as that node failing. */
static void bad_reply(struct qnode *nd)
{
	freeReplyObject(nd->reply);
	nd->reply = NULL;
	nd->rc = set_error(&nd->err, DLOCK_ESERVER, "%s: unexpected reply to "
			   "%s; is the key prefix shared with something "
			   "else?", nd->display, nd->what);
}

/* Picks the busy answer whose holder the most busy nodes name. */
static void pick_busy(struct quorum *q, struct tally *t)
{
	size_t best = 0;

	for (size_t i = 0; i < q->n; i++) {
		size_t agree = 0;

		if (!q->nodes[i].reply || t->res[i].outcome != TRY_BUSY)
			continue;
		for (size_t j = 0; j < q->n; j++)
			agree += q->nodes[j].reply &&
				 t->res[j].outcome == TRY_BUSY &&
				 strcmp(t->res[j].owner, t->res[i].owner) == 0;
		if (agree > best) {
			best = agree;
			t->busy_pick = (int)i;
		}
	}
	t->busy_agree = best;
}

/* Counts node i's answer to a take, if any, into t. */
static void count_node(struct quorum *q, struct dlock_lock *lock,
		       struct tally *t, size_t i)
{
	struct qnode *nd = &q->nodes[i];

	if (!nd->reply)
		return;
	if (redis_acquire_reply(nd->reply, lock, &t->res[i]) < 0) {
		bad_reply(nd);
		return;
	}
	t->answered[i] = true;
	if (t->res[i].outcome == TRY_TAKEN) {
		long long f = nd->reply->element[1]->integer;

		t->taken++;
		t->took[i] = true;
		if (f > t->fence_max)
			t->fence_max = f;
	} else if (t->res[i].outcome == TRY_BUSY) {
		t->busy++;
		t->busy_at[i] = true;
	} else {
		t->other++;
	}
}

static void count_acquire(struct quorum *q, struct dlock_lock *lock,
			  struct tally *t)
{
	memset(t, 0, sizeof(*t));
	t->busy_pick = -1;
	for (size_t i = 0; i < q->n; i++)
		count_node(q, lock, t, i);
	pick_busy(q, t);
}

/*
 * A release reaches the nodes one after the other, so a waiter woken by
 * the first can find the lock still held on the others. Before calling
 * that a split (and giving up our place), ask those nodes again, twice
 * at most, a few milliseconds apart: all within the lease's validity,
 * which counts from the first request.
 */
static void ask_busy_again(struct quorum *q, struct dlock_lock *lock,
			   const struct script_call *sc, struct tally *t)
{
	for (int round = 0; round < 2 && t->taken > 0 &&
	     t->taken < q->majority && t->taken + t->busy >= q->majority;
	     round++) {
		bool again[QUORUM_MAX_NODES] = { false };

		poll(NULL, 0, 5);
		fanout_ask_all(q, sc, 0, NULL, "run the acquire script");
		for (size_t i = 0; i < q->n; i++)
			q->nodes[i].active = again[i] = t->busy_at[i];
		fanout(q, now_ms() + quorum_node_ms(q, lock->ttl_ms), -1);
		for (size_t i = 0; i < q->n; i++) {
			if (!again[i] || !q->nodes[i].reply)
				continue;
			t->busy--;
			t->busy_at[i] = false;
			count_node(q, lock, t, i);
		}
		pick_busy(q, t);
	}
}

/*
 * Releases on every node that did not answer "busy" to the last take:
 * those that took it, and those that did not answer, which may have.
 */
static void release_unsure(struct quorum *q, struct dlock_lock *lock,
			   const struct tally *t)
{
	bool sure[QUORUM_MAX_NODES] = { false };
	struct script_call sc = { 0 };
	int64_t node_ms = quorum_node_ms(q, lock->ttl_ms);

	for (size_t i = 0; i < q->n; i++)
		sure[i] = t->busy_at[i];
	release_args(&qlock_of(lock)->keys, lock->owner, 'x', &sc);
	fanout_ask_all(q, &sc, 0, NULL, "run the release script");
	for (size_t i = 0; i < q->n; i++)
		q->nodes[i].active = !sure[i];
	fanout(q, now_ms() + node_ms, -1);
	fanout_clear(q);
}

/*
 * Writes the largest counter the granting majority had back to the nodes
 * that answered the take (one that did not is likely frozen, and would
 * cost its whole deadline again); a majority must take it. Any later
 * majority shares a node with this one, so its counters start here.
 */
static int write_fence(struct quorum *q, struct dlock_lock *lock,
		       long long token, const bool *answered,
		       struct dlock_error *err)
{
	char text[24];
	struct script_call sc = { 0 };
	size_t ok = 0;

	snprintf(text, sizeof(text), "%lld", token);
	fence_raise_args(&qlock_of(lock)->keys, text, &sc);
	fanout_ask_all(q, &sc, 0, NULL, "write the fencing token back");
	for (size_t i = 0; i < q->n; i++)
		q->nodes[i].active = answered[i];
	fanout(q, now_ms() + quorum_node_ms(q, lock->ttl_ms), -1);
	for (size_t i = 0; i < q->n; i++) {
		struct qnode *nd = &q->nodes[i];

		if (!nd->reply)
			continue;
		if (nd->reply->type != REDIS_REPLY_INTEGER ||
		    nd->reply->integer < token)
			bad_reply(nd);
		else
			ok++;
	}
	if (ok < q->majority)
		return fanout_no_majority(q, "store the fencing token", err);
	snprintf(lock->fence, sizeof(lock->fence), "%lld", token);
	return 0;
}

/* A randomised back-off, so that a split does not repeat in step. */
static int64_t next_backoff(struct quorum_lock *impl)
{
	int64_t base = impl->backoff_ms;
	char hex[3] = "80";
	long r;

	random_hex(hex, 1, NULL);
	r = strtol(hex, NULL, 16);
	impl->backoff_ms = base * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
			   base * 2;
	return base / 2 + (base * r) / 255;
}

/*
 * The lock is not ours: say who has it, and when to look again. When
 * some nodes gave it to us but not a majority (the nodes' queues do not
 * agree on whose turn it is, or contenders raced for a free lock), that
 * is a split: after a randomised back-off the next try takes a free lock
 * whatever the queues say, so that one of the contenders wins the next
 * round. Otherwise we wait in the queues to be woken.
 */
static int busy(struct quorum *q, struct dlock_lock *lock,
		const struct tally *t, struct try_result *res)
{
	struct quorum_lock *ql = qlock_of(lock);

	if (t->busy_pick >= 0)
		*res = t->res[t->busy_pick];
	else
		memset(res, 0, sizeof(*res));
	res->outcome = TRY_BUSY;
	/* Someone else's holder on a minority is not "held by". */
	if (t->busy_agree < q->majority)
		res->has_owner = false;
	ql->grab_next = t->taken > 0;
	if (ql->grab_next || t->busy_pick < 0) {
		res->look_again_ms = next_backoff(ql);
		return 0;
	}
	/* The back-off grows over splits in a row only. */
	ql->backoff_ms = BACKOFF_FIRST_MS;
	if (res->look_again_ms < 0)
		res->look_again_ms = 0;
	return 0;
}

/*
 * Ours on a majority: our place in the queue of every other node goes,
 * or it would stand at the head there after we let go (the release of a
 * node that did not grant the lock wakes nobody) until our heartbeat ran
 * out, and hold up every waiter behind it.
 */
static void leave_others(struct quorum *q, struct dlock_lock *lock,
			 const struct tally *t)
{
	struct script_call sc = { 0 };

	if (!t->busy)
		return;
	leave_args(&qlock_of(lock)->keys, lock->owner, 'x', &sc);
	fanout_ask_all(q, &sc, 0, NULL, "leave the queue");
	for (size_t i = 0; i < q->n; i++)
		q->nodes[i].active = t->busy_at[i];
	fanout(q, now_ms() + quorum_node_ms(q, lock->ttl_ms), -1);
	fanout_clear(q);
}

/* Took it on a majority: fence, then see that the lease is still good. */
static int finish_take(struct quorum *q, struct dlock_lock *lock,
		       int64_t sent_at, const struct tally *t,
		       struct try_result *res, struct dlock_error *err)
{
	int rc = write_fence(q, lock, t->fence_max, t->answered, err);
	int64_t spent = now_ms() - sent_at;

	/*
	 * Redlock's validity is lease - elapsed - drift; we also keep the
	 * reaction margin of the local end, or the lease would be lost at
	 * once.
	 */
	if (!rc && now_ms() >= lease_end_from(sent_at, lock->ttl_ms))
		rc = set_error(err, DLOCK_ECONN, "took lock '%s' on a majority "
			       "but only after %lld ms of its %lld ms lease, "
			       "too late to be safe; the servers answer too "
			       "slowly for this --ttl", lock->name,
			       (long long)spent, (long long)lock->ttl_ms);
	if (rc) {
		struct tally none = { 0 };

		fanout_reset(q);
		release_unsure(q, lock, &none);
		return rc;
	}
	leave_others(q, lock, t);
	qlock_of(lock)->backoff_ms = BACKOFF_FIRST_MS;
	qlock_of(lock)->grab_next = false;
	qlock_of(lock)->valid_until = lease_end_from(sent_at, lock->ttl_ms);
	res->outcome = TRY_TAKEN;
	return 0;
}

int quorum_try_acquire(struct session *s, struct dlock_lock *lock,
		       const struct holder_meta *meta, bool join,
		       bool want_place, struct try_result *res,
		       struct dlock_error *err)
{
	struct quorum *q = quorum_of(s);
	const struct acquire_call a = {
		.owner = lock->owner,
		.expiry_ms = lock->expiry_ms,
		.ttl_ms = lock->ttl_ms,
		.meta = meta,
		.grab = lock->no_fifo || qlock_of(lock)->grab_next,
		.join = join,
		.want_place = want_place,
		.mode = lock->mode,
		.limit = lock->limit,
	};
	struct tally *t = calloc(1, sizeof(*t));
	struct script_call sc = { 0 };
	int64_t sent_at = now_ms();
	int rc = 0;

	if (!t)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	memset(res, 0, sizeof(*res));
	qlock_of(lock)->meta = *meta;
	acquire_args(&qlock_of(lock)->keys, &a, &sc);
	fanout_ask_all(q, &sc, 0, NULL, "run the acquire script");
	fanout(q, sent_at + quorum_node_ms(q, lock->ttl_ms), -1);
	count_acquire(q, lock, t);
	ask_busy_again(q, lock, &sc, t);
	if (t->taken >= q->majority) {
		rc = finish_take(q, lock, sent_at, t, res, err);
		goto out;
	}
	if (t->taken + t->busy + t->other < q->majority)
		rc = fanout_no_majority(q, "take the lock", err);
	release_unsure(q, lock, t);
	if (!rc)
		rc = busy(q, lock, t, res);
out:
	free(t);
	return rc;
}

/*
 * Takes the lock again on the nodes that lost it (restarted, or frozen
 * past its expiry) while a majority still has it ours. What they answer
 * changes nothing now: the next renewal counts them again.
 */
static void retake(struct quorum *q, struct dlock_lock *lock,
		   const bool *gone, int64_t deadline)
{
	const struct acquire_call a = {
		.owner = lock->owner,
		.expiry_ms = lock->expiry_ms,
		.ttl_ms = lock->ttl_ms,
		.meta = &qlock_of(lock)->meta,
		.grab = true,
		.mode = lock->mode,
		.limit = lock->limit,
	};
	struct script_call sc = { 0 };

	acquire_args(&qlock_of(lock)->keys, &a, &sc);
	fanout_ask_all(q, &sc, 0, NULL, "take the lock again");
	for (size_t i = 0; i < q->n; i++)
		q->nodes[i].active = gone[i];
	fanout(q, deadline, -1);
	fanout_clear(q);
}

int quorum_renew(struct session *s, struct dlock_lock *lock,
		 int64_t deadline, int cancel_fd, enum renew_result *res,
		 struct dlock_error *err)
{
	struct quorum *q = quorum_of(s);
	int64_t sent_at = now_ms();
	int64_t node_end = sent_at + quorum_node_ms(q, lock->ttl_ms);
	size_t renewed = 0, gone = 0, taken = 0;
	bool lost[QUORUM_MAX_NODES] = { false };
	struct script_call sc = { 0 };
	int rc;

	if (node_end < deadline)
		deadline = node_end;
	renew_args(&qlock_of(lock)->keys, lock->owner, lock->expiry_ms, 'x', &sc);
	fanout_ask_all(q, &sc, 0, NULL, "run the renew script");
	rc = fanout(q, deadline, cancel_fd);
	if (rc == DLOCK_ECANCELED)
		return set_error(err, rc, "canceled");
	for (size_t i = 0; i < q->n; i++) {
		struct qnode *nd = &q->nodes[i];

		if (!nd->reply)
			continue;
		if (nd->reply->type != REDIS_REPLY_INTEGER ||
		    nd->reply->integer < -1 || nd->reply->integer > 1) {
			bad_reply(nd);
			continue;
		}
		renewed += nd->reply->integer == 1;
		lost[i] = nd->reply->integer == 0;
		gone += lost[i];
		taken += nd->reply->integer == -1;
	}
	if (renewed >= q->majority) {
		*res = RENEWED;
		qlock_of(lock)->valid_until = lease_end_from(sent_at,
							     lock->ttl_ms);
		if (gone)
			retake(q, lock, lost, deadline);
		return 0;
	}
	if (renewed + (q->n - renewed - gone - taken) >= q->majority)
		return fanout_no_majority(q, "renew the lease", err);
	/* Even the nodes that did not answer could not make a majority. */
	*res = taken ? RENEW_TAKEN_OVER : RENEW_GONE;
	return 0;
}

int quorum_release(struct session *s, struct dlock_lock *lock,
		   bool *was_ours, struct dlock_error *err)
{
	struct quorum *q = quorum_of(s);
	size_t ours = 0, answered = 0;
	struct script_call sc = { 0 };

	release_args(&qlock_of(lock)->keys, lock->owner, 'x', &sc);
	fanout_ask_all(q, &sc, 0, NULL, "run the release script");
	fanout(q, now_ms() + quorum_node_ms(q, lock->ttl_ms), -1);
	for (size_t i = 0; i < q->n; i++) {
		struct qnode *nd = &q->nodes[i];

		if (!nd->reply)
			continue;
		if (nd->reply->type != REDIS_REPLY_INTEGER) {
			bad_reply(nd);
			continue;
		}
		answered++;
		ours += nd->reply->integer == 1;
	}
	if (ours < q->majority && answered < q->majority)
		return fanout_no_majority(q, "release the lock", err);
	*was_ours = ours >= q->majority ||
		    now_ms() < qlock_of(lock)->valid_until;
	fanout_clear(q);
	return 0;
}
