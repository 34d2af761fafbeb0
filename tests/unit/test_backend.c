/* SPDX-License-Identifier: MIT */
/*
 * The seam of lib/backend.h, shown with a backend that lives only in this
 * file: locks in memory, shared by every client of the process. The wait
 * loop (dlock_acquire), the lease thread and dlock_release run on it
 * unchanged: acquire, contention (-n, -w, a blocked waiter woken by the
 * release), re-entrancy, renewal, a lost and a taken-over lease, and the
 * capability and version checks.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "tap.h"

/* Generous: only a hang would take this long. */
#define HANG_MS 10000

/* ---- the in-memory backend ---- */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t changed;	/* a release, a renewal, a waiter */
	char owner[DLOCK_OWNER_MAX];	/* "" when free */
	struct holder_meta holder;
	int64_t expires;	/* CLOCK_MONOTONIC ms */
	long long fence;
	int renewals;
	int waits;
} mem = { .mu = PTHREAD_MUTEX_INITIALIZER };

struct session {
	int unused;
};

struct backend_lock {
	int unused;
};

static bool mem_free_locked(void)
{
	return !mem.owner[0] || now_ms() >= mem.expires;
}

static int mem_session_open(const struct dlock_config *cfg,
			    struct session **out, struct dlock_error *err)
{
	(void)cfg;
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : set_error(err, DLOCK_ENOMEM, "out of memory");
}

static void mem_session_close(struct session *s)
{
	free(s);
}

static int mem_connect(struct session *s, struct dlock_error *err)
{
	(void)s;
	(void)err;
	return 0;
}

static bool mem_reached(const struct session *s)
{
	(void)s;
	return true;
}

static int mem_lock_init(struct session *s, struct dlock_lock *lock,
			 struct dlock_error *err)
{
	(void)s;
	lock->impl = calloc(1, sizeof(*lock->impl));
	return lock->impl ? 0 : set_error(err, DLOCK_ENOMEM, "out of memory");
}

static void mem_lock_free(struct backend_lock *impl)
{
	free(impl);
}

static int mem_held_by(struct session *s, const struct dlock_lock *lock,
		       const char *owner, enum holding *how,
		       struct dlock_error *err)
{
	(void)s;
	(void)lock;
	(void)err;
	pthread_mutex_lock(&mem.mu);
	*how = !mem_free_locked() && strcmp(mem.owner, owner) == 0 ?
	       HOLDS_EXCLUSIVE : HOLDS_NOTHING;
	pthread_mutex_unlock(&mem.mu);
	return 0;
}

static int mem_try_acquire(struct session *s, struct dlock_lock *lock,
			   const struct holder_meta *meta, bool join,
			   bool want_place, struct try_result *res,
			   struct dlock_error *err)
{
	(void)s;
	(void)join;
	(void)want_place;
	(void)err;
	memset(res, 0, sizeof(*res));
	pthread_mutex_lock(&mem.mu);
	if (mem_free_locked()) {
		snprintf(mem.owner, sizeof(mem.owner), "%s", lock->owner);
		mem.holder = *meta;
		mem.expires = now_ms() + lock->expiry_ms;
		snprintf(lock->fence, sizeof(lock->fence), "%lld",
			 ++mem.fence);
		res->outcome = TRY_TAKEN;
	} else {
		res->outcome = TRY_BUSY;
		res->look_again_ms = mem.expires - now_ms();
		res->age_ms = -1;
		res->has_owner = res->has_details = true;
		snprintf(res->owner, sizeof(res->owner), "%s", mem.owner);
		res->holder = mem.holder;
	}
	pthread_mutex_unlock(&mem.mu);
	return 0;
}

static int mem_wait(struct session *s, struct dlock_lock *lock, int64_t until,
		    const struct wait_hooks *hooks, struct dlock_error *err)
{
	(void)s;
	(void)lock;
	(void)hooks;
	(void)err;
	pthread_mutex_lock(&mem.mu);
	mem.waits++;
	pthread_cond_broadcast(&mem.changed);
	while (!mem_free_locked() && now_ms() < until) {
		struct timespec ts = { until / 1000,
				       (until % 1000) * 1000000L };

		pthread_cond_timedwait(&mem.changed, &mem.mu, &ts);
	}
	pthread_mutex_unlock(&mem.mu);
	return 0;
}

