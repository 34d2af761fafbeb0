/* SPDX-License-Identifier: MIT */
/* One Redis server behind the backend seam: sessions and lock operations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis.h"
#include "scripts.h"

int64_t session_deadline(const struct session *s)
{
	return now_ms() + s->cfg->connect_timeout_ms;
}

int session_node(struct session *s, const char *key, int64_t deadline,
		 struct conn **c, struct dlock_error *err)
{
	return s->router->ops->node_for(s->router, key, deadline, c, err);
}

int session_master(struct session *s, size_t i, int64_t deadline,
		   struct conn **c, struct dlock_error *err)
{
	return s->router->ops->master(s->router, i, deadline, c, err);
}

void session_drop(struct session *s, struct conn *c)
{
	s->router->ops->drop(s->router, c);
}

/* Redis 7 words a script's write on a replica "... READONLY ...". */
static bool is_readonly(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR &&
	       (strncmp(r->str, "READONLY", 8) == 0 ||
		strstr(r->str, "READONLY You can't write"));
}

/*
 * A write reached a replica. Through the sentinels it is a failover under
 * way: ask them again. A plain URL names the wrong server: say which one
 * is its master.
 */
static int on_replica(struct session *s, struct conn *c,
		      struct dlock_error *err)
{
	const char *argv[] = { "ROLE" };
	char master[300] = "its master";
	redisReply *r = NULL;
	struct dlock_error ignored;

	/* The message first: dropping c frees the name it shows. */
	if (s->sentinel) {
		set_error(err, DLOCK_ECONN, "%s is a replica now (a failover?); "
			  "asking the sentinels again", conn_display(c));
		session_drop(s, c);
		return DLOCK_ECONN;
	}

	if (conn_call(c, session_deadline(s), -1, 1, argv, NULL, &r,
		      &ignored) == 0 && r->type == REDIS_REPLY_ARRAY &&
	    r->elements >= 3 && r->element[1]->type == REDIS_REPLY_STRING &&
	    r->element[2]->type == REDIS_REPLY_INTEGER)
		snprintf(master, sizeof(master), "%.256s:%lld",
			 r->element[1]->str, r->element[2]->integer);
	freeReplyObject(r);
	set_error(err, DLOCK_ESERVER, "%s is a replica of %s; point --url at "
		  "the master, or use redis+sentinel://SENTINEL[,SENTINEL...]"
		  "/SERVICE to follow failovers", conn_display(c), master);
	session_drop(s, c);
	return DLOCK_ESERVER;
}

int session_done(struct session *s, struct conn *c, int rc,
		 const redisReply *r, const char *what,
		 struct dlock_error *err)
{
	if (rc) {
		session_drop(s, c);
		return rc;
	}
	/* A connection alone proves little: a TLS port accepts too. */
	s->reached = true;
	if (is_readonly(r))
		return on_replica(s, c, err);
	return reply_error(c, r, what, err);
}

static const struct node_info *session_info(struct session *s,
					    const struct conn *c)
{
	const struct router_ops *ops = s->router->ops;

	return ops->info ? ops->info(s->router, c) : NULL;
}

/*
 * Replicas that must confirm a take or a renewal: --wait-replicas, else
 * one when the sentinels' master has any, or the sentinels know one that
 * is up (a master that lost its replicas is about to be demoted, and
 * what it takes now dies with it). A plain server honours the option but
 * does not wait by default: its replicas may serve reads only, and no
 * failover promotes them.
 */
static long replicas_wanted(struct session *s, const struct conn *c)
{
	const struct node_info *info = session_info(s, c);

	if (s->cfg->wait_replicas >= 0)
		return s->cfg->wait_replicas;
	return s->sentinel && info &&
	       (info->replicas > 0 || info->known_replicas > 0) ? 1 : 0;
}

