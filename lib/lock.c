/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "redis/conn.h"
#include "lock.h"
#include "redis/scripts.h"

/* While blocked, progress is reported this often. */
#define PROGRESS_MS 1000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define COMMAND_LINE_MAX 1024


struct dlock *dlock_new(const struct dlock_config *cfg)
{
	struct dlock *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->cfg = cfg;
	d->cancel_fd = -1;
	return d;
}

void dlock_free(struct dlock *d)
{
	if (!d)
		return;
	conn_close(d->conn);
	free(d);
}

void dlock_set_log(struct dlock *d, dlock_log_fn *fn, void *arg)
{
	d->log = fn;
	d->log_arg = arg;
}

void dlock_set_progress(struct dlock *d, dlock_progress_fn *fn, void *arg)
{
	d->progress = fn;
	d->progress_arg = arg;
}

void dlock_set_cancel_fd(struct dlock *d, int cancel_fd)
{
	d->cancel_fd = cancel_fd;
}

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

void drop_conn(struct dlock *d)
{
	conn_close(d->conn);
	d->conn = NULL;
}

int dlock_connect(struct dlock *d, struct dlock_error *err)
{
	if (d->conn)
		return 0;
	if (!d->cfg->resolved)
		return set_error(err, DLOCK_EUSAGE, "configuration not resolved");
	return conn_open(d->cfg, 0, now_ms() + d->cfg->connect_timeout_ms,
			 &d->conn, err);
}

/* Runs a script on the client's connection, connecting first if needed. */
int call_script(struct dlock *d, struct script *s, int nkeys,
		const char **keys, int nargs, const char **args,
		redisReply **reply, struct dlock_error *err)
{
	int rc = dlock_connect(d, err);

	if (rc)
		return rc;
	rc = script_run(d->conn, s, nkeys, keys, nargs, args,
			now_ms() + d->cfg->connect_timeout_ms, -1, reply, err);
	if (rc)
		drop_conn(d);
	else
		/* A connection alone proves little: a TLS port accepts too. */
		d->ever_connected = true;
	return rc;
}

int bad_reply(struct dlock *d, const char *what, struct dlock_error *err)
{
	drop_conn(d);
	return set_error(err, DLOCK_ESERVER,
			 "unexpected reply to %s from the server; is the "
			 "key prefix shared with something else?", what);
}

static char *join(const char *a, const char *b, const char *c, const char *e)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + strlen(e) + 1;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s%s%s%s", a, b, c, e);
	return s;
}

void dlock_lock_free(struct dlock_lock *lock)
{
	if (!lock)
		return;
	free(lock->name);
	free(lock->key);
	free(lock->holder_key);
	free(lock->wake_key);
	free(lock->fence_key);
	free(lock->queue_key);
	free(lock->waiters_key);
	free(lock->holders_key);
	free(lock->kind_key);
	free(lock);
}

static int lock_new(const struct dlock_config *cfg, const char *name,
		    const struct dlock_acquire_opts *opts,
		    struct dlock_lock **out, struct dlock_error *err)
{
	struct dlock_lock *l = calloc(1, sizeof(*l));
	int rc;

	if (!l)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	rc = random_hex(l->owner, OWNER_BYTES, err);
	if (rc)
		goto fail;
	l->name = strdup(name);
	l->key = join(cfg->prefix, "{", name, "}");
	if (!l->name || !l->key)
		goto oom;
	l->holder_key = join(l->key, ":holder:", l->owner, "");
	l->wake_key = join(l->key, ":w:", l->owner, "");
	l->fence_key = join(l->key, ":fence", "", "");
	l->queue_key = join(l->key, ":queue", "", "");
	l->waiters_key = join(l->key, ":waiters", "", "");
	l->holders_key = join(l->key, ":holders", "", "");
	l->kind_key = join(l->key, ":kind", "", "");
	if (!l->holder_key || !l->wake_key || !l->fence_key ||
	    !l->queue_key || !l->waiters_key || !l->holders_key ||
	    !l->kind_key)
		goto oom;
	l->mode[0] = "xsl"[opts->mode];
	snprintf(l->limit, sizeof(l->limit), "%ld",
		 opts->mode == DLOCK_LIMIT ? opts->limit : 0);
	l->ttl_ms = opts->ttl_ms;
	l->expiry_ms = opts->ttl_ms + opts->lock_delay_ms;
	*out = l;
	return 0;
oom:
	rc = set_error(err, DLOCK_ENOMEM, "out of memory");
fail:
	dlock_lock_free(l);
	return rc;
}