static void mem_leave(struct session *s, struct dlock_lock *lock)
{
	(void)s;
	(void)lock;
}

static int mem_renew(struct session *s, struct dlock_lock *lock,
		     int64_t deadline, int cancel_fd, enum renew_result *res,
		     struct dlock_error *err)
{
	(void)s;
	(void)deadline;
	(void)cancel_fd;
	(void)err;
	pthread_mutex_lock(&mem.mu);
	if (mem_free_locked()) {
		*res = RENEW_GONE;
	} else if (strcmp(mem.owner, lock->owner) != 0) {
		*res = RENEW_TAKEN_OVER;
	} else {
		*res = RENEWED;
		mem.expires = now_ms() + lock->expiry_ms;
		mem.renewals++;
		pthread_cond_broadcast(&mem.changed);
	}
	pthread_mutex_unlock(&mem.mu);
	return 0;
}

static int mem_release(struct session *s, struct dlock_lock *lock,
		       bool *was_ours, struct dlock_error *err)
{
	(void)s;
	(void)err;
	pthread_mutex_lock(&mem.mu);
	*was_ours = !mem_free_locked() && strcmp(mem.owner, lock->owner) == 0;
	if (*was_ours)
		mem.owner[0] = '\0';
	pthread_cond_broadcast(&mem.changed);
	pthread_mutex_unlock(&mem.mu);
	return 0;
}

static int mem_status(struct session *s, const char *name,
		      struct dlock_status **out, struct dlock_error *err)
{
	struct dlock_status *st = calloc(1, sizeof(*st));

	(void)s;
	if (!st)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	st->name = strdup(name);
	st->holders = calloc(1, sizeof(*st->holders));
	pthread_mutex_lock(&mem.mu);
	st->held = !mem_free_locked();
	if (st->held && st->holders) {
		st->holders[0].owner = strdup(mem.owner);
		st->nholders = 1;
	}
	pthread_mutex_unlock(&mem.mu);
	*out = st;
	return 0;
}

/* What the in-memory backend does not keep, it refuses to pretend. */
static int mem_none(struct dlock_error *err)
{
	return set_error(err, DLOCK_EUSAGE, "not kept by the test backend");
}

static int mem_list(struct session *s, const char *glob,
		    struct dlock_status ***out, size_t *count,
		    struct dlock_error *err)
{
	(void)s;
	(void)glob;
	(void)out;
	(void)count;
	return mem_none(err);
}

static int mem_renew_owner(struct session *s, const char *name,
			   const char *owner, int64_t ttl_ms,
			   struct dlock_error *err)
{
	(void)s;
	(void)name;
	(void)owner;
	(void)ttl_ms;
	return mem_none(err);
}

static int mem_release_owner(struct session *s, const char *name,
			     const char *owner, struct dlock_error *err)
{
	(void)s;
	(void)name;
	(void)owner;
	return mem_none(err);
}

/* Evicts the holder, as dlock release --force does. */
static int mem_force_release(struct session *s, const char *name,
			     struct dlock_status **evicted,
			     struct dlock_error *err)
{
	int rc = mem_status(s, name, evicted, err);

	pthread_mutex_lock(&mem.mu);
	mem.owner[0] = '\0';
	pthread_cond_broadcast(&mem.changed);
	pthread_mutex_unlock(&mem.mu);
	return rc;
}

static int mem_doctor(const struct dlock_config *cfg, size_t index,
		      struct dlock_doctor_report *report,
		      struct dlock_error *err)
{
	(void)cfg;
	(void)index;
	(void)report;
	return mem_none(err);
}