/* 0 when WAIT's reply w says enough replicas confirmed the write. */
static int confirmed(const struct conn *c, long want, const redisReply *w,
		     int64_t sent, const char *what, int code,
		     struct dlock_error *err)
{
	if (want <= 0)
		return 0;
	if (w->type == REDIS_REPLY_ERROR)
		return set_error(err, code, "%s refused WAIT (%s): %s; allow "
				 "it in the ACL, or give --wait-replicas 0",
				 conn_display(c), what, w->str);
	if (w->type != REDIS_REPLY_INTEGER || w->integer < 0)
		return set_error(err, DLOCK_ESERVER, "unexpected reply to "
				 "WAIT from %s", conn_display(c));
	if (w->integer >= want)
		return 0;
	return set_error(err, code, "%s: %lld of the %ld replicas asked for "
			 "confirmed %s within %lld ms; check the replicas "
			 "(INFO replication) or lower --wait-replicas (0 "
			 "turns the wait off)", conn_display(c), w->integer,
			 want, what, (long long)(now_ms() - sent));
}

int session_renew(struct session *s, struct conn *c,
		  const struct redis_keys *k, const char *owner,
		  int64_t expiry_ms, char mode, int64_t deadline,
		  int cancel_fd, redisReply **r, struct dlock_error *err)
{
	long want = replicas_wanted(s, c);
	int64_t sent = now_ms();
	redisReply *w = NULL;
	int rc;

	rc = call_renew_wait(c, k, owner, expiry_ms, mode, want, deadline,
			     cancel_fd, r, &w, err);
	rc = session_done(s, c, rc, *r, "run the renew script", err);
	/* A renewal the replicas have not seen may die with the master. */
	if (!rc && (*r)->type == REDIS_REPLY_INTEGER && (*r)->integer == 1)
		rc = confirmed(c, want, w, sent, "the renewal", DLOCK_ECONN,
			       err);
	/* It may not be the master any more: ask the sentinels again. */
	if (rc == DLOCK_ECONN && s->sentinel && w)
		session_drop(s, c);
	freeReplyObject(w);
	return rc;
}

int session_bad_reply(struct session *s, struct conn *c, const char *what,
		      struct dlock_error *err)
{
	session_drop(s, c);
	return set_error(err, DLOCK_ESERVER,
			 "unexpected reply to %s from the server; is the "
			 "key prefix shared with something else?", what);
}

static int redis_session_open(const struct dlock_config *cfg,
			      struct session **out, struct dlock_error *err)
{
	struct session *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	s->cfg = cfg;
	/* The master the sentinels name, or a cluster node (or a standalone
	 * server until it says MOVED). */
	s->sentinel = cfg->urls[0].sentinel;
	rc = s->sentinel ? router_sentinel_open(cfg, 0, &s->router, err) :
	     router_cluster_open(cfg, 0, &s->router, err);
	if (rc) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

static void redis_session_close(struct session *s)
{
	s->router->ops->close(s->router);
	free(s);
}

static int redis_connect(struct session *s, struct dlock_error *err)
{
	struct conn *c;

	return session_node(s, NULL, session_deadline(s), &c, err);
}

static bool redis_reached(const struct session *s)
{
	return s->reached;
}

static int redis_lock_init(struct session *s, struct dlock_lock *lock,
			   struct dlock_error *err)
{
	struct backend_lock *impl = calloc(1, sizeof(*impl));
	int rc;

	if (!impl)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	rc = redis_keys_init(&impl->keys, s->cfg->prefix, lock->name,
			     lock->owner, err);
	if (rc) {
		free(impl);
		return rc;
	}
	lock->impl = impl;
	return 0;
}

static void redis_lock_free(struct backend_lock *impl)
{
	redis_keys_clear(&impl->keys);
	free(impl);
}

/* Sends one command; *match tells whether the reply is the string want. */
static int ask(struct session *s, int argc, const char **argv,
	       const char *want, bool *match, struct dlock_error *err)
{
	int64_t deadline = session_deadline(s);
	redisReply *r = NULL;
	struct conn *c;
	int rc = session_node(s, argv[1], deadline, &c, err);

	if (rc)
		return rc;
	rc = conn_call(c, deadline, -1, argc, argv, NULL, &r, err);
	rc = session_done(s, c, rc, r, "read the lock", err);
	*match = !rc && r->type == REDIS_REPLY_STRING &&
		 (!want || strcmp(r->str, want) == 0);
	freeReplyObject(r);
	return rc;
}

static int redis_held_by(struct session *s, const struct dlock_lock *lock,
			 const char *owner, enum holding *how,
			 struct dlock_error *err)
{
	const struct redis_keys *k = &lock->impl->keys;
	const char *get[] = { "GET", k->lock };
	const char *score[] = { "ZSCORE", k->holders, owner };
	bool match = false;
	int rc;

