/* SPDX-License-Identifier: MIT */
/*
 * The renewal thread. It keeps the lease's local end on CLOCK_MONOTONIC,
 * measured from the moment each successful request was sent, so the local
 * end always falls before the server's expiry. Failures are retried on a
 * fresh connection until that end; past it, or when the server says the
 * lock is not ours, the lease is lost and the event descriptor fires.
 *
 * Between renewals the thread watches the connection too, when the
 * backend offers it (lease_watch): a server that restarted closed it, and
 * waiting for the next tick (a third of the lease) to find the lock gone
 * would leave a new holder running beside the command all that time.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

#define RETRY_MIN_MS 20
/*
 * Short: a holder that reconnects late to a server that restarted leaves
 * a contender running beside its command until it does. A server that is
 * down costs nothing (the kernel refuses the connection); one that is
 * loading answers LOADING without running anything.
 */
#define RETRY_MAX_MS 100
/*
 * The server's connection is watched from this long after the lease
 * starts; a restart sooner is found by the first renewal instead. Until
 * then the thread has nothing to do, so it need not exist yet
 * (dlock_lease_start_in()).
 */
#define WATCH_DELAY_MS 100
/* Under --verbose, a failing renewal is told this often at most. */
#define RETRY_LOG_MS 1000

struct dlock_lease {
	/* The client lends us its session until dlock_lease_stop(). */
	struct dlock *client;
	struct session *session;
	struct dlock_lock *lock;
	struct dlock_lease_opts opts;
	pthread_t thread;
	pthread_mutex_t mu;
	int event_fd;
	/* Under mu: */
	bool lost;
	struct dlock_error why;
	/*
	 * Readable once dlock_lease_stop() is called: ends the thread's
	 * sleep, and cuts short a renewal in flight.
	 */
	int stop_fd;
};

static void lease_log(struct dlock_lease *ls, const char *fmt, ...)
	PRINTF_LIKE(2, 3);