static const struct backend_ops mem_backend = {
	.version = BACKEND_OPS_VERSION,
	.name = "memory",
	.caps = CAP_MONOTONIC_FENCE,
	.session_open = mem_session_open,
	.session_close = mem_session_close,
	.connect = mem_connect,
	.reached = mem_reached,
	.lock_init = mem_lock_init,
	.lock_free = mem_lock_free,
	.held_by = mem_held_by,
	.try_acquire = mem_try_acquire,
	.wait = mem_wait,
	.leave = mem_leave,
	.renew = mem_renew,
	/* No lease_watch: optional, and nothing here can break unseen. */
	.release = mem_release,
	.status = mem_status,
	.list = mem_list,
	.renew_owner = mem_renew_owner,
	.release_owner = mem_release_owner,
	.force_release = mem_force_release,
	.doctor = mem_doctor,
};

/* ---- helpers ---- */

/* Waits until *counter reaches want; false after HANG_MS. */
static bool wait_count(const int *counter, int want)
{
	int64_t until = now_ms() + HANG_MS;
	bool reached;

	pthread_mutex_lock(&mem.mu);
	while (*counter < want && now_ms() < until) {
		struct timespec ts = { until / 1000,
				       (until % 1000) * 1000000L };

		pthread_cond_timedwait(&mem.changed, &mem.mu, &ts);
	}
	reached = *counter >= want;
	pthread_mutex_unlock(&mem.mu);
	return reached;
}

static struct dlock *client(const struct dlock_config *cfg)
{
	struct dlock_error err;
	struct dlock *d = NULL;

	if (client_new_on(&mem_backend, cfg, &d, &err))
		diag("client_new_on: %s", err.msg);
	return d;
}

static struct dlock_acquire_opts opts_for(int64_t wait_ms, int64_t ttl_ms)
{
	struct dlock_acquire_opts o = { .ttl_ms = ttl_ms, .wait_ms = wait_ms };

	return o;
}

struct waiter_job {
	struct dlock *d;
	struct dlock_lock *lock;
	int rc;
	struct dlock_error err;
};

static void *waiter_main(void *arg)
{
	struct waiter_job *job = arg;
	struct dlock_acquire_opts o = opts_for(-1, 30000);

	job->rc = dlock_acquire(job->d, "k", &o, &job->lock, &job->err);
	return NULL;
}

/* ---- the tests ---- */

static void test_contention(struct dlock *a, struct dlock *b)
{
	struct dlock_acquire_opts now = opts_for(0, 30000);
	struct dlock_acquire_opts brief = opts_for(100, 30000);
	struct dlock_lock *la = NULL, *lb = NULL;
	struct waiter_job job = { .d = b };
	struct dlock_error err;
	pthread_t t;
	int waits;

	is_int(dlock_acquire(a, "k", &now, &la, &err), 0, "acquire a free lock");
	is_str(dlock_lock_fence(la), "1", "... its fencing token");
	is_int(strlen(dlock_lock_owner(la)), 2 * OWNER_BYTES,
	       "... a 32-digit owner token");
	is_int(dlock_acquire(b, "k", &now, &lb, &err), DLOCK_EBUSY,
	       "-n on a held lock: busy");
	ok(strstr(err.msg, "lock 'k' is held by ") &&
	   strstr(err.msg, ", pid "), "... saying who holds it: %s", err.msg);
	is_int(dlock_acquire(b, "k", &brief, &lb, &err), DLOCK_ETIMEDOUT,
	       "-w 100ms on a held lock: the wait runs out");
	ok(strstr(err.msg, "gave up waiting for lock 'k'"), "... saying so");

	pthread_mutex_lock(&mem.mu);
	waits = mem.waits;
	pthread_mutex_unlock(&mem.mu);
	pthread_create(&t, NULL, waiter_main, &job);
	ok(wait_count(&mem.waits, waits + 1), "a waiter blocks in the "
	   "backend's wait");
	is_int(dlock_release(a, la, &err), 0, "the holder releases");
	pthread_join(t, NULL);
	is_int(job.rc, 0, "the blocked waiter is woken and takes the lock");
	if (job.rc == 0) {
		is_str(dlock_lock_fence(job.lock), "2",
		       "... with a greater token");
		is_int(dlock_release(b, job.lock, &err), 0,
		       "... and releases it");
	}
}

