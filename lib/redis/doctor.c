/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "redis.h"

#define PINGS 5
/* The probe's name, in random bytes. */
#define PROBE_BYTES 8
/*
 * The probe lock's lease: should a step after acquire be refused, the
 * lock key expires by itself this soon.
 */
#define PROBE_TTL_MS 5000

/* What the server told about itself; empty strings and -1 are unknown. */
struct facts {
	char version[32];
	char mode[16];		/* standalone, cluster, sentinel */
	char role[16];		/* master, slave or replica */
	long long replicas;
	char master[300];	/* a replica's primary, host:port */
	int aof;
	int cluster;
	long long maxmemory;
	char policy[32];
	char save[128];		/* the RDB schedule; "" means none */
	int save_known;
	/* Why INFO, then CONFIG GET, told nothing: the server's words. */
	char info_refused[160];
	char config_refused[160];
};

struct doctor {
	const struct dlock_config *cfg;
	size_t index;
	const struct url *url;
	const char *user;
	struct conn *conn;
	struct dlock_doctor_report *report;
	/* A cluster: its masters, and the node the probe lock lives on. */
	struct router *router;
	/* A cluster URL's seed that answered, as the router names it. */
	struct url seed;
	char seed_display[300];
};

static void add(struct doctor *d, int level, const char *what,
		const char *fmt, ...) PRINTF_LIKE(4, 5);

void doctor_report_add(struct dlock_doctor_report *r, int level,
		       const char *what, const char *fmt, va_list ap)
{
	struct dlock_doctor_check *c;

	if (r->count >= DLOCK_DOCTOR_MAX_CHECKS)
		return;
	c = &r->checks[r->count++];
	c->level = level;
	snprintf(c->what, sizeof(c->what), "%s", what);
	vsnprintf(c->text, sizeof(c->text), fmt, ap);
}

static void add(struct doctor *d, int level, const char *what,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	doctor_report_add(d->report, level, what, fmt, ap);
	va_end(ap);
}

/* The connection failed under a check: the report ends there. */
static int broken(struct doctor *d, const char *what, int rc,
		  const struct dlock_error *err)
{
	add(d, DLOCK_DOCTOR_FAIL, what, "%s", err->msg);
	return rc;
}