static void lease_log(struct dlock_lease *ls, const char *fmt, ...)
{
	char buf[DLOCK_ERRMSG_MAX];
	va_list ap;

	if (!ls->opts.log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ls->opts.log(ls->opts.log_arg, buf);
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void format_wall(int64_t ms, char *buf, size_t size)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	localtime_r(&secs, &tm);
	snprintf(buf, size, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min,
		 tm.tm_sec, (int)(ms % 1000));
}

/* Ends the lease with why, and fires the event descriptor. */
static void end_lease(struct dlock_lease *ls, const char *fmt, ...)
	PRINTF_LIKE(2, 3);

static void end_lease(struct dlock_lease *ls, const char *fmt, ...)
{
	uint64_t one = 1;
	va_list ap;

	pthread_mutex_lock(&ls->mu);
	ls->lost = true;
	ls->why.code = DLOCK_ELOST;
	va_start(ap, fmt);
	vsnprintf(ls->why.msg, sizeof(ls->why.msg), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&ls->mu);
	if (write(ls->event_fd, &one, sizeof(one)) < 0) {
		/* An eventfd write fails only on overflow: already signalled. */
	}
}

static void declare_lost(struct dlock_lease *ls, int64_t last_ok_wall,
			 const char *fmt, ...) PRINTF_LIKE(3, 4);

/* The lock was lost: say why, and when it was last known to be ours. */
static void declare_lost(struct dlock_lease *ls, int64_t last_ok_wall,
			 const char *fmt, ...)
{
	char reason[DLOCK_ERRMSG_MAX / 2], when[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	format_wall(last_ok_wall, when, sizeof(when));
	end_lease(ls, "lost lock '%s': %s; the last successful renewal was "
		  "at %s (%.1fs ago)", ls->lock->name, reason, when,
		  (double)(wall_ms() - last_ok_wall) / 1000);
}

/* What the renewal thread keeps from one renewal to the next. */
struct renewal {
	int64_t interval;	/* between renewals: a third of the lease */
	int64_t retry;		/* the wait after the next failure */
	int64_t lease_end;	/* the local end of the lease */
	int64_t next;		/* the next renewal, at the latest */
	int64_t hold_end;	/* --max-hold; NO_DEADLINE without */
	int64_t last_ok_wall;	/* the last success, for the messages */
	int watch_fd;		/* from the backend's lease_watch; -1: none */
	int64_t watch_from;	/* when to start polling watch_fd */
	int64_t logged_at;	/* the last failure told; 0: none yet */
	struct dlock_error err;	/* the last failure */
};

enum wake { WAKE_STOP, WAKE_TICK, WAKE_WATCH };

/*
 * Sleeps until deadline, until stopped, or until the watched descriptor
 * fires. It is polled from watch_from on only, so that a server that
 * keeps closing our connections cannot make us spin.
 */
static enum wake wait_event(struct dlock_lease *ls, const struct renewal *rn,
			    int64_t deadline)
{
	struct pollfd pfd[2] = {
		{ .fd = ls->stop_fd, .events = POLLIN },
		{ .fd = -1, .events = POLLIN },
	};

	for (;;) {
		int64_t now = now_ms(), until = deadline;
		bool watching = rn->watch_fd >= 0 && now >= rn->watch_from;

		if (rn->watch_fd >= 0 && !watching && rn->watch_from < until)
			until = rn->watch_from;
		pfd[1].fd = watching ? rn->watch_fd : -1;
		if (poll(pfd, 2, now >= until ? 0 : ms_until(until)) < 0) {
			/* EINTR, or no memory for poll: look again soon. */
			nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
			continue;
		}
		if (pfd[0].revents)
			return WAKE_STOP;
		if (pfd[1].revents)
			return WAKE_WATCH;
		if (now_ms() >= deadline)
			return WAKE_TICK;
	}
}

/* A request's deadline: the connect timeout, within the lease. */
static int64_t request_deadline(const struct dlock_lease *ls,
				const struct renewal *rn)
{
	int64_t deadline = now_ms() + ls->client->cfg->connect_timeout_ms;

	return deadline < rn->lease_end ? deadline : rn->lease_end;
}

/*
 * Asks the backend what to watch until the next renewal, and whether the
 * server restarted since it was last asked. Returns 0 or the backend's
 * code: DLOCK_ECONN means the connection broke, so renew soon.
 */
static int watch_server(struct dlock_lease *ls, struct renewal *rn,
			bool *restarted)
{
	const struct backend_ops *ops = ls->client->ops;
	struct lease_watch w = { .fd = -1 };
	struct dlock_error err;
	int rc;

	*restarted = false;
	rn->watch_fd = -1;
	if (!ops->lease_watch)
		return 0;
	rc = ops->lease_watch(ls->session, ls->lock, request_deadline(ls, rn),
			      ls->stop_fd, &w, &err);
	if (rc && rc != DLOCK_ECANCELED)
		lease_log(ls, "cannot watch the connection of lock '%s': %s",
			  ls->lock->name, err.msg);
	if (rc)
		return rc;
	rn->watch_fd = w.fd;
	*restarted = w.restarted;
	return 0;
}

/* A renewal failed: try again after a backoff, within the lease. */
static void retry_later(struct dlock_lease *ls, struct renewal *rn)
{
	int64_t now = now_ms();

	if (!rn->logged_at || now - rn->logged_at >= RETRY_LOG_MS) {
		lease_log(ls, "renewing lock '%s' failed: %s; retrying "
			  "within %d ms", ls->lock->name, rn->err.msg,
			  RETRY_MAX_MS);
		rn->logged_at = now;
	}
	rn->next = now + rn->retry;
	if (rn->next > rn->lease_end)
		rn->next = rn->lease_end;
	rn->retry = rn->retry * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : rn->retry * 2;
}

/* The renewal sent at sent_at succeeded; woken: the watch asked for it. */
static bool renewed(struct dlock_lease *ls, struct renewal *rn,
		    int64_t sent_at, bool woken)
{
	const char *name = ls->lock->name;
	bool restarted;
	int rc;

	rn->lease_end = lease_end_from(sent_at, ls->lock->ttl_ms);
	rn->last_ok_wall = wall_ms() - (now_ms() - sent_at);
	rn->next = sent_at + rn->interval;
	rn->retry = RETRY_MIN_MS;
	rn->logged_at = 0;
	rn->err.msg[0] = '\0';
	rc = watch_server(ls, rn, &restarted);
	if (rc == DLOCK_ECANCELED)
		return false;
	if (rc == DLOCK_ECONN)
		rn->next = now_ms() + RETRY_MAX_MS;
	if (restarted)
		lease_log(ls, "the server restarted (its run_id changed) and "
			  "still has lock '%s' (it keeps its data): the lease "
			  "goes on", name);
	else if (woken)
		lease_log(ls, "the connection that renews lock '%s' was "
			  "closed (by the server or the network); renewed at "
			  "once on a new connection", name);
	return true;
}

/* One renewal and what follows from it; false once the lease is over. */
static bool renew_once(struct dlock_lease *ls, struct renewal *rn,
		       bool woken)
{
	struct dlock_lock *l = ls->lock;
	int64_t sent_at = now_ms();
	enum renew_result res;
	bool restarted;
	int rc;

	if (sent_at >= rn->hold_end) {
		/* Not a loss: the lock is still ours, by design. */
		end_lease(ls, "lock '%s' ran past --max-hold %.3gs", l->name,
			  (double)ls->opts.max_hold_ms / 1000);
		return false;
	}
	if (sent_at >= rn->lease_end) {
		declare_lost(ls, rn->last_ok_wall, "no renewal succeeded in "
			     "time (last error: %s)",
			     rn->err.msg[0] ? rn->err.msg : "none");
		return false;
	}
	rc = ls->client->ops->renew(ls->session, l, request_deadline(ls, rn),
				    ls->stop_fd, &res, &rn->err);
	if (rc == DLOCK_ECANCELED)
		return false;	/* stopped while renewing */
	if (rc) {
		retry_later(ls, rn);
		return true;
	}
	if (res == RENEWED)
		return renewed(ls, rn, sent_at, woken);
	/* To say why; no I/O, the renewal has asked the server already. */
	if (watch_server(ls, rn, &restarted) == DLOCK_ECANCELED)
		return false;
	declare_lost(ls, rn->last_ok_wall, "%s%s",
		     restarted ? "the server restarted (its run_id changed) "
				 "and " : "",
		     res == RENEW_GONE ? restarted ? "no longer has it" :
		     "the server no longer has it (expired, deleted, or the "
		     "server lost its data)" : "another owner holds it now");
	return false;
}

static void *lease_main(void *arg)
{
	struct dlock_lease *ls = arg;
	struct dlock_lock *l = ls->lock;
	struct renewal rn = {
		.interval = l->ttl_ms / 3,
		.retry = RETRY_MIN_MS,
		.lease_end = l->lease_end,
		/*
		 * A grant's lease is short until renewed, but long enough
		 * that a short command ends before any renewal, costing
		 * the server nothing but its release.
		 */
		.next = l->acquired_at + (l->granted ?
			(l->lease_end - l->acquired_at) / 3 : l->ttl_ms / 3),
		.hold_end = ls->opts.max_hold_ms > 0 ?
			    l->acquired_at + ls->opts.max_hold_ms :
			    NO_DEADLINE,
		.last_ok_wall = wall_ms() - (now_ms() - l->acquired_at),
		.watch_fd = -1,
	};
	bool restarted;
	int rc;

	/*
	 * A command that ends this soon never pays for the watch's first
	 * request, which its end would cut short, and the release then
	 * reconnect. Started late (dlock_lease_start_in()), we do not wait.
	 */
	if (wait_event(ls, &rn, l->acquired_at + WATCH_DELAY_MS) == WAKE_STOP)
		return NULL;
	rc = watch_server(ls, &rn, &restarted);
	if (rc == DLOCK_ECANCELED)
		return NULL;
	if (rc == DLOCK_ECONN)
		rn.next = now_ms();	/* broken already: renew at once */
	for (;;) {
		int64_t until = rn.next < rn.hold_end ? rn.next : rn.hold_end;
		enum wake w = wait_event(ls, &rn, until);

		if (w == WAKE_STOP)
			break;
		if (w == WAKE_WATCH) {
			rn.watch_fd = -1;
			rn.watch_from = now_ms() + RETRY_MAX_MS;
		}
		if (!renew_once(ls, &rn, w == WAKE_WATCH))
			break;
	}
	return NULL;
}

int dlock_lease_start_in(const struct dlock_lock *lock)
{
	int64_t left = lock->acquired_at + WATCH_DELAY_MS - now_ms();

	return left > 0 ? (int)left : 0;
}

int dlock_lease_start(struct dlock *d, struct dlock_lock *lock,
		      const struct dlock_lease_opts *opts,
		      struct dlock_lease **out, struct dlock_error *err)
{
	struct dlock_lease *ls;
	struct session *session = client_session(d, err);
	int rc;

	if (!session)
		return DLOCK_EUSAGE;
	ls = calloc(1, sizeof(*ls));
	if (!ls)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	ls->client = d;
	ls->session = session;
	ls->lock = lock;
	ls->opts = *opts;
	ls->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ls->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ls->event_fd < 0 || ls->stop_fd < 0) {
		rc = set_error(err, DLOCK_ESYS, "eventfd: %s", strerror(errno));
		goto out_close;
	}
	pthread_mutex_init(&ls->mu, NULL);
	rc = pthread_create(&ls->thread, NULL, lease_main, ls);
	if (rc) {
		pthread_mutex_destroy(&ls->mu);
		rc = set_error(err, DLOCK_ESYS, "cannot start the renewal "
			       "thread: %s", strerror(rc));
		goto out_close;
	}
	d->session = NULL;
	*out = ls;
	return 0;
out_close:
	if (ls->event_fd >= 0)
		close(ls->event_fd);
	if (ls->stop_fd >= 0)
		close(ls->stop_fd);
	free(ls);
	return rc;
}

int dlock_lease_fd(const struct dlock_lease *ls)
{
	return ls->event_fd;
}

int dlock_lease_check(struct dlock_lease *ls, struct dlock_error *err)
{
	int rc = 0;

	pthread_mutex_lock(&ls->mu);
	if (ls->lost) {
		*err = ls->why;
		rc = DLOCK_ELOST;
	}
	pthread_mutex_unlock(&ls->mu);
	return rc;
}

void dlock_lease_stop(struct dlock_lease *ls)
{
	uint64_t one = 1;

	if (!ls)
		return;
	if (write(ls->stop_fd, &one, sizeof(one)) < 0) {
		/* Cannot fail on a fresh eventfd; the join is bounded anyway. */
	}
	pthread_join(ls->thread, NULL);
	ls->client->session = ls->session;
	close(ls->event_fd);
	close(ls->stop_fd);
	pthread_mutex_destroy(&ls->mu);
	free(ls);
}