static void test_reentrant(struct dlock *a)
{
	struct dlock_acquire_opts now = opts_for(0, 30000);
	struct dlock_lock *outer = NULL, *inner = NULL;
	struct dlock_error err;

	is_int(dlock_acquire(a, "k", &now, &outer, &err), 0, "an outer hold");
	now.inherited_owner = dlock_lock_owner(outer);
	is_int(dlock_acquire(a, "k", &now, &inner, &err), 0,
	       "a nested acquire under the outer owner");
	ok(inner && dlock_lock_is_reentrant(inner), "... is re-entrant");
	if (inner)
		is_int(dlock_release(a, inner, &err), 0,
		       "... and its release leaves the lock alone");
	now.inherited_owner = NULL;
	is_int(dlock_acquire(a, "k", &now, &inner, &err), DLOCK_EBUSY,
	       "... which is still held");
	is_int(dlock_release(a, outer, &err), 0, "the outer hold releases");
}

/* Waits for the lease's descriptor; false after HANG_MS. */
static bool lease_fires(struct dlock_lease *lease)
{
	struct pollfd pfd = { .fd = dlock_lease_fd(lease), .events = POLLIN };

	return poll(&pfd, 1, HANG_MS) == 1;
}

static void test_lease(struct dlock *a, struct dlock *b)
{
	struct dlock_acquire_opts o = opts_for(0, 1500);
	struct dlock_lease_opts lo = { 0 };
	struct dlock_lease *lease = NULL;
	struct dlock_lock *l = NULL;
	struct dlock_status *evicted = NULL, *st = NULL;
	struct dlock_error err;
	int renewals;

	is_int(dlock_acquire(a, "k", &o, &l, &err), 0, "take a 1.5s lease");
	is_int(dlock_lease_start(a, l, &lo, &lease, &err), 0,
	       "start the lease thread");
	is_int(dlock_status_get(a, "k", &st, &err), DLOCK_EUSAGE,
	       "the client's session is the lease's meanwhile");
	pthread_mutex_lock(&mem.mu);
	renewals = mem.renewals;
	pthread_mutex_unlock(&mem.mu);
	ok(wait_count(&mem.renewals, renewals + 4),
	   "the lease is renewed again and again (4 renewals: longer "
	   "than the lease)");
	is_int(dlock_lease_check(lease, &err), 0, "... and still holds");
	is_int(dlock_force_release(b, "k", &evicted, &err), 0,
	       "another client evicts the holder");
	dlock_status_free(evicted);
	ok(lease_fires(lease), "the lease's descriptor fires");
	is_int(dlock_lease_check(lease, &err), DLOCK_ELOST, "the lease is lost");
	ok(strstr(err.msg, "the server no longer has it"), "... because the "
	   "lock is gone: %s", err.msg);
	dlock_lease_stop(lease);
	is_int(dlock_status_get(a, "k", &st, &err), 0,
	       "the client has its session back");
	dlock_status_free(st);
	is_int(dlock_release(a, l, &err), DLOCK_ELOST,
	       "releasing a lost lock says it was not ours");

	is_int(dlock_acquire(a, "k", &o, &l, &err), 0, "take it again");
	is_int(dlock_lease_start(a, l, &lo, &lease, &err), 0,
	       "start the lease thread");
	/* As if it had expired unseen and someone else had taken it. */
	pthread_mutex_lock(&mem.mu);
	snprintf(mem.owner, sizeof(mem.owner), "someone-else");
	pthread_mutex_unlock(&mem.mu);
	ok(lease_fires(lease), "another owner: the lease's descriptor fires");
	is_int(dlock_lease_check(lease, &err), DLOCK_ELOST, "the lease is lost");
	ok(strstr(err.msg, "another owner holds it now"), "... to another "
	   "owner: %s", err.msg);
	dlock_lease_stop(lease);
	is_int(dlock_release(a, l, &err), DLOCK_ELOST,
	       "... and releasing it leaves the other owner's hold alone");
	pthread_mutex_lock(&mem.mu);
	ok(strcmp(mem.owner, "someone-else") == 0, "... which is still there");
	mem.owner[0] = '\0';
	pthread_mutex_unlock(&mem.mu);
}