	*how = HOLDS_NOTHING;
	/* A semaphore's main key holds the shared marker, never an owner. */
	if (lock->mode != DLOCK_LIMIT) {
		rc = ask(s, 2, get, owner, &match, err);
		if (rc || match) {
			*how = match ? HOLDS_EXCLUSIVE : HOLDS_NOTHING;
			return rc;
		}
	}
	rc = ask(s, 3, score, NULL, &match, err);
	if (!rc && match)
		*how = HOLDS_SHARED;
	return rc;
}

/* A string or nil: a holder's detail, which it may not have left. */
static bool detail_ok(const redisReply *r)
{
	return r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_NIL;
}

/* A pid as the acquire script stores it: digits, not zero. */
static bool pid_ok(const redisReply *r)
{
	if (r->type == REDIS_REPLY_NIL)
		return true;
	if (r->type != REDIS_REPLY_STRING || r->len == 0 || r->len > 10 ||
	    r->str[0] == '0')
		return false;
	for (size_t i = 0; i < r->len; i++)
		if (r->str[i] < '0' || r->str[i] > '9')
			return false;
	return true;
}

/* Anything else could make us run a command without the lock. */
static bool acquire_reply_ok(const redisReply *r)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER)
		return false;
	switch (r->element[0]->integer) {
	case 1:
		return r->elements == 2 &&
		       r->element[1]->type == REDIS_REPLY_INTEGER &&
		       r->element[1]->integer > 0;
	case -1:
		return r->elements == 3 &&
		       r->element[1]->type == REDIS_REPLY_STRING &&
		       r->element[2]->type == REDIS_REPLY_INTEGER;
	case 0:
		return r->elements == 13 &&
		       r->element[1]->type == REDIS_REPLY_INTEGER &&
		       detail_ok(r->element[2]) && detail_ok(r->element[3]) &&
		       pid_ok(r->element[4]) && detail_ok(r->element[5]) &&
		       (r->element[6]->type == REDIS_REPLY_INTEGER ||
			r->element[6]->type == REDIS_REPLY_NIL) &&
		       detail_ok(r->element[7]) &&
		       r->element[8]->type == REDIS_REPLY_INTEGER &&
		       r->element[9]->type == REDIS_REPLY_INTEGER &&
		       r->element[10]->type == REDIS_REPLY_INTEGER &&
		       r->element[11]->type == REDIS_REPLY_STRING &&
		       r->element[12]->type == REDIS_REPLY_INTEGER;
	}
	return false;
}

static int kind_of(const char *s)
{
	if (strcmp(s, "s") == 0)
		return DLOCK_SHARED;
	if (strcmp(s, "l") == 0)
		return DLOCK_LIMIT;
	return DLOCK_EXCLUSIVE;
}