/*
 * The holder's description for messages, from an acquire busy reply; the
 * age is kept apart, as it changes at every look.
 */
static void describe_holder(const redisReply *r, char *buf, size_t size,
			    long long *age_ms)
{
	const redisReply *host = r->element[3], *pid = r->element[4];
	const redisReply *user = r->element[5], *age = r->element[6];
	const redisReply *cmd = r->element[7];
	size_t n;

	long long holders = r->element[10]->integer;

	*age_ms = age->type == REDIS_REPLY_INTEGER ? age->integer : -1;
	if (holders > 0 && strcmp(r->element[11]->str, "l") == 0) {
		snprintf(buf, size, "%lld holder%s of the semaphore", holders,
			 holders == 1 ? "" : "s");
		return;
	}
	if (holders > 0) {
		snprintf(buf, size, "%lld shared holder%s", holders,
			 holders == 1 ? "" : "s");
		return;
	}
	if (r->element[2]->type != REDIS_REPLY_STRING) {
		snprintf(buf, size, "nobody: it is the turn of a waiter ahead");
		return;
	}
	if (host->type != REDIS_REPLY_STRING) {
		snprintf(buf, size, "another client (owner %.40s), which left "
			 "no details", r->element[2]->str);
		return;
	}
	n = (size_t)snprintf(buf, size, "%s, pid %s", host->str,
			     pid->type == REDIS_REPLY_STRING ? pid->str : "?");
	if (n < size && user->type == REDIS_REPLY_STRING)
		n += (size_t)snprintf(buf + n, size - n, ", user %s", user->str);
	if (n < size && cmd->type == REDIS_REPLY_STRING && cmd->len)
		snprintf(buf + n, size - n, ", running '%.200s'", cmd->str);
}

static bool acquire_reply_ok(const redisReply *r)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER)
		return false;
	switch (r->element[0]->integer) {
	case 1:
		return r->element[1]->type == REDIS_REPLY_INTEGER &&
		       r->element[1]->integer > 0;
	case -1:
		return r->elements == 3 &&
		       r->element[1]->type == REDIS_REPLY_STRING &&
		       r->element[2]->type == REDIS_REPLY_INTEGER;
	case 0:
		return r->elements == 12 &&
		       r->element[1]->type == REDIS_REPLY_INTEGER &&
		       r->element[8]->type == REDIS_REPLY_INTEGER &&
		       r->element[9]->type == REDIS_REPLY_INTEGER &&
		       r->element[10]->type == REDIS_REPLY_INTEGER &&
		       r->element[11]->type == REDIS_REPLY_STRING;
	}
	return false;
}

/* Says how a name is in use as another kind of lock than we asked for. */
static int kind_mismatch(const struct dlock_lock *l, const redisReply *r,
			 struct dlock_error *err)
{
	const char *kind = r->element[1]->str;
	long long limit = r->element[2]->integer;

	if (strcmp(kind, "l") == 0)
		return set_error(err, DLOCK_EUSAGE,
				 "lock '%s' is in use as a counting semaphore "
				 "with --limit %lld; every user of a name must "
				 "give the same --limit", l->name, limit);
	if (strcmp(kind, "s") == 0)
		return set_error(err, DLOCK_EUSAGE,
				 "lock '%s' is in use as a shared/exclusive "
				 "lock (-s/-x), not as a semaphore; drop "
				 "--limit, or use another name", l->name);
	return set_error(err, DLOCK_EUSAGE,
			 "lock '%s' is held as an exclusive lock, not as a "
			 "semaphore; drop --limit, or use another name",
			 l->name);
}

struct holder_info {
	long long pttl;		/* -1: no expiry; -2: free, a waiter is next */
	long long place;	/* in the queue, from 1; 0: unknown */
	long long head_wait;	/* ms the waiter ahead has left; -1: none */
	long long age_ms;	/* how long it has been held; -1: unknown */
	char who[DLOCK_ERRMSG_MAX / 2];
	char who_since[DLOCK_ERRMSG_MAX / 2 + 32];	/* with the age */
};

/* What other users see about a holder: the acquire script's ARGV[3..7]. */
struct holder_meta {
	char host[256];
	char pid[16];
	char user[64];
	char cmd[COMMAND_LINE_MAX];
	char expiry[24];
	char ttl[24];
	bool grab;
};