static void test_checks(const struct dlock_config *cfg, struct dlock *a)
{
	struct dlock_acquire_opts o = opts_for(0, 30000);
	struct backend_ops old = mem_backend;
	struct dlock_lock *l = NULL;
	struct dlock_error err;
	struct dlock *d = NULL;

	o.mode = DLOCK_SHARED;
	is_int(dlock_acquire(a, "k", &o, &l, &err), DLOCK_EUSAGE,
	       "-s where the backend has no CAP_SHARED is refused");
	ok(strstr(err.msg, "the memory backend cannot do shared locks"),
	   "... saying why: %s", err.msg);
	o.mode = DLOCK_LIMIT;
	o.limit = 2;
	is_int(dlock_acquire(a, "k", &o, &l, &err), DLOCK_EUSAGE,
	       "--limit without CAP_LIMIT is refused");
	o.mode = DLOCK_EXCLUSIVE;
	o.lock_delay_ms = 1000;
	is_int(dlock_acquire(a, "k", &o, &l, &err), DLOCK_EUSAGE,
	       "--lock-delay without CAP_LOCK_DELAY is refused");
	old.version = BACKEND_OPS_VERSION + 1;
	is_int(client_new_on(&old, cfg, &d, &err), DLOCK_EUSAGE,
	       "a backend built for another table version is refused");
}

/* Settings with the URLs given, resolved; NULL on failure. */
static struct dlock_config *config_with(const char *const *urls, size_t n)
{
	struct dlock_config *cfg = dlock_config_new();
	struct dlock_error err;

	for (size_t i = 0; cfg && i < n; i++)
		if (dlock_config_set_option(cfg, "url", urls[i], &err))
			goto fail;
	if (cfg && !dlock_config_set_option(cfg, "config", "/dev/null", &err) &&
	    !dlock_config_resolve(cfg, &err))
		return cfg;
fail:
	diag("settings: %s", cfg ? err.msg : "out of memory");
	dlock_config_free(cfg);
	return NULL;
}

/* backend_for(): the number of URLs chooses between one server and a quorum. */
static void test_choice(void)
{
	static const char *const urls[] = { "redis://127.0.0.1:1",
					    "redis://127.0.0.1:2",
					    "redis://127.0.0.1:3",
					    "redis://127.0.0.1:1" };
	const struct backend_ops *ops = NULL;
	struct dlock_config *cfg;
	struct dlock_error err;

	cfg = config_with(urls, 1);
	ok(cfg && backend_for(cfg, &ops, &err) == 0 &&
	   strcmp(ops->name, "redis") == 0, "one URL: one Redis server");
	dlock_config_free(cfg);
	cfg = config_with(urls, 2);
	ok(cfg && backend_for(cfg, &ops, &err) == DLOCK_EUSAGE &&
	   strstr(err.msg, "at least 3 servers"),
	   "two URLs: refused, a majority of two tolerates nothing");
	dlock_config_free(cfg);
	cfg = config_with(urls, 3);
	ok(cfg && backend_for(cfg, &ops, &err) == 0 &&
	   strcmp(ops->name, "quorum") == 0 && !(ops->caps & CAP_SHARED) &&
	   !(ops->caps & CAP_LIMIT) && (ops->caps & CAP_MONOTONIC_FENCE),
	   "three URLs: a quorum, without -s or --limit");
	dlock_config_free(cfg);
	cfg = config_with(urls, 4);
	ok(cfg && backend_for(cfg, &ops, &err) == DLOCK_EUSAGE &&
	   strstr(err.msg, "given twice"), "a URL given twice is refused");
	dlock_config_free(cfg);
}

