/* SPDX-License-Identifier: MIT */
/*
 * Every key on the master that the sentinels name, found as the Sentinel
 * client spec says: ask each sentinel in turn, with a deadline of its
 * own, for the master's address; connect there and check with ROLE that
 * it is the master, asking again while it is not; find it again on every
 * reconnect. The one that answered is asked first the next time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "router.h"

/* The shortest time a sentinel is given, whatever --connect-timeout. */
#define SENTINEL_MIN_MS 250
/* A promoted replica takes a moment to say "master": ask again this soon. */
#define ROLE_RETRY_MS 100

struct sentinel {
	struct router base;
	const struct dlock_config *cfg;
	const struct url *url;
	size_t first;		/* the sentinel to ask first */
	struct conn *conn;	/* to the master */
	struct url master;	/* its address, for conn->url */
	struct url ask;		/* the sentinel being asked */
	struct node_info info;
	long long known_replicas;	/* as the last sentinel asked said */
	bool failing_over;	/* it said a failover is under way */
};

bool info_field(const char *info, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);

	for (const char *p = info; p && *p; p = strchr(p, '\n'), p += !!p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			size_t n = strcspn(p + klen + 1, "\r\n");

			if (n >= size)
				n = size - 1;
			memcpy(buf, p + klen + 1, n);
			buf[n] = '\0';
			return true;
		}
	}
	return false;
}

/*
 * Replicas in sync: a replica still loading its first copy counts among
 * connected_slaves but could not confirm a write in time.
 */
static long long online_replicas(const char *info)
{
	long long n = 0;

	for (const char *p = info; p && *p; p = strchr(p, '\n'), p += !!p) {
		size_t len = strcspn(p, "\r\n");

		if (strncmp(p, "slave", 5) == 0 && p[5] >= '0' &&
		    p[5] <= '9' && memmem(p, len, "state=online", 12))
			n++;
	}
	return n;
}

/* A url for host:port with the sentinel URL's TLS and database. */
static int set_address(struct url *u, const struct url *from, bool master,
		       const char *host, int port)
{
	char display[600];
	bool v6 = strchr(host, ':');

	url_clear(u);
	u->kind = URL_TCP;
	u->tls = from->tls;
	u->port = port;
	u->db = master ? from->db : 0;
	u->host = strdup(host);
	if (master)
		snprintf(display, sizeof(display), "%s://%s%s%s:%d (master "
			 "'%s')", from->tls ? "rediss" : "redis", v6 ? "[" : "",
			 host, v6 ? "]" : "", port, from->service);
	else
		snprintf(display, sizeof(display), "sentinel %s%s%s:%d",
			 v6 ? "[" : "", host, v6 ? "]" : "", port);
	u->display = strdup(display);
	return u->host && u->display ? 0 : DLOCK_ENOMEM;
}

static bool port_ok(const redisReply *r, int *port)
{
	char *end;
	long n;

	if (r->type != REDIS_REPLY_STRING || r->len == 0 || r->len > 5)
		return false;
	n = strtol(r->str, &end, 10);
	if (*end || n < 1 || n > 65535)
		return false;
	*port = (int)n;
	return true;
}

/* Field name of one of SENTINEL REPLICAS's flat lists, or NULL. */
static const char *field(const redisReply *e, const char *name)
{
	for (size_t k = 0; k + 1 < e->elements; k += 2)
		if (e->element[k]->type == REDIS_REPLY_STRING &&
		    e->element[k + 1]->type == REDIS_REPLY_STRING &&
		    strcmp(e->element[k]->str, name) == 0)
			return e->element[k + 1]->str;
	return NULL;
}

/*
 * Replicas a sentinel lists that are up and say they are replicas: not an
 * old master that was not reconfigured yet, nor a replica just promoted.
 */
static long long replicas_up(const redisReply *r)
{
	long long n = 0;

	if (r->type != REDIS_REPLY_ARRAY)
		return 0;
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];
		const char *flags, *role;

		if (e->type != REDIS_REPLY_ARRAY)
			continue;
		flags = field(e, "flags");
		role = field(e, "role-reported");
		if (flags && !strstr(flags, "down") &&
		    !strstr(flags, "disconnected") &&
		    (!role || strcmp(role, "slave") == 0))
			n++;
	}
	return n;
}

static bool address_ok(const redisReply *r, size_t size, int *port)
{
	return r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	       r->element[0]->type == REDIS_REPLY_STRING &&
	       r->element[0]->len > 0 && r->element[0]->len < size &&
	       port_ok(r->element[1], port);
}

/*
 * Asks sentinel number i for the master's address and, in the same round
 * trip, its replicas. Returns 0 with the address in host and port, or a
 * DLOCK_E* code with the reason.
 */
