/* SPDX-License-Identifier: MIT */
/*
 * dlock doctor on a quorum: each node's own checks (lib/redis/doctor.c),
 * then what only the nodes together tell: that they are independent (not
 * the same server twice, not replicas of one another), that they keep
 * their data as fencing needs, and how far apart their clocks are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quorum.h"

/* What one node says of itself, in one pipelined round trip. */
struct node_facts {
	bool ok;
	char run_id[48];
	char replid[48];
	int aof;			/* -1: unknown */
	char fsync[16];			/* "" when CONFIG GET is refused */
	int64_t server_ms;		/* TIME */
	int64_t local_ms;		/* CLOCK_MONOTONIC at the reply's middle */
};

static void add(struct dlock_doctor_report *r, int level, const char *what,
		const char *fmt, ...) PRINTF_LIKE(4, 5);

static void add(struct dlock_doctor_report *r, int level, const char *what,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	doctor_report_add(r, level, what, fmt, ap);
	va_end(ap);
}

/* Finds "key:value" among the lines of an INFO reply; "" when missing. */
static void info_value(const redisReply *r, const char *key, char *buf,
		       size_t size)
{
	buf[0] = '\0';
	if (r->type == REDIS_REPLY_STRING)
		info_field(r->str, key, buf, size);
}

static void read_facts(redisReply **rs, struct node_facts *f)
{
	char aof[8];

	info_value(rs[0], "run_id", f->run_id, sizeof(f->run_id));
	info_value(rs[1], "master_replid", f->replid, sizeof(f->replid));
	info_value(rs[2], "aof_enabled", aof, sizeof(aof));
	f->aof = *aof ? atoi(aof) : -1;
	if (rs[3]->type == REDIS_REPLY_ARRAY && rs[3]->elements == 2 &&
	    rs[3]->element[1]->type == REDIS_REPLY_STRING)
		snprintf(f->fsync, sizeof(f->fsync), "%s",
			 rs[3]->element[1]->str);
	if (rs[4]->type == REDIS_REPLY_ARRAY && rs[4]->elements == 2 &&
	    rs[4]->element[0]->type == REDIS_REPLY_STRING &&
	    rs[4]->element[1]->type == REDIS_REPLY_STRING) {
		f->server_ms = strtoll(rs[4]->element[0]->str, NULL, 10) *
			       1000 +
			       strtoll(rs[4]->element[1]->str, NULL, 10) / 1000;
		f->ok = true;
	}
}

static void gather(const struct dlock_config *cfg, size_t index,
		   struct node_facts *f)
{
	const char *is[] = { "INFO", "server" }, *ir[] = { "INFO",
							  "replication" };
	const char *ip[] = { "INFO", "persistence" };
	const char *cg[] = { "CONFIG", "GET", "appendfsync" }, *t[] = { "TIME" };
	const char **argvs[] = { is, ir, ip, cg, t };
	const int argcs[] = { 2, 2, 2, 3, 1 };
	int64_t deadline = now_ms() + cfg->connect_timeout_ms, sent;
	redisReply *rs[5] = { NULL };
	struct dlock_error err;
	struct conn *c;

	memset(f, 0, sizeof(*f));
	if (conn_open(cfg, index, deadline, &c, &err))
		return;
	sent = now_ms();
	if (!conn_pipeline(c, deadline, 5, argcs, argvs, rs, &err)) {
		f->local_ms = (sent + now_ms()) / 2;
		read_facts(rs, f);
	}
	for (size_t i = 0; i < ARRAY_SIZE(rs); i++)
		freeReplyObject(rs[i]);
	conn_close(c);
}

static void check_independent(const struct dlock_config *cfg, size_t me,
			      const struct node_facts *f,
			      struct dlock_doctor_report *r)
{
	size_t others = 0;