static void holder_meta_init(struct holder_meta *m, const struct dlock_lock *l,
			     const struct dlock_acquire_opts *opts)
{
	struct passwd *pw = getpwuid(geteuid());

	if (gethostname(m->host, sizeof(m->host) - 1) < 0)
		snprintf(m->host, sizeof(m->host), "unknown");
	m->host[sizeof(m->host) - 1] = '\0';
	snprintf(m->pid, sizeof(m->pid), "%ld",
		 opts->holder_pid ? opts->holder_pid : (long)getpid());
	snprintf(m->user, sizeof(m->user), "%s", pw ? pw->pw_name : "?");
	snprintf(m->cmd, sizeof(m->cmd), "%s",
		 opts->command_line ? opts->command_line : "");
	snprintf(m->expiry, sizeof(m->expiry), "%lld", (long long)l->expiry_ms);
	snprintf(m->ttl, sizeof(m->ttl), "%lld", (long long)l->ttl_ms);
	m->grab = opts->no_fifo;
}

/*
 * One try. Returns 0 when acquired, DLOCK_EBUSY with *holder filled in, or
 * an error.
 */
static int try_acquire(struct dlock *d, struct dlock_lock *l,
		       const struct holder_meta *m, bool join,
		       struct holder_info *holder, struct dlock_error *err)
{
	const char *keys[] = { l->key, l->fence_key, l->holder_key,
			       l->queue_key, l->waiters_key, l->wake_key,
			       l->holders_key, l->kind_key };
	const char *args[] = { l->owner, m->expiry, m->host, m->pid, m->user,
			       m->cmd, m->ttl, HEARTBEAT_WINDOW_TEXT,
			       m->grab ? "grab" : "fifo", join ? "1" : "0",
			       d->log || d->progress ? "1" : "0", l->mode,
			       l->limit };
	redisReply *r = NULL;
	int64_t sent_at;
	int rc;

	sent_at = now_ms();
	rc = call_script(d, &script_acquire, 8, keys, 13, args, &r, err);
	if (rc)
		return rc;
	rc = reply_error(d->conn, r, "run the acquire script", err);
	if (rc)
		goto out;
	if (!acquire_reply_ok(r)) {
		rc = bad_reply(d, "acquire", err);
		goto out;
	}
	if (r->element[0]->integer == -1) {
		rc = kind_mismatch(l, r, err);
		goto out;
	}
	if (r->element[0]->integer == 1) {
		snprintf(l->fence, sizeof(l->fence), "%lld",
			 r->element[1]->integer);
		l->acquired_at = sent_at;
		l->lease_end = lease_end_from(sent_at, l->ttl_ms);
		goto out;
	}
	holder->pttl = r->element[1]->integer;
	holder->place = r->element[8]->integer;
	holder->head_wait = r->element[9]->integer;
	describe_holder(r, holder->who, sizeof(holder->who), &holder->age_ms);
	if (holder->age_ms >= 0)
		snprintf(holder->who_since, sizeof(holder->who_since),
			 "%s (for %lld.%03llds)", holder->who,
			 holder->age_ms / 1000, holder->age_ms % 1000);
	else
		snprintf(holder->who_since, sizeof(holder->who_since), "%s",
			 holder->who);
	rc = DLOCK_EBUSY;
out:
	freeReplyObject(r);
	return rc;
}

/*
 * Whether the process tree we run in holds the lock already: the
 * environment names an owner, and the server agrees.
 */
/* Sends one command; *match tells whether the reply is the string want. */
static int ask(struct dlock *d, int argc, const char **argv, const char *want,
	       bool *match, struct dlock_error *err)
{
	redisReply *r = NULL;
	int rc = conn_call(d->conn, now_ms() + d->cfg->connect_timeout_ms, -1,
			   argc, argv, NULL, &r, err);

	if (rc) {
		drop_conn(d);
		return rc;
	}
	rc = reply_error(d->conn, r, "read the lock", err);
	*match = !rc && r->type == REDIS_REPLY_STRING &&
		 (!want || strcmp(r->str, want) == 0);
	freeReplyObject(r);
	return rc;
}

/*
 * Whether the process tree we run in holds the lock already: the
 * environment names an owner, and the server agrees. An exclusive hold
 * covers a nested shared request; a shared hold cannot become exclusive
 * (two such upgrades would wait for each other), which is refused.
 */