static int call(struct doctor *d, int argc, const char **argv,
		redisReply **reply, struct dlock_error *err)
{
	return conn_call(d->conn, now_ms() + d->cfg->connect_timeout_ms, -1,
			 argc, argv, NULL, reply, err);
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Copies an error reply's text, cut to fit, for a message. */
static void keep_error(const redisReply *r, char *buf, size_t size)
{
	snprintf(buf, size, "%s", r->type == REDIS_REPLY_ERROR ? r->str :
		 "unexpected reply");
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_ns(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/*
 * The first PING also proves the credentials: without a password, a
 * server that wants one answers NOAUTH. A NOPERM answer still is a whole
 * round trip, so a user who may not PING is timed all the same.
 */
static int check_latency(struct doctor *d, struct dlock_error *err)
{
	const char *ping[] = { "PING" };
	int64_t took[PINGS];
	bool refused = false;
	double median, limit;
	int rc;

	for (int i = 0; i < PINGS; i++) {
		redisReply *r = NULL;
		int64_t start = now_ns();

		rc = call(d, 1, ping, &r, err);
		if (rc)
			return broken(d, i ? "latency" : "connect", rc, err);
		took[i] = now_ns() - start;
		if (r->type == REDIS_REPLY_ERROR && !starts_with(r->str, "NOPERM")) {
			rc = reply_error(d->conn, r, "answer PING", err);
			freeReplyObject(r);
			return broken(d, i ? "latency" : "connect", rc, err);
		}
		refused = refused || r->type == REDIS_REPLY_ERROR;
		freeReplyObject(r);
		if (i == 0 && (d->cfg->password || d->url->password))
			add(d, DLOCK_DOCTOR_OK, "connect",
			    "authenticated as user '%s'", d->user);
		else if (i == 0)
			add(d, DLOCK_DOCTOR_OK, "connect",
			    "connected as user '%s', no password needed",
			    d->user);
	}
	qsort(took, PINGS, sizeof(took[0]), cmp_ns);
	median = (double)took[PINGS / 2] / 1e6;
	limit = (double)d->cfg->connect_timeout_ms / 10;
	if (median > limit)
		add(d, DLOCK_DOCTOR_WARN, "latency",
		    "median %.2f ms over %d PINGs, more than a tenth of "
		    "--connect-timeout (%.3gs): requests may time out; use a "
		    "server nearer to this host or a longer --connect-timeout",
		    median, PINGS, (double)d->cfg->connect_timeout_ms / 1000);
	else
		add(d, DLOCK_DOCTOR_OK, "latency", "median %.2f ms over %d PINGs%s",
		    median, PINGS, refused ? " (refused by the ACL, which "
		    "takes the same round trip)" : "");
	return 0;
}

static long long info_number(const char *info, const char *key)
{
	char buf[32];

	if (!info_field(info, key, buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 10);
}

static void parse_info(const char *info, struct facts *f)
{
	char host[256] = "", port[16] = "";

	info_field(info, "redis_version", f->version, sizeof(f->version));
	info_field(info, "redis_mode", f->mode, sizeof(f->mode));
	info_field(info, "role", f->role, sizeof(f->role));
	f->replicas = info_number(info, "connected_slaves");
	if (info_field(info, "master_host", host, sizeof(host)))
		info_field(info, "master_port", port, sizeof(port));
	if (*host)
		snprintf(f->master, sizeof(f->master), "%s:%s", host, port);
	f->aof = (int)info_number(info, "aof_enabled");
	f->cluster = (int)info_number(info, "cluster_enabled");
	f->maxmemory = info_number(info, "maxmemory");
	info_field(info, "maxmemory_policy", f->policy, sizeof(f->policy));
}

/*
 * HELLO runs for any user (Redis 6 and later), so it tells the version,
 * mode and role when the ACL keeps INFO from us.
 */
static int ask_hello(struct doctor *d, struct facts *f,
		     struct dlock_error *err)
{
	const char *hello[] = { "HELLO", "2" };
	redisReply *r = NULL;
	int rc = call(d, 2, hello, &r, err);

	if (rc)
		return rc;
	if (r->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i + 1 < r->elements; i += 2) {
			const redisReply *k = r->element[i];
			const redisReply *v = r->element[i + 1];

			if (k->type != REDIS_REPLY_STRING ||
			    v->type != REDIS_REPLY_STRING)
				continue;
			if (strcmp(k->str, "version") == 0)
				snprintf(f->version, sizeof(f->version), "%s",
					 v->str);
			else if (strcmp(k->str, "mode") == 0)
				snprintf(f->mode, sizeof(f->mode), "%s",
					 v->str);
			else if (strcmp(k->str, "role") == 0)
				snprintf(f->role, sizeof(f->role), "%s",
					 v->str);
		}
	}
	if (strcmp(f->mode, "cluster") == 0)
		f->cluster = 1;
	else if (*f->mode)
		f->cluster = 0;
	freeReplyObject(r);
	return 0;
}

/*
 * CONFIG GET name. Returns 1 with the value in buf, 0 when the server
 * would not tell (the reason goes to f->config_refused), or a connection
 * error.
 */
static int config_get(struct doctor *d, struct facts *f, const char *name,
		      char *buf, size_t size, struct dlock_error *err)
{
	const char *argv[] = { "CONFIG", "GET", name };
	redisReply *r = NULL;
	int rc = call(d, 3, argv, &r, err), found = 0;

	if (rc)
		return rc;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[1]->type == REDIS_REPLY_STRING) {
		snprintf(buf, size, "%s", r->element[1]->str);
		found = 1;
	} else if (r->type == REDIS_REPLY_ERROR) {
		keep_error(r, f->config_refused, sizeof(f->config_refused));
	}
	freeReplyObject(r);
	return found;
}

static int gather(struct doctor *d, struct facts *f, struct dlock_error *err)
{
	const char *info[] = { "INFO" };
	redisReply *r = NULL;
	char buf[64];
	int rc;

	f->replicas = f->maxmemory = -1;
	f->aof = f->cluster = -1;
	rc = call(d, 1, info, &r, err);
	if (rc)
		return rc;
	if (r->type == REDIS_REPLY_STRING)
		parse_info(r->str, f);
	else
		keep_error(r, f->info_refused, sizeof(f->info_refused));
	freeReplyObject(r);
	if (!*f->version) {
		rc = ask_hello(d, f, err);
		if (rc)
			return rc;
	}
	if (f->aof < 0) {
		rc = config_get(d, f, "appendonly", buf, sizeof(buf), err);
		if (rc < 0)
			return rc;
		if (rc)
			f->aof = strcmp(buf, "yes") == 0;
	}
	if (f->aof == 0) {
		rc = config_get(d, f, "save", f->save, sizeof(f->save), err);
		if (rc < 0)
			return rc;
		f->save_known = rc;
	}
	if (!*f->policy) {
		rc = config_get(d, f, "maxmemory-policy", f->policy,
				sizeof(f->policy), err);
		if (rc < 0)
			return rc;
	}
	if (f->maxmemory < 0) {
		rc = config_get(d, f, "maxmemory", buf, sizeof(buf), err);
		if (rc < 0)
			return rc;
		if (rc)
			f->maxmemory = strtoll(buf, NULL, 10);
	}
	return 0;
}

/* Why something is unknown, in the server's words. */
static const char *refusal(const struct facts *f)
{
	if (*f->info_refused)
		return f->info_refused;
	if (*f->config_refused)
		return f->config_refused;
	return "the server did not say";
}

static bool is_replica(const struct facts *f)
{
	return strcmp(f->role, "slave") == 0 || strcmp(f->role, "replica") == 0;
}

static void check_server(struct doctor *d, const struct facts *f)
{
	if (!*f->version) {
		add(d, DLOCK_DOCTOR_NOTE, "server",
		    "version unknown (%s); dlock needs Redis 4.0 or later",
		    refusal(f));
		return;
	}
	if (atoi(f->version) < 4) {
		add(d, DLOCK_DOCTOR_WARN, "server",
		    "Redis %s is too old: dlock needs Redis 4.0 or later; "
		    "upgrade the server", f->version);
		return;
	}
	if (strcmp(f->mode, "sentinel") == 0) {
		add(d, DLOCK_DOCTOR_WARN, "server",
		    "Redis %s is a Sentinel, which holds no data; point --url "
		    "at the primary it watches (SENTINEL "
		    "GET-MASTER-ADDR-BY-NAME)", f->version);
		return;
	}
	add(d, DLOCK_DOCTOR_OK, "server", "Redis %s%s%s", f->version,
	    *f->mode ? ", " : "", f->mode);
}

static void check_role(struct doctor *d, const struct facts *f)
{
	if (is_replica(f)) {
		add(d, DLOCK_DOCTOR_FAIL, "role",
		    "this is a replica%s%s; use "
		    "redis+sentinel://SENTINEL[,SENTINEL...]/SERVICE or point "
		    "--url at the master", *f->master ? " of " : "",
		    f->master);
		return;
	}
	if (strcmp(f->role, "master") != 0) {
		add(d, DLOCK_DOCTOR_NOTE, "role",
		    "unknown (%s); dlock needs a primary, not a replica",
		    refusal(f));
		return;
	}
	if (f->replicas == 0) {
		add(d, DLOCK_DOCTOR_OK, "role", "primary, no replicas");
		return;
	}
	if (f->replicas < 0) {
		add(d, DLOCK_DOCTOR_NOTE, "role",
		    "primary; whether it has replicas is unknown (%s); if it "
		    "has, replication is asynchronous and a failover can lose "
		    "a lock, so let the command check its fencing token "
		    "(DLOCK_TOKEN)", refusal(f));
		return;
	}
	add(d, DLOCK_DOCTOR_WARN, "role",
	    "primary with %lld connected replica%s: replication is "
	    "asynchronous, so a failover can lose a lock taken just before it "
	    "and let a second holder in; if failover is automatic (Sentinel), "
	    "make the command check its fencing token (DLOCK_TOKEN) where it "
	    "writes", f->replicas, f->replicas == 1 ? "" : "s");
}

static void check_persistence(struct doctor *d, const struct facts *f)
{
	if (f->aof == 1) {
		add(d, DLOCK_DOCTOR_OK, "persistence", "AOF is on");
		return;
	}
	if (f->aof == 0 && f->save_known && *f->save) {
		add(d, DLOCK_DOCTOR_OK, "persistence",
		    "RDB snapshots (save %s), no AOF: a restart loses the "
		    "locks taken since the last snapshot; appendonly yes "
		    "narrows that", f->save);
		return;
	}
	if (f->aof == 0 && f->save_known) {
		add(d, DLOCK_DOCTOR_WARN, "persistence",
		    "neither AOF nor RDB snapshots are on: a restart loses "
		    "every lock and lets second holders in; set appendonly "
		    "yes in redis.conf (and CONFIG SET appendonly yes)");
		return;
	}
	add(d, DLOCK_DOCTOR_NOTE, "persistence",
	    "unknown%s (%s); make sure the server has appendonly yes or an "
	    "RDB save schedule, or a restart loses every lock",
	    f->aof == 0 ? " whether RDB snapshots are on, AOF is off" : "",
	    refusal(f));
}

static void check_policy(struct doctor *d, const struct facts *f)
{
	const char *limitless = f->maxmemory == 0 ?
		" (maxmemory is 0, so nothing is evicted until a limit is "
		"set)" : "";

	if (!*f->policy) {
		add(d, DLOCK_DOCTOR_NOTE, "maxmemory-policy",
		    "unknown (%s); it should be noeviction, so that no lock "
		    "is evicted", refusal(f));
		return;
	}
	if (strcmp(f->policy, "noeviction") == 0) {
		add(d, DLOCK_DOCTOR_OK, "maxmemory-policy", "noeviction");
		return;
	}
	if (starts_with(f->policy, "allkeys-"))
		add(d, DLOCK_DOCTOR_WARN, "maxmemory-policy",
		    "%s can evict a held lock when memory runs short and let "
		    "a second holder in%s; set maxmemory-policy noeviction",
		    f->policy, limitless);
	else if (starts_with(f->policy, "volatile-"))
		add(d, DLOCK_DOCTOR_WARN, "maxmemory-policy",
		    "%s can evict lock keys, which all have an expiry, when "
		    "memory runs short and let a second holder in%s; set "
		    "maxmemory-policy noeviction", f->policy, limitless);
	else
		add(d, DLOCK_DOCTOR_NOTE, "maxmemory-policy",
		    "%s, unknown to dlock; noeviction keeps every lock",
		    f->policy);
}

/* A lock of its own for the probe, which nobody else will ask for. */
struct probe {
	char name[32];
	char owner[2 * OWNER_BYTES + 1];
	struct redis_keys keys;
	struct holder_meta meta;
};

static int probe_init(struct probe *p, const char *prefix,
		      struct dlock_error *err)
{
	char hex[2 * PROBE_BYTES + 1];
	int rc;

	/* Every field, keeps_alive too: the probe lives on the stack. */
	memset(p, 0, sizeof(*p));
	rc = random_hex(hex, PROBE_BYTES, err);
	if (!rc)
		rc = random_hex(p->owner, OWNER_BYTES, err);
	if (rc)
		return rc;
	snprintf(p->name, sizeof(p->name), "dlock-doctor-%s", hex);
	if (gethostname(p->meta.host, sizeof(p->meta.host) - 1) < 0)
		snprintf(p->meta.host, sizeof(p->meta.host), "unknown");
	p->meta.host[sizeof(p->meta.host) - 1] = '\0';
	snprintf(p->meta.pid, sizeof(p->meta.pid), "%ld", (long)getpid());
	user_name(p->meta.user, sizeof(p->meta.user));
	snprintf(p->meta.command, sizeof(p->meta.command), "dlock doctor");
	return redis_keys_init(&p->keys, prefix, p->name, p->owner, err);
}

/*
 * The exclusive steps, then a shared acquire and release: a free
 * exclusive lock's acquire asks no sorted-set command, which shared locks
 * and any queue need.
 */
enum {
	STEP_ACQUIRE, STEP_STATUS, STEP_RENEW, STEP_RELEASE, STEP_LEAVE,
	STEP_SHARED_ACQUIRE, STEP_SHARED_RELEASE, STEPS
};

static const char *const step_names[STEPS] = {
	"acquire", "status", "renew", "release", "leave", "shared acquire",
	"shared release",
};

/* Whether a script's reply says the step did what it should. */
static bool step_reply_ok(int step, const redisReply *r)
{
	if (step == STEP_ACQUIRE || step == STEP_SHARED_ACQUIRE)
		return r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		       r->element[0]->type == REDIS_REPLY_INTEGER &&
		       r->element[0]->integer == 1;
	if (step == STEP_LEAVE)
		return r->type == REDIS_REPLY_INTEGER;
	if (step == STEP_STATUS)
		return r->type == REDIS_REPLY_ARRAY && r->elements == 10;
	return r->type == REDIS_REPLY_INTEGER && r->integer == 1;
}

/* Runs one step as the lock's users do. Returns 0 with the reply. */
static int run_step(struct doctor *d, const struct probe *p, int step,
		    redisReply **r, struct dlock_error *err)
{
	const struct acquire_call acquire = {
		.owner = p->owner,
		.expiry_ms = PROBE_TTL_MS,
		.ttl_ms = PROBE_TTL_MS,
		.meta = &p->meta,
		.mode = step == STEP_SHARED_ACQUIRE ? DLOCK_SHARED :
			DLOCK_EXCLUSIVE,
	};
	const struct redis_keys *k = &p->keys;
	int64_t deadline = now_ms() + d->cfg->connect_timeout_ms;

	switch (step) {
	case STEP_ACQUIRE:
	case STEP_SHARED_ACQUIRE:
		return call_acquire(d->conn, k, &acquire, deadline, r, err);
	case STEP_STATUS:
		return call_inspect(d->conn, k, deadline, r, err);
	case STEP_RENEW:
		return call_renew(d->conn, k, p->owner, PROBE_TTL_MS, 'x',
				  deadline, -1, r, err);
	case STEP_RELEASE:
		return call_release(d->conn, k, p->owner, 'x', deadline, r,
				    err);
	case STEP_LEAVE:
		return call_leave(d->conn, k, p->owner, 'x', deadline, r, err);
	default:
		return call_release(d->conn, k, p->owner, 's', deadline, r,
				    err);
	}
}

/*
 * Deletes what the probe left: the fence counter always, and whatever a
 * refused step left behind. Returns 0 or a connection error.
 */
static int probe_cleanup(struct doctor *d, const struct probe *p,
			 bool *done, struct dlock_error *err)
{
	const struct redis_keys *k = &p->keys;
	const char *del[] = { "DEL", k->lock, k->fence, k->holder, k->queue,
			      k->waiters, k->wake, k->holders, k->kind,
			      k->waiter };
	redisReply *r = NULL;
	int rc = call(d, (int)ARRAY_SIZE(del), del, &r, err);

	if (rc)
		return rc;
	*done = r->type == REDIS_REPLY_INTEGER;
	if (!*done)
		add(d, DLOCK_DOCTOR_WARN, "cleanup",
		    "could not delete the probe's fence counter %s (%s); "
		    "delete it by hand with DEL; the probe's other keys "
		    "expire by themselves", k->fence, r->type == REDIS_REPLY_ERROR ?
		    r->str : "unexpected reply");
	freeReplyObject(r);
	return 0;
}

/*
 * Runs the steps until one fails; says whether any ran on the server and
 * which failed (-1: none). Returns 0 or a connection error.
 */
static int probe_steps(struct doctor *d, const struct probe *p, bool *ran,
		       int *failed, struct dlock_error *err)
{
	int rc;

	for (int step = 0; step < STEPS && *failed < 0; step++) {
		struct dlock_error why;
		redisReply *r = NULL;

		rc = run_step(d, p, step, &r, err);
		if (rc)
			return rc;
		/*
		 * An error raised inside a script names it, and what the
		 * script wrote before stays; a refusal before it ran (by the
		 * ACL, or a cluster slot) leaves nothing to clean up.
		 */
		*ran = *ran || r->type != REDIS_REPLY_ERROR ||
		      strstr(r->str, "script");
		if (r->type == REDIS_REPLY_ERROR) {
			*failed = step;
			if (reply_error(d->conn, r, "run a script", &why) ==
			    DLOCK_EAUTH)
				add(d, DLOCK_DOCTOR_FAIL, "scripts",
				    "user '%s' may not run the %s script on "
				    "%s: %s; give the user the ACL rule in "
				    "dlock(1), with keys '~%s*'", d->user,
				    step_names[step], p->keys.lock, r->str,
				    d->cfg->prefix);
			else
				add(d, DLOCK_DOCTOR_FAIL, "scripts",
				    "the %s script failed on %s: %s",
				    step_names[step], p->keys.lock, why.msg);
		} else if (!step_reply_ok(step, r)) {
			*failed = step;
			add(d, DLOCK_DOCTOR_FAIL, "scripts",
			    "unexpected reply to the %s script on %s; is the "
			    "key prefix '%s' shared with something else?",
			    step_names[step], p->keys.lock, d->cfg->prefix);
		}
		freeReplyObject(r);
	}
	return 0;
}

/* CLUSTER INFO's cluster_state on c, or "?" when it does not say. */
static void cluster_state(struct doctor *d, struct conn *c, char *buf,
			  size_t size)
{
	const char *argv[] = { "CLUSTER", "INFO" };
	struct dlock_error ignored;
	redisReply *r = NULL;

	snprintf(buf, size, "?");
	if (conn_call(c, now_ms() + d->cfg->connect_timeout_ms, -1, 2, argv,
		      NULL, &r, &ignored) == 0 && r->type == REDIS_REPLY_STRING)
		info_field(r->str, "cluster_state", buf, size);
	freeReplyObject(r);
}

/*
 * Another master of the cluster: persistence, eviction and its view of
 * the cluster, told in one line so that a large cluster fits the report.
 */
static void check_master(struct doctor *d, struct conn *c)
{
	struct dlock_doctor_report sub = { 0 };
	struct doctor m = { .cfg = d->cfg, .url = d->url, .user = d->user,
			    .conn = c, .report = &sub };
	struct facts f = { 0 };
	struct dlock_error err;
	char state[32], text[DLOCK_ERRMSG_MAX] = "";
	int level = DLOCK_DOCTOR_OK;
	size_t n = 0;

	if (gather(&m, &f, &err)) {
		add(d, DLOCK_DOCTOR_FAIL, "master", "%s: %s", conn_display(c),
		    err.msg);
		return;
	}
	check_persistence(&m, &f);
	check_policy(&m, &f);
	cluster_state(d, c, state, sizeof(state));
	if (strcmp(state, "ok") != 0)
		add(&m, DLOCK_DOCTOR_FAIL, "cluster", "cluster_state:%s",
		    state);
	for (size_t i = 0; i < sub.count; i++) {
		if (sub.checks[i].level > level)
			level = sub.checks[i].level;
		if (sub.checks[i].level > DLOCK_DOCTOR_OK && n < sizeof(text))
			n += (size_t)snprintf(text + n, sizeof(text) - n,
					      "%s%s: %s", n ? "; " : "",
					      sub.checks[i].what,
					      sub.checks[i].text);
	}
	add(d, level, "master", "%s: %s", conn_display(c), n ? text :
	    "persistence, eviction policy and cluster_state:ok as above");
}

/*
 * Locks live on every master of a cluster: the one we reached is checked
 * above, the others here, and the cluster must serve every slot.
 */
static void check_cluster(struct doctor *d)
{
	struct dlock_error err;
	char state[32];
	struct conn *c;
	size_t i;

	cluster_state(d, d->conn, state, sizeof(state));
	if (router_cluster_open(d->cfg, d->index, &d->router, &err)) {
		d->router = NULL;
		add(d, DLOCK_DOCTOR_FAIL, "cluster", "%s", err.msg);
		return;
	}
	for (i = 0;; i++) {
		if (d->router->ops->master(d->router, i, now_ms() +
					   d->cfg->connect_timeout_ms, &c,
					   &err)) {
			add(d, DLOCK_DOCTOR_FAIL, "cluster",
			    "cluster_state:%s; %s", state, err.msg);
			return;
		}
		if (!c)
			break;
		if (strcmp(conn_display(c), d->seed_display) != 0)
			check_master(d, c);
	}
	add(d, strcmp(state, "ok") ? DLOCK_DOCTOR_FAIL : DLOCK_DOCTOR_OK,
	    "cluster", "cluster_state:%s, %zu master%s; each lock lives on "
	    "the master of its hash slot", state, i, i == 1 ? "" : "s");
}

static int check_scripts(struct doctor *d, const struct facts *f,
			 struct dlock_error *err)
{
	struct probe p;
	bool ran = false, cleaned = false;
	int rc, failed = -1;

	if (is_replica(f) || strcmp(f->mode, "sentinel") == 0) {
		add(d, DLOCK_DOCTOR_NOTE, "scripts",
		    "not tried on a %s; run dlock doctor against the primary",
		    is_replica(f) ? "replica" : "Sentinel");
		return 0;
	}
	rc = probe_init(&p, d->cfg->prefix, err);
	if (rc)
		return broken(d, "scripts", rc, err);
	/* In a cluster, on the master of the probe's slot. */
	if (d->router)
		d->router->ops->node_for(d->router, p.keys.lock, now_ms() +
					 d->cfg->connect_timeout_ms, &d->conn,
					 err);
	rc = probe_steps(d, &p, &ran, &failed, err);
	if (rc) {
		redis_keys_clear(&p.keys);
		return broken(d, "scripts", rc, err);
	}
	if (ran)
		rc = probe_cleanup(d, &p, &cleaned, err);
	if (rc) {
		redis_keys_clear(&p.keys);
		return broken(d, "cleanup", rc, err);
	}
	if (failed < 0)
		add(d, DLOCK_DOCTOR_OK, "scripts",
		    "acquire, status, renew, release, leave, shared "
		    "acquire and release ran on %s%s", p.keys.lock,
		    cleaned ? "; probe keys deleted" : "");
	redis_keys_clear(&p.keys);
	return 0;
}

/* A plain URL's server, or the first seed of a cluster URL that answers. */
static int connect_seed(struct doctor *d, struct dlock_error *err)
{
	const struct url *u = d->url;
	int rc = 0;

	snprintf(d->seed_display, sizeof(d->seed_display), "%s", u->display);
	if (!u->cluster)
		return conn_open(d->cfg, d->index, now_ms() +
				 d->cfg->connect_timeout_ms, &d->conn, err);
	/* The seed keeps the URL's display: messages name what was given. */
	d->seed = *u;
	for (size_t i = 0; i < u->nseeds; i++) {
		bool v6 = strchr(u->seeds[i].host, ':') != NULL;

		d->seed.host = u->seeds[i].host;
		d->seed.port = u->seeds[i].port;
		rc = conn_open_url(d->cfg, &d->seed, now_ms() +
				   d->cfg->connect_timeout_ms, &d->conn, err);
		if (rc == 0) {
			snprintf(d->seed_display, sizeof(d->seed_display),
				 "%s://%s%s%s:%d", u->tls ? "rediss" : "redis",
				 v6 ? "[" : "", d->seed.host, v6 ? "]" : "",
				 d->seed.port);
			return 0;
		}
	}
	return rc;
}

int redis_doctor_conn(const struct dlock_config *cfg, const struct url *url,
		      const char *user, struct conn *conn,
		      struct dlock_doctor_report *report,
		      struct dlock_error *err)
{
	struct doctor d = { .cfg = cfg, .report = report, .url = url,
			    .conn = conn };
	struct facts f = { 0 };
	int rc;

	d.user = user ? user : "default";
	rc = check_latency(&d, err);
	if (rc)
		return rc;
	rc = gather(&d, &f, err);
	if (rc)
		return broken(&d, "server", rc, err);
	check_server(&d, &f);
	check_role(&d, &f);
	if (is_replica(&f))
		return set_error(err, DLOCK_ESERVER, "%s is a replica%s%s",
				 url->display, *f.master ? " of " : "",
				 f.master);
	check_persistence(&d, &f);
	check_policy(&d, &f);
	return check_scripts(&d, &f, err);
}

int redis_doctor(const struct dlock_config *cfg, size_t index,
		 struct dlock_doctor_report *report, struct dlock_error *err)
{
	struct doctor d = { .cfg = cfg, .index = index, .report = report };
	struct facts f = { 0 };
	struct conn *seed;
	int rc;

	d.url = &cfg->urls[index];
	d.user = cfg->user ? cfg->user : d.url->user ? d.url->user : "default";
	rc = connect_seed(&d, err);
	if (rc)
		return broken(&d, "connect", rc, err);
	rc = check_latency(&d, err);
	if (rc)
		goto out_close;
	rc = gather(&d, &f, err);
	if (rc) {
		broken(&d, "server", rc, err);
		goto out_close;
	}
	check_server(&d, &f);
	check_role(&d, &f);
	/* A quorum's doctor goes on: it names the node a replica of which. */
	if (is_replica(&f) && cfg->nurls == 1) {
		rc = set_error(err, DLOCK_ESERVER, "%s is a replica%s%s",
			       d.url->display, *f.master ? " of " : "",
			       f.master);
		goto out_close;
	}
	check_persistence(&d, &f);
	check_policy(&d, &f);
	seed = d.conn;
	if (f.cluster == 1)
		check_cluster(&d);
	rc = check_scripts(&d, &f, err);
	d.conn = seed;
	if (d.router)
		d.router->ops->close(d.router);
out_close:
	conn_close(d.conn);
	return rc;
}
