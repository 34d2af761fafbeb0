/* SPDX-License-Identifier: MIT */
/*
 * dlock doctor through Sentinel: do the sentinels agree on the master and
 * how they fail it over, does the master have replicas to confirm writes
 * and refuse writes when cut off from them; then the master's own checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis.h"

/* What one sentinel says of the master (SENTINEL MASTER SERVICE). */
struct view {
	bool answered;
	char addr[300];		/* ip:port */
	char flags[64];
	long long quorum, down_after, replicas, others;
	char why[DLOCK_ERRMSG_MAX];
};

static void add(struct dlock_doctor_report *r, int level, const char *what,
		const char *fmt, ...) PRINTF_LIKE(4, 5);

static void add(struct dlock_doctor_report *r, int level, const char *what,
		const char *fmt, ...)
{
	struct dlock_doctor_check *c;
	va_list ap;

	if (r->count >= DLOCK_DOCTOR_MAX_CHECKS)
		return;
	c = &r->checks[r->count++];
	c->level = level;
	snprintf(c->what, sizeof(c->what), "%s", what);
	va_start(ap, fmt);
	vsnprintf(c->text, sizeof(c->text), fmt, ap);
	va_end(ap);
}

/* The fields of SENTINEL MASTER's flat list of names and values. */
static void parse_view(const redisReply *r, struct view *v)
{
	char ip[256] = "", port[16] = "";

	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *k = r->element[i], *val = r->element[i + 1];
		long long n;

		if (k->type != REDIS_REPLY_STRING ||
		    val->type != REDIS_REPLY_STRING)
			continue;
		n = strtoll(val->str, NULL, 10);
		if (strcmp(k->str, "ip") == 0)
			snprintf(ip, sizeof(ip), "%s", val->str);
		else if (strcmp(k->str, "port") == 0)
			snprintf(port, sizeof(port), "%s", val->str);
		else if (strcmp(k->str, "flags") == 0)
			snprintf(v->flags, sizeof(v->flags), "%s", val->str);
		else if (strcmp(k->str, "quorum") == 0)
			v->quorum = n;
		else if (strcmp(k->str, "down-after-milliseconds") == 0)
			v->down_after = n;
		else if (strcmp(k->str, "num-slaves") == 0)
			v->replicas = n;
		else if (strcmp(k->str, "num-other-sentinels") == 0)
			v->others = n;
	}
	snprintf(v->addr, sizeof(v->addr), "%s:%s", ip, port);
}

static void ask_view(const struct dlock_config *cfg, const struct url *u,
		     size_t i, struct view *v)
{
	const char *argv[] = { "SENTINEL", "MASTER", u->service };
	struct url at = { .kind = URL_TCP, .tls = u->tls };
	int64_t deadline = now_ms() + cfg->connect_timeout_ms;
	struct dlock_error err;
	redisReply *r = NULL;
	struct conn *c = NULL;
	char display[300];
	int rc;

	memset(v, 0, sizeof(*v));
	snprintf(display, sizeof(display), "sentinel %s:%d",
		 u->sentinels[i].host, u->sentinels[i].port);
	at.host = u->sentinels[i].host;
	at.port = u->sentinels[i].port;
	at.display = display;
	rc = conn_open_at(cfg, &at, cfg->sentinel_user, cfg->sentinel_password,
			  deadline, &c, &err);
	if (!rc)
		rc = conn_call(c, deadline, -1, 3, argv, NULL, &r, &err);
	if (!rc)
		rc = reply_error(c, r, "describe the master", &err);
	if (!rc && (r->type != REDIS_REPLY_ARRAY || r->elements % 2))
		rc = set_error(&err, DLOCK_ESERVER, "%s: not a sentinel's "
			       "answer to SENTINEL MASTER", display);
	if (rc)
		snprintf(v->why, sizeof(v->why), "%s", err.msg);
	else
		parse_view(r, v);
	v->answered = !rc;
	freeReplyObject(r);
	conn_close(c);
}

static bool same_view(const struct view *a, const struct view *b)
{
	return strcmp(a->addr, b->addr) == 0 && a->quorum == b->quorum &&
	       a->down_after == b->down_after;
}