static int ask_sentinel(struct sentinel *s, size_t i, int64_t deadline,
			char *host, size_t size, int *port,
			struct dlock_error *err)
{
	const struct url_host *h = &s->url->sentinels[i];
	const char *addr[] = { "SENTINEL", "get-master-addr-by-name",
			       s->url->service };
	const char *replicas[] = { "SENTINEL", "replicas", s->url->service };
	const char *master[] = { "SENTINEL", "master", s->url->service };
	const char **argvs[] = { addr, replicas, master };
	const int argcs[] = { 3, 3, 3 };
	redisReply *r[3] = { NULL, NULL, NULL };
	const char *flags;
	struct conn *c = NULL;
	int rc;

	if (set_address(&s->ask, s->url, false, h->host, h->port))
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	rc = conn_open_at(s->cfg, &s->ask, s->cfg->sentinel_user,
			  s->cfg->sentinel_password, deadline, &c, err);
	s->failing_over = false;
	if (!rc)
		rc = conn_pipeline(c, deadline, 3, argcs, argvs, r, err);
	if (!rc)
		rc = reply_error(c, r[0], "name the master", err);
	if (!rc && r[0]->type == REDIS_REPLY_NIL)
		rc = set_error(err, DLOCK_ECONFIG, "%s monitors no master "
			       "named '%s'", s->ask.display, s->url->service);
	else if (!rc && !address_ok(r[0], size, port))
		rc = set_error(err, DLOCK_ESERVER, "%s gave an address that "
			       "is not host and port; is it a sentinel?",
			       s->ask.display);
	/*
	 * Until the failover ends, the old master may still take writes
	 * that the new one never sees.
	 */
	flags = r[2] && r[2]->type == REDIS_REPLY_ARRAY ? field(r[2], "flags") :
		NULL;
	if (!rc && flags && strstr(flags, "failover_in_progress")) {
		s->failing_over = true;
		rc = set_error(err, DLOCK_ECONN, "%s: a failover of '%s' is "
			       "under way", s->ask.display, s->url->service);
	}
	if (!rc) {
		snprintf(host, size, "%s", r[0]->element[0]->str);
		s->known_replicas = replicas_up(r[1]);
	}
	for (size_t k = 0; k < ARRAY_SIZE(r); k++)
		freeReplyObject(r[k]);
	conn_close(c);
	return rc;
}

/* ROLE says master; INFO replication has the epoch and the replicas. */
static int check_master(struct sentinel *s, int64_t deadline, bool *master,
			struct dlock_error *err)
{
	const char *role[] = { "ROLE" }, *info[] = { "INFO", "replication" };
	const char **argvs[] = { role, info };
	const int argcs[] = { 1, 2 };
	redisReply *r[2];
	char n[24];
	int rc = conn_pipeline(s->conn, deadline, 2, argcs, argvs, r, err);

	if (rc)
		return rc;
	rc = reply_error(s->conn, r[0], "say its role (ROLE)", err);
	if (!rc && (r[0]->type != REDIS_REPLY_ARRAY || r[0]->elements < 1 ||
		    r[0]->element[0]->type != REDIS_REPLY_STRING ||
		    (r[1]->type != REDIS_REPLY_STRING &&
		     r[1]->type != REDIS_REPLY_ERROR)))
		rc = set_error(err, DLOCK_ESERVER, "%s answered ROLE or INFO "
			       "with something else than Redis does",
			       s->master.display);
	/* An ACL without INFO costs the epoch and the default WAIT only. */
	s->info.replid[0] = '\0';
	s->info.replicas = -1;
	if (!rc)
		*master = strcmp(r[0]->element[0]->str, "master") == 0;
	s->info.known_replicas = s->known_replicas;
	if (!rc && r[1]->type == REDIS_REPLY_STRING) {
		info_field(r[1]->str, "master_replid", s->info.replid,
			   sizeof(s->info.replid));
		if (info_field(r[1]->str, "connected_slaves", n, sizeof(n)))
			s->info.replicas = online_replicas(r[1]->str);
	}
	freeReplyObject(r[0]);
	freeReplyObject(r[1]);
	return rc;
}

/* Connects to host:port and keeps the connection if it is the master. */
static int try_master(struct sentinel *s, const char *host, int port,
		      int64_t deadline, bool *master,
		      struct dlock_error *err)
{
	const struct dlock_config *cfg = s->cfg;
	int rc;

	*master = false;
	if (set_address(&s->master, s->url, true, host, port))
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	rc = conn_open_at(cfg, &s->master, cfg->user ? cfg->user : s->url->user,
			  cfg->password ? cfg->password : s->url->password,
			  deadline, &s->conn, err);
	if (!rc)
		rc = check_master(s, deadline, master, err);
	if (rc || !*master) {
		conn_close(s->conn);
		s->conn = NULL;
	}
	return rc;
}