/*
 * An etcd:// URL is one cluster, whatever the number of its endpoints,
 * never a node of a quorum; what etcd cannot do is refused before any
 * connection (the URL's port has no server).
 */
static void test_etcd_choice(void)
{
	static const char *const urls[] = { "etcd://127.0.0.1:1,127.0.0.1:2",
					    "redis://127.0.0.1:3",
					    "redis://127.0.0.1:4" };
	struct dlock_acquire_opts opts = { .ttl_ms = 1000, .wait_ms = 0 };
	const struct backend_ops *ops = NULL;
	struct dlock_lock *lock = NULL;
	struct dlock_config *cfg;
	struct dlock_error err;
	struct dlock *d = NULL;

	cfg = config_with(urls, 1);
	ok(cfg && backend_for(cfg, &ops, &err) == 0 &&
	   strcmp(ops->name, "etcd") == 0 && (ops->caps & CAP_FIFO) &&
	   (ops->caps & CAP_SHARED) && (ops->caps & CAP_LOCK_DELAY) &&
	   (ops->caps & CAP_MONOTONIC_FENCE) && !(ops->caps & CAP_LIMIT),
	   "an etcd URL with two endpoints: one etcd cluster, without "
	   "--limit");
	ok(cfg && dlock_config_url_count(cfg) == 1 &&
	   cfg->urls[0].nendpoints == 2, "... one URL listing two endpoints");
	ok(cfg && dlock_new(cfg, &d, &err) == 0, "a client on it, no I/O");
	opts.mode = DLOCK_LIMIT;
	opts.limit = 2;
	is_int(d ? dlock_acquire(d, "k", &opts, &lock, &err) : 0, DLOCK_EUSAGE,
	       "--limit on etcd is refused before connecting");
	opts.mode = DLOCK_EXCLUSIVE;
	opts.no_fifo = true;
	is_int(d ? dlock_acquire(d, "k", &opts, &lock, &err) : 0, DLOCK_EUSAGE,
	       "--no-fifo on etcd is refused before connecting");
	ok(strstr(err.msg, "oldest key"), "... saying why: %s", err.msg);
	dlock_free(d);
	dlock_config_free(cfg);
	for (size_t n = 2; n <= 3; n++) {
		cfg = config_with(urls, n);
		ok(cfg && backend_for(cfg, &ops, &err) == DLOCK_EUSAGE &&
		   strstr(err.msg, "never a node of a quorum"),
		   "an etcd URL and %zu more: refused", n - 1);
		dlock_config_free(cfg);
	}
	setenv("DLOCK_URL", "etcd://a:1, b:2,c", 1);
	cfg = config_with(urls, 0);
	unsetenv("DLOCK_URL");
	ok(cfg && dlock_config_url_count(cfg) == 1 &&
	   cfg->urls[0].nendpoints == 3 && cfg->urls[0].endpoints[2].port ==
	   2379, "DLOCK_URL's commas list an etcd URL's endpoints");
	ok(cfg && cfg->prefix_default, "... and no prefix was set");
	dlock_config_free(cfg);
}

int main(void)
{
	struct dlock_config *cfg = dlock_config_new();
	struct dlock_error err;
	pthread_condattr_t ca;
	struct dlock *a, *b;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&mem.changed, &ca);
	/* The URL is never dialled: the client runs on mem_backend. */
	if (!cfg || dlock_config_set_option(cfg, "url", "redis://127.0.0.1:1",
					    &err) ||
	    dlock_config_set_option(cfg, "config", "/dev/null", &err) ||
	    dlock_config_resolve(cfg, &err)) {
		diag("settings: %s", cfg ? err.msg : "out of memory");
		return 1;
	}
	a = client(cfg);
	b = client(cfg);
	if (!a || !b)
		return 1;
	test_contention(a, b);
	test_reentrant(a);
	test_lease(a, b);
	test_checks(cfg, a);
	test_choice();
	test_etcd_choice();
	dlock_free(a);
	dlock_free(b);
	dlock_config_free(cfg);
	return done_testing();
}