	/* The same server twice first: it shares the replication ID too. */
	for (size_t j = 0; j < cfg->nurls; j++) {
		if (j == me || !f[j].ok)
			continue;
		others++;
		if (*f[me].run_id && strcmp(f[me].run_id, f[j].run_id) == 0) {
			add(r, DLOCK_DOCTOR_FAIL, "quorum", "the same server "
			    "as %s (run_id %s): it would count twice towards "
			    "a majority; give each node once",
			    cfg->urls[j].display, f[me].run_id);
			return;
		}
	}
	for (size_t j = 0; j < cfg->nurls; j++) {
		if (j == me || !f[j].ok)
			continue;
		if (*f[me].replid && strcmp(f[me].replid, f[j].replid) == 0) {
			add(r, DLOCK_DOCTOR_FAIL, "quorum", "a replica of, or "
			    "replicated from, %s (one replication ID): quorum "
			    "nodes must be independent masters",
			    cfg->urls[j].display);
			return;
		}
	}
	add(r, DLOCK_DOCTOR_OK, "quorum", "independent of the %zu other "
	    "nodes that answered (run_id and replication ID differ)", others);
}

static void check_fsync(const struct node_facts *f,
			struct dlock_doctor_report *r)
{
	if (f->aof == 1 && strcmp(f->fsync, "always") == 0)
		add(r, DLOCK_DOCTOR_OK, "quorum fsync", "appendonly yes, "
		    "appendfsync always: a restart keeps every lock and "
		    "fencing counter");
	else if (f->aof == 1 && !*f->fsync)
		add(r, DLOCK_DOCTOR_NOTE, "quorum fsync", "AOF is on; "
		    "appendfsync unknown (CONFIG GET refused): quorum mode "
		    "needs appendfsync always");
	else
		add(r, DLOCK_DOCTOR_WARN, "quorum fsync", "%s: a crash can "
		    "lose locks and fencing counters, letting a second holder "
		    "in or a token repeat; set appendonly yes and appendfsync "
		    "always, or restart this node only after the longest "
		    "lease and lock delay", f->aof == 1 ? "appendfsync is "
		    "not always" : "AOF is off");
}

static void check_clocks(const struct dlock_config *cfg, size_t me,
			 const struct node_facts *f,
			 struct dlock_doctor_report *r)
{
	int64_t worst = 0;
	size_t who = me;

	for (size_t j = 0; j < cfg->nurls; j++) {
		int64_t off;

		if (j == me || !f[j].ok)
			continue;
		off = (f[j].server_ms - f[me].server_ms) -
		      (f[j].local_ms - f[me].local_ms);
		if (llabs(off) > llabs(worst) || who == me) {
			worst = off;
			who = j;
		}
	}
	if (who == me)
		return;
	add(r, llabs(worst) > 1000 ? DLOCK_DOCTOR_WARN : DLOCK_DOCTOR_OK,
	    "quorum clock", "%+lld ms against %s, the farthest (TIME)%s",
	    (long long)-worst, cfg->urls[who].display, llabs(worst) > 1000 ?
	    ": leases only need steady clocks, but status times and lock "
	    "delays disagree between nodes; run NTP on every node" : "");
}

int quorum_doctor(const struct dlock_config *cfg, size_t index,
		  struct dlock_doctor_report *report, struct dlock_error *err)
{
	struct node_facts *f;
	int rc = redis_doctor(cfg, index, report, err);

	if (rc)
		return rc;
	f = calloc(cfg->nurls, sizeof(*f));
	if (!f)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	for (size_t j = 0; j < cfg->nurls; j++)
		gather(cfg, j, &f[j]);
	if (f[index].ok) {
		check_independent(cfg, index, f, report);
		check_fsync(&f[index], report);
		check_clocks(cfg, index, f, report);
	} else {
		add(report, DLOCK_DOCTOR_WARN, "quorum", "INFO or TIME "
		    "refused: independence, fsync and clocks not checked");
	}
	free(f);
	return 0;
}
