/* SPDX-License-Identifier: MIT */
/*
 * dlock doctor on an etcd cluster: each endpoint's version and raft
 * state, the members and their leader, authentication, and a probe lock
 * taken, renewed and released as dlock run does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"

extern const struct backend_ops etcd_backend;

/* The probe's lease: a probe cut short is gone this soon. */
#define PROBE_TTL_MS 5000
#define PROBE_BYTES 8

struct doctor {
	struct session *s;
	struct dlock_doctor_report *report;
};

static void add(struct doctor *d, int level, const char *what,
		const char *fmt, ...) PRINTF_LIKE(4, 5);

static void add(struct doctor *d, int level, const char *what,
		const char *fmt, ...)
{
	struct dlock_doctor_check *c;
	va_list ap;

	if (d->report->count >= DLOCK_DOCTOR_MAX_CHECKS)
		return;
	c = &d->report->checks[d->report->count++];
	c->level = level;
	snprintf(c->what, sizeof(c->what), "%s", what);
	va_start(ap, fmt);
	vsnprintf(c->text, sizeof(c->text), fmt, ap);
	va_end(ap);
}

/* "3.4.23" is at least 3.4: the oldest the gateway paths serve. */
static bool version_ok(const char *v)
{
	int major = 0, minor = 0;

	if (sscanf(v, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 3 || (major == 3 && minor >= 4);
}

/*
 * One endpoint: its version (GET /version) and its raft state. Returns
 * 0 when it answered; *leader is the leader it names (0: none).
 */
static int check_endpoint(struct doctor *d, size_t i, uint64_t *leader,
			  struct dlock_error *err)
{
	const char *name = d->s->endpoints[i].display, *version;
	struct json *v = NULL, *st = NULL;
	uint64_t id = 0;
	int64_t start = now_ms(), deadline = etcd_deadline(d->s);
	int rc;

	*leader = 0;
	rc = etcd_call_endpoint(d->s->client, i, "GET", "/version", NULL,
				deadline, -1, &v, err);
	if (!rc)
		rc = etcd_call_endpoint(d->s->client, i, "POST",
					"/v3/maintenance/status", "{}",
					deadline, -1, &st, err);
	if (rc) {
		add(d, rc == DLOCK_EAUTH || rc == DLOCK_ECONFIG ?
		    DLOCK_DOCTOR_FAIL : DLOCK_DOCTOR_WARN, "endpoint",
		    "%s: %s", name, err->msg);
		json_free(v);
		return rc;
	}
	d->s->reached = true;
	version = json_string(json_get(v, "etcdserver"), NULL);
	json_uint64(json_get(st, "leader"), leader);
	json_uint64(json_path(st, "header.member_id"), &id);
	if (!version || !version_ok(version))
		add(d, DLOCK_DOCTOR_WARN, "endpoint", "%s: etcd %s; dlock "
		    "needs 3.4 or later (its JSON gateway paths)", name,
		    version ? version : "of an unknown version");
	else
		add(d, DLOCK_DOCTOR_OK, "endpoint", "%s: etcd %s, %s, "
		    "answered in %lld ms", name, version,
		    !*leader ? "sees no leader" :
		    *leader == id ? "the leader" : "a follower",
		    (long long)(now_ms() - start));
	json_free(v);
	json_free(st);
	return 0;
}

static void check_members(struct doctor *d, uint64_t leader)
{
	struct dlock_error err;
	struct json *r;
	struct jbuf b;
	const char *leader_name = NULL;
	size_t n;

	jbuf_init(&b);
	jbuf_raw(&b, "{}");
	if (etcd_post(d->s, "/v3/cluster/member/list", &b,
		      etcd_deadline(d->s), -1, &r, &err)) {
		add(d, DLOCK_DOCTOR_NOTE, "members", "could not list the "
		    "members: %s", err.msg);
		return;
	}
	n = json_count(json_get(r, "members"));
	for (size_t i = 0; i < n; i++) {
		const struct json *m = json_at(json_get(r, "members"), i);
		uint64_t id = 0;

		if (json_uint64(json_get(m, "ID"), &id) && id == leader)
			leader_name = json_string(json_get(m, "name"), NULL);
	}
	if (n == 1)
		add(d, DLOCK_DOCTOR_NOTE, "members", "1 member: the locks are "
		    "lost with it; 3 or 5 members survive 1 or 2 failures");
	else if (n % 2 == 0)
		add(d, DLOCK_DOCTOR_WARN, "members", "%zu members: an even "
		    "count tolerates no more failures than %zu; use an odd "
		    "one", n, n - 1);
	else
		add(d, DLOCK_DOCTOR_OK, "members", "%zu members, survive %zu "
		    "failures", n, (n - 1) / 2);
	if (!leader)
		add(d, DLOCK_DOCTOR_FAIL, "leader", "no endpoint names a "
		    "leader: the cluster has lost its quorum, and no lock can "
		    "be taken or renewed");
	else
		add(d, DLOCK_DOCTOR_OK, "leader", "%s (%llx)",
		    leader_name && *leader_name ? leader_name : "unnamed",
		    (unsigned long long)leader);
	json_free(r);
}

/* etcd 3.5 says whether authentication is on; 3.4 has no such call. */
static void check_auth(struct doctor *d, const struct dlock_config *cfg)
{
	const struct url *u = &cfg->urls[0];
	struct dlock_error err;
	struct json *r;
	struct jbuf b;
	bool user = cfg->user || u->user;

	jbuf_init(&b);
	jbuf_raw(&b, "{}");
	if (etcd_post(d->s, "/v3/auth/status", &b, etcd_deadline(d->s), -1,
		      &r, &err)) {
		add(d, DLOCK_DOCTOR_NOTE, "auth", "etcd does not say whether "
		    "authentication is on (3.4 cannot); %s", user ?
		    "the user was accepted" : "no user was given");
		return;
	}
	if (json_true(json_get(r, "enabled")))
		add(d, DLOCK_DOCTOR_OK, "auth", "on; the user was accepted");
	else
		add(d, DLOCK_DOCTOR_NOTE, "auth", "off: anyone who reaches "
		    "etcd can delete a lock key; turn it on with etcdctl auth "
		    "enable");
	json_free(r);
}

/* A lock of the doctor's own, taken, renewed and released. */
static int probe(struct doctor *d, struct dlock_error *err)
{
	struct dlock_lock lock = { .ops = &etcd_backend };
	struct holder_meta meta = { .keeps_alive = true };
	struct try_result res;
	enum renew_result renewed = RENEW_GONE;
	char hex[2 * PROBE_BYTES + 1], name[32];
	bool ours = false;
	int rc;

	rc = random_hex(hex, PROBE_BYTES, err);
	if (!rc)
		rc = random_hex(lock.owner, OWNER_BYTES, err);
	if (rc)
		return rc;
	snprintf(name, sizeof(name), "dlock-doctor-%s", hex);
	snprintf(meta.host, sizeof(meta.host), "dlock doctor");
	snprintf(meta.command, sizeof(meta.command), "dlock doctor");
	lock.name = name;
	lock.ttl_ms = lock.expiry_ms = PROBE_TTL_MS;
	rc = etcd_backend.lock_init(d->s, &lock, err);
	if (rc)
		return rc;
	rc = etcd_backend.try_acquire(d->s, &lock, &meta, false, false, &res,
				      err);
	if (!rc && res.outcome != TRY_TAKEN)
		rc = set_error(err, DLOCK_ESERVER, "the probe lock %s was "
			       "busy, which nobody else asks for", name);
	if (!rc)
		rc = etcd_backend.renew(d->s, &lock, etcd_deadline(d->s), -1,
					&renewed, err);
	if (!rc && renewed != RENEWED)
		rc = set_error(err, DLOCK_ESERVER, "the probe lock %s was "
			       "gone at once after it was taken", name);
	if (!rc)
		rc = etcd_backend.release(d->s, &lock, &ours, err);
	if (rc)
		etcd_backend.leave(d->s, &lock);
	etcd_backend.lock_free(lock.impl);
	if (rc) {
		add(d, DLOCK_DOCTOR_FAIL,
		    "probe", "%s", err->msg);
		return rc == DLOCK_ECONN || rc == DLOCK_EAUTH ? rc : 0;
	}
	add(d, DLOCK_DOCTOR_OK, "probe", "took, renewed and released lock "
	    "%s (token %s) under %s", name, lock.fence,
	    *d->s->prefix ? d->s->prefix : "no prefix");
	return 0;
}

int etcd_doctor(const struct dlock_config *cfg, size_t index,
		struct dlock_doctor_report *report, struct dlock_error *err)
{
	struct doctor d = { .report = report };
	uint64_t leader = 0, seen;
	size_t answered = 0;
	int rc, first_rc = 0;

	rc = etcd_session_new(cfg, index, &d.s, err);
	if (rc) {
		add(&d, DLOCK_DOCTOR_FAIL, "connect", "%s", err->msg);
		return rc;
	}
	for (size_t i = 0; i < d.s->nendpoints; i++) {
		rc = check_endpoint(&d, i, &seen, err);
		if (rc && !first_rc)
			first_rc = rc;
		if (rc)
			continue;
		answered++;
		if (seen)
			leader = seen;
	}
	if (!answered) {
		rc = set_error(err, first_rc, "no endpoint of %s answered",
			       cfg->urls[index].display);
		goto out;
	}
	check_members(&d, leader);
	check_auth(&d, cfg);
	add(&d, DLOCK_DOCTOR_NOTE, "clock", "etcd's answers carry no time, "
	    "and its leases need none: a lease runs on the leader's "
	    "monotonic clock, so the local clock is not compared");
	rc = probe(&d, err);
out:
	etcd_session_free(d.s);
	return rc;
}