static int check_inherited(struct dlock *d, struct dlock_lock *l,
			   const char *owner, bool *held,
			   struct dlock_error *err)
{
	const char *get[] = { "GET", l->key };
	const char *score[] = { "ZSCORE", l->holders_key, owner };
	bool in_set = false;
	int rc = dlock_connect(d, err);

	*held = false;
	if (rc)
		return rc;
	if (l->mode[0] != 'l') {
		rc = ask(d, 2, get, owner, held, err);
		if (rc || *held)
			return rc;
	}
	rc = ask(d, 3, score, NULL, &in_set, err);
	if (rc || !in_set)
		return rc;
	if (l->mode[0] == 'x')
		return set_error(err, DLOCK_EUSAGE,
				 "lock '%s' is held shared by this process "
				 "tree: a nested -x cannot upgrade it (it "
				 "would wait for itself); take it with -x "
				 "outside", l->name);
	*held = true;
	return 0;
}

/*
 * Blocks on our wake-up list until a release wakes us, until deadline, or
 * until the cancel descriptor is readable. Returns 0 in the first two
 * cases.
 */
static int wait_notice(struct dlock *d, struct dlock_lock *l,
		       int64_t deadline, struct dlock_error *err)
{
	char timeout[32];
	const char *argv[] = { "BLPOP", l->wake_key, timeout };
	redisReply *r = NULL;
	int64_t left = deadline - now_ms();
	int rc;

	if (left <= 0)
		return 0;
	/*
	 * BLPOP's own time-out ends the wait, so the connection stays in
	 * step; the client-side deadline is only a safety net.
	 */
	if (d->whole_second_timeouts)
		snprintf(timeout, sizeof(timeout), "%lld",
			 (long long)((left + 999) / 1000));
	else
		snprintf(timeout, sizeof(timeout), "%lld.%03lld",
			 (long long)(left / 1000), (long long)(left % 1000));
	rc = conn_call(d->conn, deadline + 1000 + d->cfg->connect_timeout_ms,
		       d->cancel_fd, 3, argv, NULL, &r, err);
	if (rc) {
		drop_conn(d);
		return rc;
	}
	if (r->type == REDIS_REPLY_ERROR && !d->whole_second_timeouts &&
	    strstr(r->str, "timeout is not")) {
		d->whole_second_timeouts = true;
		freeReplyObject(r);
		return wait_notice(d, l, deadline, err);
	}
	rc = reply_error(d->conn, r, "wait for the lock (BLPOP)", err);
	freeReplyObject(r);
	return rc;
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
static int wait_turn(struct dlock *d, struct dlock_lock *l, int64_t wake_at,
		     struct dlock_wait_progress *p, int64_t started,
		     struct dlock_error *err)
{
	struct progress_tick tick = { d, p, started };
	int rc;

	if (!d->progress || !d->conn)
		return wait_notice(d, l, wake_at, err);
	report_progress(&tick);
	conn_set_tick(d->conn, report_progress, &tick, PROGRESS_MS);
	rc = wait_notice(d, l, wake_at, err);
	if (d->conn)
		conn_set_tick(d->conn, NULL, NULL, 0);
	return rc;
}

/* Takes us out of the queue; failures only delay others by a heartbeat. */
static void leave_queue(struct dlock *d, struct dlock_lock *l)
{
	const char *keys[] = { l->key, l->queue_key, l->waiters_key,
			       l->wake_key };
	const char *args[] = { l->owner, HEARTBEAT_WINDOW_TEXT, l->mode };
	struct dlock_error ignored;
	redisReply *r = NULL;

	if (call_script(d, &script_leave, 4, keys, 3, args, &r, &ignored) == 0)
		freeReplyObject(r);
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

/* When to look again: a heartbeat, the holder's lease, the waiter ahead. */
static int64_t next_look(const struct holder_info *h, int64_t wait_end)
{
	int64_t wait = HEARTBEAT_MS, at;

	if (h->pttl >= 0 && h->pttl < wait)
		wait = h->pttl;
	if (h->head_wait >= 0 && h->head_wait < wait)
		wait = h->head_wait;
	at = now_ms() + wait;
	return at < wait_end ? at : wait_end;
}

int dlock_acquire(struct dlock *d, const char *name,
		  const struct dlock_acquire_opts *opts,
		  struct dlock_lock **out, struct dlock_error *err)
{
	struct dlock_lock *l = NULL;
	struct holder_meta meta;
	struct holder_info holder;
	struct dlock_wait_progress progress = { .name = name };
	char last_who[sizeof(holder.who)] = "";
	int64_t started = now_ms();
	int64_t wait_end = opts->wait_ms < 0 ? NO_DEADLINE :
			   started + opts->wait_ms;
	int64_t backoff = BACKOFF_MIN_MS;
	bool held, queued = false;
	int rc;

	if (dlock_check_name(name, err))
		return DLOCK_EUSAGE;
	rc = lock_new(d->cfg, name, opts, &l, err);
	if (rc)
		return rc;
	if (opts->inherited_owner && *opts->inherited_owner) {
		rc = check_inherited(d, l, opts->inherited_owner, &held, err);
		if (rc)
			goto fail;
		if (held) {
			snprintf(l->owner, sizeof(l->owner), "%s",
				 opts->inherited_owner);
			l->reentrant = true;
			*out = l;
			return 0;
		}
	}
	holder_meta_init(&meta, l, opts);
	for (;;) {
		rc = try_acquire(d, l, &meta, opts->wait_ms != 0, &holder,
				 err);
		if (rc == 0) {
			*out = l;
			return 0;
		}
		if (rc == DLOCK_EBUSY) {
			backoff = BACKOFF_MIN_MS;
			queued = opts->wait_ms != 0;
			if (opts->wait_ms == 0) {
				rc = set_error(err, DLOCK_EBUSY,
					       "lock '%s' is held by %s", name,
					       holder.who_since);
				goto fail;
			}
			if (now_ms() >= wait_end) {
				rc = set_error(err, DLOCK_ETIMEDOUT,
					       "gave up waiting for lock '%s', "
					       "held by %s", name,
					       holder.who_since);
				goto fail;
			}
			if (strcmp(last_who, holder.who) != 0) {
				if (holder.place)
					log_msg(d, "waiting for lock '%s', held "
						"by %s; place %lld in the queue",
						name, holder.who_since,
						holder.place);
				else
					log_msg(d, "waiting for lock '%s', held "
						"by %s", name, holder.who_since);
				snprintf(last_who, sizeof(last_who), "%s",
					 holder.who);
			}
			progress.holder = holder.who;
			progress.place = holder.place;
			rc = wait_turn(d, l, next_look(&holder, wait_end),
				       &progress, started, err);
			if (rc == 0)
				continue;
		}
		/*
		 * A server that was never reached is a mistake to report now;
		 * one that went away while we waited may come back before the
		 * wait is over.
		 */
		if (rc == DLOCK_ECANCELED || !error_is_transient(rc) ||
		    opts->wait_ms == 0 ||
		    (!d->ever_connected && wait_end == NO_DEADLINE) ||
		    now_ms() + backoff >= wait_end)
			goto fail;
		log_msg(d, "%s; retrying in %lld ms", err->msg,
			(long long)backoff);
		rc = sleep_cancelable(d, now_ms() + backoff, err);
		if (rc)
			goto fail;
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
			  backoff * 2;
	}
fail:
	if (queued)
		leave_queue(d, l);
	dlock_lock_free(l);
	return rc;
}

int dlock_release(struct dlock *d, struct dlock_lock *l,
		  struct dlock_error *err)
{
	const char *keys[] = { l->key, l->holder_key, l->queue_key,
			       l->waiters_key, l->holders_key, l->kind_key };
	const char *args[] = { l->owner, HEARTBEAT_WINDOW_TEXT, l->mode };
	redisReply *r = NULL;
	int rc = 0;

	if (l->reentrant)
		goto out;
	/* The connection may have idled out while the command ran: retry. */
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = call_script(d, &script_release, 6, keys, 3, args, &r, err);
		if (rc == 0 || !error_is_transient(rc))
			break;
	}
	if (rc)
		goto out;
	rc = reply_error(d->conn, r, "run the release script", err);
	if (rc)
		goto out;
	if (r->type != REDIS_REPLY_INTEGER) {
		rc = bad_reply(d, "release", err);
		goto out;
	}
	if (r->integer != 1)
		rc = set_error(err, DLOCK_ELOST,
			       "lock '%s' was no longer ours when released: "
			       "its lease had run out or it was taken over",
			       l->name);
out:
	freeReplyObject(r);
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
