/* SPDX-License-Identifier: MIT */
/*
 * The wait loop, above the backend seam: try, and while the lock is busy
 * wait to be woken (or until the holder's lease or the heartbeat says to
 * look again), report progress, ride out outages with backoff, and leave
 * the queue on every way out.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

/* While blocked, progress is reported this often. */
#define PROGRESS_MS 1000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

static void log_msg(struct dlock *d, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void log_msg(struct dlock *d, const char *fmt, ...)
{
	char buf[DLOCK_ERRMSG_MAX];
	va_list ap;

	if (!d->log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	d->log(d->log_arg, buf);
}

void dlock_lock_free(struct dlock_lock *lock)
{
	if (!lock)
		return;
	if (lock->impl)
		lock->ops->lock_free(lock->impl);
	free(lock->name);
	free(lock);
}

static int lock_new(struct dlock *d, struct session *s, const char *name,
		    const struct dlock_acquire_opts *opts,
		    struct dlock_lock **out, struct dlock_error *err)
{
	struct dlock_lock *l = calloc(1, sizeof(*l));
	int rc;

	if (!l)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	l->ops = d->ops;
	rc = random_hex(l->owner, OWNER_BYTES, err);
	if (rc)
		goto fail;
	l->name = strdup(name);
	if (!l->name) {
		rc = set_error(err, DLOCK_ENOMEM, "out of memory");
		goto fail;
	}
	l->mode = opts->mode;
	l->limit = opts->mode == DLOCK_LIMIT ? opts->limit : 0;
	l->no_fifo = opts->no_fifo;
	l->ttl_ms = opts->ttl_ms;
	l->expiry_ms = opts->ttl_ms + opts->lock_delay_ms;
	rc = d->ops->lock_init(s, l, err);
	if (rc)
		goto fail;
	*out = l;
	return 0;
fail:
	dlock_lock_free(l);
	return rc;
}

/* What the wait loop says about whoever is in the way. */
struct holder_info {
	char who[DLOCK_ERRMSG_MAX / 2];		/* after "held by " */
	/* "held by <who>" or the lock delay, with the age or time left */
	char what[DLOCK_ERRMSG_MAX / 2 + 48];
};

/*
 * The lock-delay kept by a holder that stopped renewing, which is not in
 * the way any more than a dead process: "blocked by its lock-delay until
 * 14:53:07". The time is the server's, stable from one look to the next.
 */
static void describe_lock_delay(const struct try_result *r,
				struct holder_info *h)
{
	time_t secs = (time_t)(r->blocked_until_ms / 1000);
	char until[16] = "?";
	struct tm tm;

	if (localtime_r(&secs, &tm))
		strftime(until, sizeof(until), "%H:%M:%S", &tm);
	snprintf(h->who, sizeof(h->who), "nobody: blocked by its lock-delay "
		 "until %s", until);
	snprintf(h->what, sizeof(h->what), "blocked by its lock-delay until %s "
		 "(%lld.%03llds more): its holder stopped renewing", until,
		 (long long)(r->blocked_for_ms / 1000),
		 (long long)(r->blocked_for_ms % 1000));
}

/* The age is kept apart from who, as it changes at every look. */
static void describe_holder(const struct try_result *r, struct holder_info *h)
{
	const struct holder_meta *m = &r->holder;
	size_t n, size = sizeof(h->who);

	if (r->lock_delay) {
		describe_lock_delay(r, h);
		return;
	}
	if (r->shared_holders > 0)
		snprintf(h->who, size, r->shared_kind == DLOCK_LIMIT ?
			 "%lld holder%s of the semaphore" :
			 "%lld shared holder%s", r->shared_holders,
			 r->shared_holders == 1 ? "" : "s");
	else if (!r->has_owner)
		snprintf(h->who, size,
			 "nobody: it is the turn of a waiter ahead");
	else if (!r->has_details)
		snprintf(h->who, size, "another client (owner %.40s), which "
			 "left no details", r->owner);
	else {
		n = (size_t)snprintf(h->who, size, "%s, pid %s", m->host,
				     *m->pid ? m->pid : "?");
		if (n < size && *m->user)
			n += (size_t)snprintf(h->who + n, size - n,
					      ", user %s", m->user);
		if (n < size && *m->command)
			snprintf(h->who + n, size - n, ", running '%.200s'",
				 m->command);
	}
	if (r->age_ms >= 0)
		snprintf(h->what, sizeof(h->what), "held by %s (for "
			 "%lld.%03llds)", h->who, r->age_ms / 1000,
			 r->age_ms % 1000);
	else
		snprintf(h->what, sizeof(h->what), "held by %s", h->who);
}

/* Says how a name is in use as another kind of lock than we asked for. */
static int kind_mismatch(const struct dlock_lock *l, const struct try_result *r,
			 struct dlock_error *err)
{
	if (r->held_kind == DLOCK_LIMIT)
		return set_error(err, DLOCK_EUSAGE,
				 "lock '%s' is in use as a counting semaphore "
				 "with --limit %lld; every user of a name must "
				 "give the same --limit", l->name,
				 r->held_limit);
	if (r->held_kind == DLOCK_SHARED)
		return set_error(err, DLOCK_EUSAGE,
				 "lock '%s' is in use as a shared/exclusive "
				 "lock (-s/-x), not as a semaphore; drop "
				 "--limit, or use another name", l->name);
	return set_error(err, DLOCK_EUSAGE,
			 "lock '%s' is held as an exclusive lock, not as a "
			 "semaphore; drop --limit, or use another name",
			 l->name);
}

static void holder_meta_init(struct holder_meta *m,
			     const struct dlock_acquire_opts *opts)
{
	if (gethostname(m->host, sizeof(m->host) - 1) < 0)
		snprintf(m->host, sizeof(m->host), "unknown");
	m->host[sizeof(m->host) - 1] = '\0';
	snprintf(m->pid, sizeof(m->pid), "%ld",
		 opts->holder_pid ? opts->holder_pid : (long)getpid());
	user_name(m->user, sizeof(m->user));
	snprintf(m->command, sizeof(m->command), "%s",
		 opts->command_line ? opts->command_line : "");
	m->keeps_alive = opts->keeps_alive;
}

/*
 * Whether the process tree we run in holds the lock already: the
 * environment names an owner, and the server agrees. An exclusive hold
 * covers a nested shared request; a shared hold cannot become exclusive
 * (two such upgrades would wait for each other), which is refused.
 */
static int check_inherited(struct dlock *d, struct session *s,
			   struct dlock_lock *l, const char *owner,
			   bool *held, struct dlock_error *err)
{
	enum holding how;
	int rc = d->ops->held_by(s, l, owner, &how, err);

	*held = false;
	if (rc || how == HOLDS_NOTHING)
		return rc;
	if (how == HOLDS_SHARED && l->mode == DLOCK_EXCLUSIVE)
		return set_error(err, DLOCK_EUSAGE,
				 "lock '%s' is held shared by this process "
				 "tree: a nested -x cannot upgrade it (it "
				 "would wait for itself); take it with -x "
				 "outside", l->name);
	*held = true;
	return 0;
}

struct progress_tick {
	struct dlock *d;
	struct dlock_wait_progress *p;
	int64_t started;
};

static void report_progress(void *arg)
{
	struct progress_tick *t = arg;

	t->p->waited_ms = now_ms() - t->started;
	t->d->progress(t->d->progress_arg, t->p);
}

/*
 * Waits until wake_at for our turn, reporting progress about every second
 * when someone listens; the reports cost the server nothing.
 */
static int wait_turn(struct dlock *d, struct session *s, struct dlock_lock *l,
		     int64_t wake_at, struct dlock_wait_progress *p,
		     int64_t started, struct dlock_error *err)
{
	struct progress_tick tick = { d, p, started };
	struct wait_hooks hooks = { .cancel_fd = d->cancel_fd };

	if (d->progress) {
		report_progress(&tick);
		hooks.tick = report_progress;
		hooks.tick_arg = &tick;
		hooks.tick_ms = PROGRESS_MS;
	}
	return d->ops->wait(s, l, wake_at, &hooks, err);
}

/* Sleeps until deadline unless the cancel descriptor becomes readable. */
static int sleep_cancelable(struct dlock *d, int64_t deadline,
			    struct dlock_error *err)
{
	struct pollfd pfd = { .fd = d->cancel_fd, .events = POLLIN };
	int rc;

	do
		rc = poll(&pfd, d->cancel_fd >= 0 ? 1 : 0, ms_until(deadline));
	while (rc < 0 && errno == EINTR);
	if (rc > 0)
		return set_error(err, DLOCK_ECANCELED, "canceled");
	return 0;
}

/* When to look again, as the backend asks, but not past the wait. */
static int64_t next_look(const struct try_result *r, int64_t wait_end)
{
	int64_t at = now_ms() + r->look_again_ms;

	return at < wait_end ? at : wait_end;
}

/* One wait, from the first try to the lock, a refusal or an error. */
struct waiter {
	struct dlock *d;
	struct session *s;
	struct dlock_lock *l;
	const struct dlock_acquire_opts *opts;
	struct holder_meta meta;
	struct dlock_wait_progress progress;
	struct holder_info holder;	/* progress.holder points into it */
	char last_who[DLOCK_ERRMSG_MAX / 2];
	int64_t started;
	int64_t wait_end;
	bool queued;
};

/*
 * The lock is busy: fail for -n or a wait that ran out, else say who is
 * in the way (once per holder) and wait for the next look.
 */
static int on_busy(struct waiter *w, const struct try_result *r,
		   struct dlock_error *err)
{
	struct holder_info *h = &w->holder;

	describe_holder(r, h);
	if (w->opts->wait_ms == 0)
		return set_error(err, DLOCK_EBUSY, "lock '%s' is %s",
				 w->l->name, h->what);
	if (now_ms() >= w->wait_end)
		return set_error(err, DLOCK_ETIMEDOUT, "gave up waiting for "
				 "lock '%s', %s", w->l->name, h->what);
	if (strcmp(w->last_who, h->who) != 0) {
		if (r->place)
			log_msg(w->d, "waiting for lock '%s', %s; place %lld "
				"in the queue", w->l->name, h->what,
				r->place);
		else
			log_msg(w->d, "waiting for lock '%s', %s",
				w->l->name, h->what);
		snprintf(w->last_who, sizeof(w->last_who), "%s", h->who);
	}
	w->progress.holder = h->who;
	w->progress.place = r->place;
	return wait_turn(w->d, w->s, w->l, next_look(r, w->wait_end),
			 &w->progress, w->started, err);
}

/*
 * Whether a failure may be waited out: a server that was never reached
 * is a mistake to report now; one that went away while we waited may
 * come back before the wait is over.
 */
static bool worth_retrying(const struct waiter *w, int rc, int64_t backoff)
{
	return rc != DLOCK_ECANCELED && error_is_transient(rc) &&
	       w->opts->wait_ms != 0 &&
	       (w->d->ops->reached(w->s) || w->wait_end != NO_DEADLINE) &&
	       now_ms() + backoff < w->wait_end;
}

static int take_turns(struct waiter *w, struct dlock_error *err)
{
	bool join = w->opts->wait_ms != 0;
	bool want_place = w->d->log || w->d->progress;
	int64_t backoff = BACKOFF_MIN_MS;
	struct try_result r;
	int rc;

	for (;;) {
		int64_t sent_at = now_ms();

		rc = w->d->ops->try_acquire(w->s, w->l, &w->meta, join,
					    want_place, &r, err);
		if (rc == 0 && r.outcome == TRY_TAKEN) {
			w->l->acquired_at = sent_at;
			w->l->lease_end = lease_end_from(sent_at,
							 w->l->ttl_ms);
			return 0;
		}
		if (rc == 0 && r.outcome == TRY_WRONG_KIND)
			return kind_mismatch(w->l, &r, err);
		if (rc == 0) {
			backoff = BACKOFF_MIN_MS;
			w->queued = join;
			rc = on_busy(w, &r, err);
			/* Handed over: the backend set the lease. */
			if (rc == 0 && w->l->granted)
				return 0;
			if (rc == 0)
				continue;
		}
		if (!worth_retrying(w, rc, backoff))
			return rc;
		log_msg(w->d, "%s; retrying in %lld ms", err->msg,
			(long long)backoff);
		rc = sleep_cancelable(w->d, now_ms() + backoff, err);
		if (rc)
			return rc;
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
			  backoff * 2;
	}
}

int dlock_acquire(struct dlock *d, const char *name,
		  const struct dlock_acquire_opts *opts,
		  struct dlock_lock **out, struct dlock_error *err)
{
	struct waiter w = { .d = d, .opts = opts };
	bool held;
	int rc;

	if (dlock_check_name(name, err))
		return DLOCK_EUSAGE;
	rc = backend_check_request(d->ops, opts, err);
	if (rc)
		return rc;
	w.s = client_session(d, err);
	if (!w.s)
		return DLOCK_EUSAGE;
	rc = lock_new(d, w.s, name, opts, &w.l, err);
	if (rc)
		return rc;
	if (opts->inherited_owner && *opts->inherited_owner) {
		rc = check_inherited(d, w.s, w.l, opts->inherited_owner,
				     &held, err);
		if (rc)
			goto fail;
		if (held) {
			snprintf(w.l->owner, sizeof(w.l->owner), "%s",
				 opts->inherited_owner);
			w.l->reentrant = true;
			*out = w.l;
			return 0;
		}
	}
	holder_meta_init(&w.meta, opts);
	w.progress.name = w.l->name;
	w.started = now_ms();
	w.wait_end = opts->wait_ms < 0 ? NO_DEADLINE :
		     w.started + opts->wait_ms;
	rc = take_turns(&w, err);
	if (rc == 0) {
		*out = w.l;
		return 0;
	}
fail:
	if (w.queued)
		d->ops->leave(w.s, w.l);
	dlock_lock_free(w.l);
	return rc;
}

int dlock_release(struct dlock *d, struct dlock_lock *l,
		  struct dlock_error *err)
{
	struct session *s;
	bool ours = true;
	int rc = 0;

	if (l->reentrant)
		goto out;
	s = client_session(d, err);
	if (!s) {
		rc = DLOCK_EUSAGE;
		goto out;
	}
	/* The connection may have idled out while the command ran: retry. */
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = d->ops->release(s, l, &ours, err);
		if (!error_is_transient(rc))
			break;
	}
	if (!rc && !ours)
		rc = set_error(err, DLOCK_ELOST,
			       "lock '%s' was no longer ours when released: "
			       "its lease had run out or it was taken over",
			       l->name);
out:
	dlock_lock_free(l);
	return rc;
}

const char *dlock_lock_owner(const struct dlock_lock *lock)
{
	return lock->owner;
}

const char *dlock_lock_fence(const struct dlock_lock *lock)
{
	return lock->fence;
}

bool dlock_lock_is_reentrant(const struct dlock_lock *lock)
{
	return lock->reentrant;
}
