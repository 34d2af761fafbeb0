/* SPDX-License-Identifier: MIT */
/*
 * The renewal thread. It keeps the lease's local end on CLOCK_MONOTONIC,
 * measured from the moment each successful request was sent, so the local
 * end always falls before the server's expiry. Failures are retried on a
 * fresh connection until that end; past it, or when the server says the
 * lock is not ours, the lease is lost and the event descriptor fires.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

#define RETRY_MIN_MS 50
#define RETRY_MAX_MS 1000

struct dlock_lease {
	/* The client lends us its session until dlock_lease_stop(). */
	struct dlock *client;
	struct session *session;
	struct dlock_lock *lock;
	struct dlock_lease_opts opts;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int event_fd;
	/* Under mu: */
	bool stop;
	bool lost;
	struct dlock_error why;
	/* Readable once stop is set, to cut short a renewal in flight. */
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

/* Sleeps until deadline or until stopped; returns true when stopped. */
static bool sleep_until(struct dlock_lease *ls, int64_t deadline)
{
	bool stop;

	pthread_mutex_lock(&ls->mu);
	while (!ls->stop && now_ms() < deadline) {
		struct timespec ts = { deadline / 1000,
				       (deadline % 1000) * 1000000L };

		pthread_cond_timedwait(&ls->cv, &ls->mu, &ts);
	}
	stop = ls->stop;
	pthread_mutex_unlock(&ls->mu);
	return stop;
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

static void *lease_main(void *arg)
{
	struct dlock_lease *ls = arg;
	struct dlock_lock *l = ls->lock;
	const struct backend_ops *ops = ls->client->ops;
	int64_t interval = l->ttl_ms / 3, retry = RETRY_MIN_MS;
	int64_t lease_end = l->lease_end, next = l->acquired_at + interval;
	int64_t last_ok_wall = wall_ms() - (now_ms() - l->acquired_at);
	int64_t hold_end = ls->opts.max_hold_ms > 0 ?
			   l->acquired_at + ls->opts.max_hold_ms : NO_DEADLINE;
	struct dlock_error err = { 0 };

	while (!sleep_until(ls, next < hold_end ? next : hold_end)) {
		int64_t sent_at = now_ms(), deadline;
		enum renew_result res;
		int rc;

		if (sent_at >= hold_end) {
			/* Not a loss: the lock is still ours, by design. */
			end_lease(ls, "lock '%s' ran past --max-hold %.3gs",
				  l->name, (double)ls->opts.max_hold_ms / 1000);
			break;
		}
		if (sent_at >= lease_end) {
			declare_lost(ls, last_ok_wall, "no renewal succeeded "
				     "in time (last error: %s)",
				     err.msg[0] ? err.msg : "none");
			break;
		}
		deadline = sent_at + ls->client->cfg->connect_timeout_ms;
		if (deadline > lease_end)
			deadline = lease_end;
		rc = ops->renew(ls->session, l, deadline, ls->stop_fd, &res,
				&err);
		if (rc == 0 && res == RENEWED) {
			lease_end = lease_end_from(sent_at, l->ttl_ms);
			last_ok_wall = wall_ms() - (now_ms() - sent_at);
			next = sent_at + interval;
			retry = RETRY_MIN_MS;
			err.msg[0] = '\0';
			continue;
		}
		if (rc == DLOCK_ECANCELED)
			break;	/* stopped while renewing */
		if (rc == 0) {
			declare_lost(ls, last_ok_wall, res == RENEW_GONE ?
				     "the server no longer has it (expired, "
				     "deleted, or the server lost its data)" :
				     "another owner holds it now");
			break;
		}
		lease_log(ls, "renewing lock '%s' failed: %s; retrying",
			  l->name, err.msg);
		next = now_ms() + retry;
		if (next > lease_end)
			next = lease_end;
		retry = retry * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : retry * 2;
	}
	return NULL;
}

int dlock_lease_start(struct dlock *d, struct dlock_lock *lock,
		      const struct dlock_lease_opts *opts,
		      struct dlock_lease **out, struct dlock_error *err)
{
	struct dlock_lease *ls;
	struct session *session = client_session(d, err);
	pthread_condattr_t ca;
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
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ls->cv, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&ls->thread, NULL, lease_main, ls);
	if (rc) {
		pthread_cond_destroy(&ls->cv);
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
	pthread_mutex_lock(&ls->mu);
	ls->stop = true;
	pthread_cond_signal(&ls->cv);
	pthread_mutex_unlock(&ls->mu);
	if (write(ls->stop_fd, &one, sizeof(one)) < 0) {
		/* Cannot fail on a fresh eventfd; the join is bounded anyway. */
	}
	pthread_join(ls->thread, NULL);
	ls->client->session = ls->session;
	close(ls->event_fd);
	close(ls->stop_fd);
	pthread_cond_destroy(&ls->cv);
	pthread_mutex_destroy(&ls->mu);
	free(ls);
}