static void pause_ms(int64_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The sentinels' own errors, worded for their settings. */
static int sentinel_failed(struct sentinel *s, int rc,
			   const struct dlock_error *last,
			   struct dlock_error *err)
{
	if (rc == DLOCK_EAUTH)
		return set_error(err, rc, "%s; the sentinels' credentials are "
				 "--sentinel-user and DLOCK_SENTINEL_PASSWORD "
				 "or --sentinel-password-file", last->msg);
	if (rc == DLOCK_ECONFIG)
		return set_error(err, rc, "%s; check SERVICE in the URL",
				 last->msg);
	return set_error(err, rc == DLOCK_ESERVER ? rc : DLOCK_ECONN,
			 "no sentinel of %s named a master that answered as "
			 "one: %s", s->url->display, last->msg);
}

/*
 * One round over the sentinels, each with its share of the time. Returns
 * 0 with s->conn, or the last failure; *again says a sentinel named a
 * server that is not the master yet.
 */
static int ask_round(struct sentinel *s, int64_t deadline, bool *again,
		     int *worst, struct dlock_error *last)
{
	size_t n = s->url->nsentinels;
	int64_t share = s->cfg->connect_timeout_ms / (int64_t)n;
	int rc = DLOCK_ECONN;

	if (share < SENTINEL_MIN_MS)
		share = SENTINEL_MIN_MS;
	for (size_t k = 0; k < n && now_ms() < deadline; k++) {
		size_t i = (s->first + k) % n;
		int64_t until = now_ms() + share;
		char host[256];
		bool master;
		int port = 0;

		if (until > deadline)
			until = deadline;
		rc = ask_sentinel(s, i, until, host, sizeof(host), &port, last);
		if (rc && s->failing_over)
			*again = true;
		if (!rc)
			rc = try_master(s, host, port, deadline, &master, last);
		if (!rc && master) {
			s->first = i;
			return 0;
		}
		if (!rc) {
			*again = true;
			rc = set_error(last, DLOCK_ECONN, "%s says it is not "
				       "the master (yet)", s->master.display);
		}
		/* Authentication and unknown masters outrank the rest. */
		if (rc == DLOCK_EAUTH || rc == DLOCK_ECONFIG ||
		    *worst == DLOCK_ECONN)
			*worst = rc;
	}
	return rc;
}

static int discover(struct sentinel *s, int64_t deadline,
		    struct dlock_error *err)
{
	struct dlock_error last;
	int worst = DLOCK_ECONN;

	set_error(&last, DLOCK_ECONN, "the time ran out");
	for (;;) {
		bool again = false;
		int rc = ask_round(s, deadline, &again, &worst, &last);

		if (!rc)
			return 0;
		if (!again || now_ms() + ROLE_RETRY_MS >= deadline)
			return sentinel_failed(s, worst, &last, err);
		pause_ms(ROLE_RETRY_MS);
	}
}

static int sentinel_node_for(struct router *r, const char *key,
			     int64_t deadline, struct conn **out,
			     struct dlock_error *err)
{
	struct sentinel *s = (struct sentinel *)r;
	int rc;

	(void)key;
	if (!s->conn) {
		rc = discover(s, deadline, err);
		if (rc)
			return rc;
	}
	*out = s->conn;
	return 0;
}

static void sentinel_drop(struct router *r, struct conn *c)
{
	struct sentinel *s = (struct sentinel *)r;

	if (c && c == s->conn) {
		conn_close(s->conn);
		s->conn = NULL;
	}
}

static void sentinel_close(struct router *r)
{
	struct sentinel *s = (struct sentinel *)r;

	conn_close(s->conn);
	url_clear(&s->master);
	url_clear(&s->ask);
	free(s);
}

static const struct node_info *sentinel_info(struct router *r,
					     const struct conn *c)
{
	struct sentinel *s = (struct sentinel *)r;

	return c && c == s->conn ? &s->info : NULL;
}

static const struct router_ops sentinel_ops = {
	.node_for = sentinel_node_for,
	.drop = sentinel_drop,
	.close = sentinel_close,
	.info = sentinel_info,
};

int router_sentinel_open(const struct dlock_config *cfg, size_t index,
			 struct router **out, struct dlock_error *err)
{
	struct sentinel *s = calloc(1, sizeof(*s));

	if (!s)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	s->base.ops = &sentinel_ops;
	s->cfg = cfg;
	s->url = &cfg->urls[index];
	s->info.replicas = -1;
	*out = &s->base;
	return 0;
}