/* Agreement, quorum and timing over the answers; returns how many. */
static size_t check_views(struct dlock_doctor_report *rep,
			  const struct url *u, const struct view *v)
{
	size_t n = u->nsentinels, answered = 0, first = n, agree = 0;

	for (size_t i = 0; i < n; i++) {
		if (!v[i].answered) {
			add(rep, DLOCK_DOCTOR_WARN, "sentinel", "%s", v[i].why);
			continue;
		}
		answered++;
		if (first == n)
			first = i;
		agree += same_view(&v[first], &v[i]);
	}
	if (!answered)
		return 0;
	if (agree != answered)
		add(rep, DLOCK_DOCTOR_WARN, "sentinels", "they disagree on the "
		    "master of '%s', its quorum or down-after-milliseconds; "
		    "compare SENTINEL MASTER %s on each", u->service,
		    u->service);
	add(rep, DLOCK_DOCTOR_OK, "sentinels", "%zu of %zu answered; master "
	    "%s (%s), quorum %lld, down-after-milliseconds %lld, %lld other "
	    "sentinel%s known", answered, n, v[first].addr, v[first].flags,
	    v[first].quorum, v[first].down_after, v[first].others,
	    v[first].others == 1 ? "" : "s");
	if (v[first].quorum <= (v[first].others + 1) / 2)
		add(rep, DLOCK_DOCTOR_WARN, "quorum", "quorum %lld of %lld "
		    "sentinels is no majority: a minority can declare the "
		    "master down", v[first].quorum, v[first].others + 1);
	return answered;
}

/* min-replicas-to-write: a master cut off from its replicas stops. */
static void check_min_replicas(struct dlock_doctor_report *rep,
			       const struct dlock_config *cfg, struct conn *c,
			       long long replicas)
{
	const char *argv[] = { "CONFIG", "GET", "min-replicas-to-write" };
	struct dlock_error err;
	redisReply *r = NULL;

	add(rep, replicas > 0 ? DLOCK_DOCTOR_OK : DLOCK_DOCTOR_WARN,
	    "replicas", "%lld connected%s", replicas, replicas > 0 ?
	    "; takes and renewals wait for one to confirm (--wait-replicas)" :
	    ": nothing confirms a write, and a failover has nothing to "
	    "promote");
	if (conn_call(c, now_ms() + cfg->connect_timeout_ms, -1, 3, argv,
		      NULL, &r, &err) == 0 && r->type == REDIS_REPLY_ARRAY &&
	    r->elements == 2 && r->element[1]->type == REDIS_REPLY_STRING) {
		if (atoll(r->element[1]->str) > 0)
			add(rep, DLOCK_DOCTOR_OK, "min-replicas",
			    "min-replicas-to-write %s: a master cut off from "
			    "its replicas refuses writes", r->element[1]->str);
		else
			add(rep, DLOCK_DOCTOR_NOTE, "min-replicas",
			    "min-replicas-to-write is 0: a master cut off "
			    "from its replicas keeps taking writes until it "
			    "is demoted; 1 makes it refuse them");
	}
	freeReplyObject(r);
}

int redis_sentinel_doctor(const struct dlock_config *cfg, size_t index,
			  struct dlock_doctor_report *report,
			  struct dlock_error *err)
{
	const struct url *u = &cfg->urls[index];
	struct view *v = calloc(u->nsentinels, sizeof(*v));
	struct router *router = NULL;
	struct conn *c;
	int rc;

	report->count = 0;
	if (!v)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	for (size_t i = 0; i < u->nsentinels; i++)
		ask_view(cfg, u, i, &v[i]);
	if (!check_views(report, u, v)) {
		free(v);
		add(report, DLOCK_DOCTOR_FAIL, "sentinels", "none answered");
		return set_error(err, DLOCK_ECONN, "no sentinel of %s answered",
				 u->display);
	}
	free(v);
	rc = router_sentinel_open(cfg, index, &router, err);
	if (!rc)
		rc = router->ops->node_for(router, NULL, now_ms() +
					   cfg->connect_timeout_ms, &c, err);
	if (rc) {
		add(report, DLOCK_DOCTOR_FAIL, "master", "%s", err->msg);
	} else {
		const struct node_info *info = router->ops->info(router, c);

		check_min_replicas(report, cfg, c, info->replicas);
		rc = redis_doctor_conn(cfg, u, cfg->user ? cfg->user : u->user,
				       c, report, err);
	}
	if (router)
		router->ops->close(router);
	return rc;
}