static void copy_str(char *buf, size_t size, const redisReply *r)
{
	snprintf(buf, size, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
}

/*
 * A busy reply: {0, pttl, holder owner, host, pid, user, age, command,
 * place, ms until the heartbeat of the waiter ahead runs out, number of
 * shared or counting holders, their kind, until when a lock delay keeps
 * it (-1: none)}.
 */
static void parse_busy(const redisReply *r, struct try_result *res)
{
	long long pttl = r->element[1]->integer;
	long long head_wait = r->element[9]->integer;
	const redisReply *age = r->element[6];

	res->outcome = TRY_BUSY;
	/* Look again at a heartbeat, the holder's lease, the waiter ahead. */
	res->look_again_ms = HEARTBEAT_MS;
	if (pttl >= 0 && pttl < res->look_again_ms)
		res->look_again_ms = pttl;
	if (head_wait >= 0 && head_wait < res->look_again_ms)
		res->look_again_ms = head_wait;
	res->place = r->element[8]->integer;
	res->age_ms = age->type == REDIS_REPLY_INTEGER ? age->integer : -1;
	res->shared_holders = r->element[10]->integer;
	res->shared_kind = kind_of(r->element[11]->str);
	res->lock_delay = r->element[12]->integer >= 0;
	res->blocked_until_ms = r->element[12]->integer;
	res->blocked_for_ms = pttl;
	res->has_owner = r->element[2]->type == REDIS_REPLY_STRING;
	copy_str(res->owner, sizeof(res->owner), r->element[2]);
	res->has_details = r->element[3]->type == REDIS_REPLY_STRING;
	copy_str(res->holder.host, sizeof(res->holder.host), r->element[3]);
	copy_str(res->holder.pid, sizeof(res->holder.pid), r->element[4]);
	copy_str(res->holder.user, sizeof(res->holder.user), r->element[5]);
	copy_str(res->holder.command, sizeof(res->holder.command),
		 r->element[7]);
}

int redis_acquire_reply(const redisReply *r, struct dlock_lock *lock,
			struct try_result *res)
{
	if (!acquire_reply_ok(r))
		return -1;
	switch (r->element[0]->integer) {
	case 1:
		res->outcome = TRY_TAKEN;
		snprintf(lock->fence, sizeof(lock->fence), "%lld",
			 r->element[1]->integer);
		break;
	case -1:
		res->outcome = TRY_WRONG_KIND;
		res->held_kind = kind_of(r->element[1]->str);
		res->held_limit = r->element[2]->integer;
		break;
	default:
		parse_busy(r, res);
	}
	return 0;
}

/*
 * A take that too few replicas confirmed is let go at once: a failover
 * could hand the lock to someone else while our command runs.
 */
static int unconfirmed_take(struct session *s, struct conn *c,
			    struct dlock_lock *lock, int rc,
			    struct dlock_error *err)
{
	const struct redis_keys *k = &lock->impl->keys;
	struct dlock_error ignored;
	redisReply *r = NULL;
	size_t len = strlen(err->msg);

	if (call_release(c, k, lock->owner, redis_mode_char(lock->mode),
			 session_deadline(s), &r, &ignored) == 0 &&
	    r->type == REDIS_REPLY_INTEGER)
		snprintf(err->msg + len, sizeof(err->msg) - len,
			 "; lock '%s' was released", lock->name);
	/* Through the sentinels, the next try asks them for the master. */
	if (s->sentinel || !r || r->type != REDIS_REPLY_INTEGER)
		session_drop(s, c);
	freeReplyObject(r);
	return rc;
}

/* A take counts once the replicas asked for have it. */
static int take(struct session *s, struct conn *c, struct dlock_lock *lock,
		const redisReply *w, long want, int64_t sent,
		struct dlock_error *err)
{
	/* Worth waiting out: a failover under way ends. */
	int rc = confirmed(c, want, w, sent, "the take", DLOCK_ECONN, err);

	if (rc)
		return unconfirmed_take(s, c, lock, rc, err);
	return 0;
}

static int redis_try_acquire(struct session *s, struct dlock_lock *lock,
			     const struct holder_meta *meta, bool join,
			     bool want_place, struct try_result *res,
			     struct dlock_error *err)
{
	const struct redis_keys *k = &lock->impl->keys;
	struct acquire_call a = {
		.owner = lock->owner,
		.expiry_ms = lock->expiry_ms,
		.ttl_ms = lock->ttl_ms,
		.meta = meta,
		.grab = lock->no_fifo,
		.join = join,
		.want_place = want_place,
		.mode = lock->mode,
		.limit = lock->limit,
	};
	int64_t deadline = session_deadline(s), sent = now_ms();
	redisReply *r = NULL, *w = NULL;
	const struct node_info *info;
	struct conn *c;
	long want;
	int rc = session_node(s, k->lock, deadline, &c, err);

	if (rc)
		return rc;
	info = session_info(s, c);
	a.epoch = info ? info->replid : NULL;
	want = replicas_wanted(s, c);
	/*
	 * A grant is written by the releaser's script, which neither waits
	 * for replicas nor knows the fencing epoch; and only a holder that
	 * renews at once turns it into a lease.
	 */
	a.grant = meta->keeps_alive && want == 0 && !info;
	memset(res, 0, sizeof(*res));
	rc = call_acquire_wait(c, k, &a, want, deadline, &r, &w, err);
	rc = session_done(s, c, rc, r, "run the acquire script", err);
	if (rc)
		goto out;
	if (redis_acquire_reply(r, lock, res) < 0)
		rc = session_bad_reply(s, c, "acquire", err);
	else if (res->outcome == TRY_TAKEN)
		rc = take(s, c, lock, w, want, sent, err);
	else if (join && res->outcome == TRY_BUSY)
		lock->impl->beat_sent = sent;
out:
	freeReplyObject(r);
	freeReplyObject(w);
	return rc;
}

/* The least of a grant's local lease worth starting a command on. */
#define GRANT_MIN_LEFT_MS 500

/*
 * What a release pushed to our wake-up list: "1" (look again), or
 * "g<token>" when it handed us the lock. Anything else is a wake-up too:
 * the next try finds out.
 */
static bool grant_token(const redisReply *r, char *fence, size_t size)
{
	const redisReply *v;
	size_t n;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
		return false;
	v = r->element[1];
	if (v->type != REDIS_REPLY_STRING || v->len < 2 || v->len > size ||
	    v->str[0] != 'g' || v->str[1] == '0')
		return false;
	for (n = 1; n < v->len; n++)
		if (v->str[n] < '0' || v->str[n] > '9')
			return false;
	memcpy(fence, v->str + 1, v->len - 1);
	fence[v->len - 1] = '\0';
	return true;
}

/*
 * Blocks on our wake-up list until a release wakes us or hands us the
 * lock, until until, or until the cancel descriptor is readable.
 */
static int redis_wait(struct session *s, struct dlock_lock *lock,
		      int64_t until, const struct wait_hooks *hooks,
		      struct dlock_error *err)
{
	const struct redis_keys *k = &lock->impl->keys;
	char timeout[32];
	const char *argv[] = { "BLPOP", k->wake, timeout };
	int64_t left = until - now_ms(), deadline, end;
	redisReply *r = NULL;
	struct conn *c;
	int rc;

	if (left <= 0)
		return 0;
	/*
	 * BLPOP's own time-out ends the wait, so the connection stays in
	 * step; the client-side deadline is only a safety net.
	 */
	deadline = until + 1000 + s->cfg->connect_timeout_ms;
	rc = session_node(s, k->wake, deadline, &c, err);
	if (rc)
		return rc;
	if (s->whole_second_timeouts)
		snprintf(timeout, sizeof(timeout), "%lld",
			 (long long)((left + 999) / 1000));
	else
		snprintf(timeout, sizeof(timeout), "%lld.%03lld",
			 (long long)(left / 1000), (long long)(left % 1000));
	conn_set_tick(c, hooks->tick, hooks->tick_arg, hooks->tick_ms);
	rc = conn_call(c, deadline, hooks->cancel_fd, 3, argv, NULL, &r, err);
	if (!rc)
		conn_set_tick(c, NULL, NULL, 0);
	if (!rc && r->type == REDIS_REPLY_ERROR && !s->whole_second_timeouts &&
	    strstr(r->str, "timeout is not")) {
		s->whole_second_timeouts = true;
		freeReplyObject(r);
		return redis_wait(s, lock, until, hooks, err);
	}
	rc = session_done(s, c, rc, r, "wait for the lock (BLPOP)", err);
	/*
	 * The grant lives to the deadline of a heartbeat the server ran
	 * after beat_sent (a grant before it, that heartbeat would have
	 * found and taken), plus our lock-delay. The renewal that confirms
	 * it must fit in what is left; with too little (we were stopped, or
	 * starved of CPU), the next try confirms it before anything starts.
	 */
	end = lease_end_from(lock->impl->beat_sent, HEARTBEAT_WINDOW_MS);
	if (!rc && now_ms() + GRANT_MIN_LEFT_MS < end &&
	    grant_token(r, lock->fence, sizeof(lock->fence))) {
		lock->granted = true;
		lock->acquired_at = now_ms();
		lock->lease_end = end;
	}
	freeReplyObject(r);
	return rc;
}

static void redis_leave(struct session *s, struct dlock_lock *lock)
{
	const struct redis_keys *k = &lock->impl->keys;
	int64_t deadline = session_deadline(s);
	struct dlock_error ignored;
	redisReply *r = NULL;
	struct conn *c;
	int rc = session_node(s, k->lock, deadline, &c, &ignored);

	if (rc)
		return;
	rc = call_leave(c, k, lock->owner, redis_mode_char(lock->mode),
			deadline, &r, &ignored);
	session_done(s, c, rc, r, "leave the queue", &ignored);
	freeReplyObject(r);
}

/*
 * The connection to renew on. One that broke while idle (the server
 * restarted, or dropped us) is replaced first: a renewal sent on it would
 * fail and wait out a retry before reconnecting.
 */
static int renew_node(struct session *s, const char *key, int64_t deadline,
		      struct conn **c, struct dlock_error *err)
{
	int rc = session_node(s, key, deadline, c, err);

	if (rc || !conn_stale(*c))
		return rc;
	session_drop(s, *c);
	return session_node(s, key, deadline, c, err);
}

static int redis_renew(struct session *s, struct dlock_lock *lock,
		       int64_t deadline, int cancel_fd,
		       enum renew_result *res, struct dlock_error *err)
{
	const struct redis_keys *k = &lock->impl->keys;
	char mode = redis_mode_char(lock->mode);
	redisReply *r = NULL, *info = NULL;
	struct conn *c;
	int rc = renew_node(s, k->lock, deadline, &c, err);

	if (rc)
		return rc;
	/* A renewal that replicas must confirm asks no run_id with it. */
	if (replicas_wanted(s, c) == 0 && session_wants_run_id(s, c)) {
		rc = call_renew_identify(c, k, lock->owner, lock->expiry_ms,
					 mode, deadline, cancel_fd, &info, &r,
					 err);
		rc = session_done(s, c, rc, r, "run the renew script", err);
	} else {
		rc = session_renew(s, c, k, lock->owner, lock->expiry_ms, mode,
				   deadline, cancel_fd, &r, err);
	}
	if (!rc && (r->type != REDIS_REPLY_INTEGER || r->integer < -1 ||
		    r->integer > 1))
		rc = session_bad_reply(s, c, "renew", err);
	if (!rc && info)
		session_learn_run_id(s, c, info);
	if (!rc)
		*res = r->integer == 1 ? RENEWED : r->integer == 0 ?
		       RENEW_GONE : RENEW_TAKEN_OVER;
	freeReplyObject(info);
	freeReplyObject(r);
	return rc;
}

static int redis_release(struct session *s, struct dlock_lock *lock,
			 bool *was_ours, struct dlock_error *err)
{
	const struct redis_keys *k = &lock->impl->keys;
	int64_t deadline = session_deadline(s);
	redisReply *r = NULL;
	struct conn *c;
	int rc = session_node(s, k->lock, deadline, &c, err);

	if (rc)
		return rc;
	rc = call_release(c, k, lock->owner, redis_mode_char(lock->mode),
			  deadline, &r, err);
	rc = session_done(s, c, rc, r, "run the release script", err);
	if (!rc && r->type != REDIS_REPLY_INTEGER)
		rc = session_bad_reply(s, c, "release", err);
	if (!rc)
		*was_ours = r->integer == 1;
	freeReplyObject(r);
	return rc;
}

/* Both tables: the backend is the same, only what it promises differs. */
#define REDIS_OPS \
	.version = BACKEND_OPS_VERSION, \
	.session_open = redis_session_open, \
	.session_close = redis_session_close, \
	.connect = redis_connect, \
	.reached = redis_reached, \
	.lock_init = redis_lock_init, \
	.lock_free = redis_lock_free, \
	.held_by = redis_held_by, \
	.try_acquire = redis_try_acquire, \
	.wait = redis_wait, \
	.leave = redis_leave, \
	.renew = redis_renew, \
	.lease_watch = redis_lease_watch, \
	.release = redis_release, \
	.status = redis_status, \
	.list = redis_list, \
	.renew_owner = redis_renew_owner, \
	.release_owner = redis_release_owner, \
	.force_release = redis_force_release

const struct backend_ops redis_backend = {
	REDIS_OPS,
	.name = "redis",
	.caps = CAP_FIFO | CAP_SHARED | CAP_LIMIT | CAP_LOCK_DELAY |
		CAP_MONOTONIC_FENCE,
	.doctor = redis_doctor,
};

/* The same behind Sentinel, whose writes replicas confirm (WAIT). */
const struct backend_ops redis_sentinel_backend = {
	REDIS_OPS,
	.name = "redis+sentinel",
	.caps = CAP_FIFO | CAP_SHARED | CAP_LIMIT | CAP_LOCK_DELAY |
		CAP_MONOTONIC_FENCE | CAP_REPLICA_CONFIRMED,
	.doctor = redis_sentinel_doctor,
};
