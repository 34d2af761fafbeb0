/* SPDX-License-Identifier: MIT */
/* Reading locks for people, and the by-token and forced releases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis.h"

#define SCAN_BATCH "1000"
#define PIPELINE_BATCH 256
/*
 * A SCAN that has not come back to cursor 0 by then never will: 100,000
 * calls of COUNT 1000 cover 100 million keys.
 */
#define SCAN_CALLS_MAX 100000
#define SCAN_TIME_MAX_MS 60000

static char *dup_str(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_STRING ? strndup(r->str, r->len) :
	       NULL;
}

static int64_t to_int(const char *s, int64_t fallback)
{
	char *end;
	long long v;

	if (!s || !*s)
		return fallback;
	v = strtoll(s, &end, 10);
	return *end ? fallback : v;
}

/* Fills h from a holder or waiter hash's {field, value, ...}. */
static void parse_fields(const redisReply *fields, struct dlock_holder *h)
{
	for (size_t i = 0; i + 1 < fields->elements; i += 2) {
		const redisReply *k = fields->element[i];
		const redisReply *v = fields->element[i + 1];

		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(k->str, "host") == 0)
			h->host = dup_str(v);
		else if (strcmp(k->str, "pid") == 0)
			h->pid = (long)to_int(v->str, 0);
		else if (strcmp(k->str, "user") == 0)
			h->user = dup_str(v);
		else if (strcmp(k->str, "cmd") == 0)
			h->command = dup_str(v);
		else if (strcmp(k->str, "token") == 0)
			h->token = dup_str(v);
		else if (strcmp(k->str, "mode") == 0)
			h->mode = dup_str(v);
		else if (strcmp(k->str, "since") == 0)
			h->since_ms = to_int(v->str, -1);
		else if (strcmp(k->str, "ttl") == 0)
			h->ttl_ms = to_int(v->str, -1);
		else if (strcmp(k->str, "delay") == 0)
			h->lock_delay_ms = to_int(v->str, 0);
		else if (strcmp(k->str, "renews") == 0)
			h->renewal = strcmp(v->str, "1") == 0 ?
				     DLOCK_RENEWAL_HOLDER :
				     DLOCK_RENEWAL_BY_TOKEN;
	}
}

/* Fills h from {owner, lease end or -1, {field, value, ...}}. */
static bool parse_holder(const redisReply *r, int64_t now, long long pttl,
			 struct dlock_holder *h)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_INTEGER ||
	    r->element[2]->type != REDIS_REPLY_ARRAY)
		return false;
	h->owner = dup_str(r->element[0]);
	h->since_ms = h->ttl_ms = -1;
	if (r->element[1]->integer >= 0)
		h->expires_ms = r->element[1]->integer;
	else
		h->expires_ms = pttl >= 0 ? now + pttl : -1;
	parse_fields(r->element[2], h);
	return h->owner != NULL;
}

/* The first waiter's hash, or NULL when it left none (or no memory). */
static struct dlock_holder *parse_waiter(const redisReply *fields,
					 const char *owner)
{
	struct dlock_holder *h;

	if (!owner || fields->elements == 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->owner = strdup(owner);
	h->since_ms = h->expires_ms = h->ttl_ms = -1;
	parse_fields(fields, h);
	return h;
}

static int kind_of(const char *s)
{
	if (s && strcmp(s, "s") == 0)
		return DLOCK_SHARED;
	if (s && strcmp(s, "l") == 0)
		return DLOCK_LIMIT;
	return DLOCK_EXCLUSIVE;
}

/* Turns the inspect script's reply into a status. */
static int parse_status(const char *name, const redisReply *r,
			struct dlock_status **out, struct dlock_error *err)
{
	struct dlock_status *st;
	long long pttl;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 9 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER ||
	    r->element[2]->type != REDIS_REPLY_INTEGER ||
	    r->element[4]->type != REDIS_REPLY_INTEGER ||
	    r->element[5]->type != REDIS_REPLY_INTEGER ||
	    r->element[8]->type != REDIS_REPLY_ARRAY)
		return set_error(err, DLOCK_ESERVER, "unexpected reply to the "
				 "status script for '%s'", name);
	st = calloc(1, sizeof(*st));
	if (!st)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	st->name = strdup(name);
	st->server_now_ms = r->element[0]->integer;
	pttl = r->element[2]->integer;
	st->kind = kind_of(r->element[3]->type == REDIS_REPLY_STRING ?
			   r->element[3]->str : NULL);
	st->limit = (long)r->element[4]->integer;
	st->waiters = r->element[5]->integer;
	st->first_waiter = r->element[6]->type == REDIS_REPLY_STRING &&
			   r->element[6]->len > 1 ?
			   strdup(r->element[6]->str + 1) : NULL;
	st->first_waiter_kind = r->element[6]->type == REDIS_REPLY_STRING ?
				kind_of((char[]){ r->element[6]->str[0], 0 }) :
				DLOCK_EXCLUSIVE;
	st->first_waiter_details = parse_waiter(r->element[8],
						st->first_waiter);
	st->holders = calloc(r->elements - 9 + 1, sizeof(*st->holders));
	if (!st->name || !st->holders) {
		dlock_status_free(st);
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	}
	for (size_t i = 9; i < r->elements; i++) {
		if (!parse_holder(r->element[i], st->server_now_ms, pttl,
				  &st->holders[st->nholders])) {
			dlock_status_free(st);
			return set_error(err, DLOCK_ESERVER, "unexpected holder "
					 "in the status of '%s'", name);
		}
		st->nholders++;
	}
	st->held = st->nholders > 0;
	if (st->nholders == 1 && st->holders[0].lock_delay_ms > 0) {
		const struct dlock_holder *h = &st->holders[0];

		/* Renewals reset the expiry to lease + delay; less is left
		 * only once the holder stopped renewing. */
		st->blocked_until_ms = h->expires_ms;
		st->lock_delay_in_force = h->expires_ms >= 0 &&
			h->expires_ms - st->server_now_ms < h->lock_delay_ms;
	}
	*out = st;
	return 0;
}

/*
 * Runs the inspect or force-release script on lock name. Returns 0 with a
 * reply that is not an error, or a code.
 */
static int run_on_lock(struct session *s, const char *name, bool force,
		       redisReply **r, struct dlock_error *err)
{
	int64_t deadline = session_deadline(s);
	struct redis_keys k;
	struct conn *c;
	int rc;

	*r = NULL;
	rc = redis_keys_init(&k, s->cfg->prefix, name, NULL, err);
	if (rc)
		return rc;
	rc = session_node(s, k.lock, deadline, &c, err);
	if (!rc) {
		rc = force ? call_force_release(c, &k, deadline, r, err) :
		     call_inspect(c, &k, deadline, r, err);
		rc = session_done(s, c, rc, *r, force ? "release the lock by "
				  "force" : "read the lock", err);
	}
	redis_keys_clear(&k);
	return rc;
}

int redis_status(struct session *s, const char *name,
		 struct dlock_status **out, struct dlock_error *err)
{
	redisReply *r;
	int rc = run_on_lock(s, name, false, &r, err);

	if (!rc)
		rc = parse_status(name, r, out, err);
	freeReplyObject(r);
	return rc;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts names and frees duplicates (SCAN may return a key twice). */
static size_t sort_unique(char **names, size_t n)
{
	size_t kept = 0;

	qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n; i++) {
		if (kept && strcmp(names[kept - 1], names[i]) == 0)
			free(names[i]);
		else
			names[kept++] = names[i];
	}
	return kept;
}

static int cmp_status(const void *a, const void *b)
{
	const struct dlock_status *x = *(struct dlock_status *const *)a;
	const struct dlock_status *y = *(struct dlock_status *const *)b;

	return strcmp(x->name, y->name);
}

/*
 * A reply in a pipeline that one call of its own gets right: a cluster's
 * redirection (a slot that moved since the SCAN) or a missing script.
 */
static bool needs_own_call(const redisReply *r)
{
	static const char *const codes[] = { "MOVED ", "ASK ", "TRYAGAIN",
					      "CLUSTERDOWN", "NOSCRIPT" };

	if (r->type != REDIS_REPLY_ERROR)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(codes); i++)
		if (strncmp(r->str, codes[i], strlen(codes[i])) == 0)
			return true;
	return false;
}

/* Reads the locks of names[0..n) in one pipelined round trip. */
static int inspect_batch(struct session *s, char **names, size_t n,
			 struct dlock_status **out, size_t *count,
			 struct dlock_error *err)
{
	struct redis_keys keys[PIPELINE_BATCH];
	const char *argvs[PIPELINE_BATCH][INSPECT_ARGC];
	const char **argvp[PIPELINE_BATCH];
	int argcs[PIPELINE_BATCH];
	redisReply *replies[PIPELINE_BATCH];
	int64_t deadline = session_deadline(s);
	struct conn *c;
	size_t ready = 0;
	int rc = 0;

	for (; ready < n; ready++) {
		rc = redis_keys_init(&keys[ready], s->cfg->prefix,
				     names[ready], NULL, err);
		if (rc)
			goto out;
		inspect_argv(&keys[ready], argvs[ready]);
		argvp[ready] = argvs[ready];
		argcs[ready] = INSPECT_ARGC;
	}
	rc = session_node(s, keys[0].lock, deadline, &c, err);
	if (rc)
		goto out;
	rc = conn_pipeline(c, deadline, n, argcs, argvp, replies, err);
	if (rc) {
		session_drop(s, c);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct dlock_status *st = NULL;

		/* Another node's lock, or a node without the script yet. */
		if (!rc && needs_own_call(replies[i]))
			rc = redis_status(s, names[i], &st, err);
		else if (!rc)
			rc = reply_error(c, replies[i], "read a lock", err);
		if (!rc && !st)
			rc = parse_status(names[i], replies[i], &st, err);
		if (!rc && st->held)
			out[(*count)++] = st;
		else
			dlock_status_free(st);
		freeReplyObject(replies[i]);
	}
out:
	while (ready-- > 0)
		redis_keys_clear(&keys[ready]);
	return rc;
}

/* A growing list of lock names. */
struct names {
	char **v;
	size_t n, cap;
};

static void names_clear(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

static int names_add(struct names *ns, char *name, struct dlock_error *err)
{
	if (ns->n == ns->cap) {
		char **grown = realloc(ns->v, (ns->cap * 2 + 64) *
					      sizeof(*ns->v));

		if (!grown) {
			free(name);
			return set_error(err, DLOCK_ENOMEM, "out of memory");
		}
		ns->v = grown;
		ns->cap = ns->cap * 2 + 64;
	}
	ns->v[ns->n++] = name;
	return 0;
}

/* Adds the lock names among one SCAN reply's keys. */
static int add_scanned(struct session *s, const redisReply *keys,
		       struct names *ns, struct dlock_error *err)
{
	for (size_t i = 0; i < keys->elements; i++) {
		const redisReply *key = keys->element[i];
		char *name = key->type == REDIS_REPLY_STRING ?
			     redis_keys_name_of(key->str, s->cfg->prefix) :
			     NULL;

		if (!name || dlock_check_name(name, NULL)) {
			free(name);
			continue;
		}
		if (names_add(ns, name, err))
			return DLOCK_ENOMEM;
	}
	return 0;
}

/* A SCAN cursor is an unsigned 64-bit number in decimal. */
static bool cursor_ok(const redisReply *r)
{
	if (r->len == 0 || r->len > 20)
		return false;
	for (size_t i = 0; i < r->len; i++)
		if (r->str[i] < '0' || r->str[i] > '9')
			return false;
	return true;
}

/* A scan that never ends is refused, saying why. */
static int scan_too_long(struct session *s, long calls, int64_t started,
			 struct dlock_error *err)
{
	if (calls < SCAN_CALLS_MAX && now_ms() - started < SCAN_TIME_MAX_MS)
		return 0;
	return set_error(err, DLOCK_ESERVER, "gave up listing after %ld SCAN "
			 "calls in %.1fs: the server's cursor never came back "
			 "to 0; is %s a Redis server?", calls,
			 (double)(now_ms() - started) / 1000,
			 s->cfg->urls[0].display);
}

/* The names of the locks matching glob, found with SCAN (never KEYS). */
static int scan_names(struct session *s, size_t master, const char *glob,
		      struct names *ns, struct dlock_error *err)
{
	char cursor[32] = "0", last[32] = "0";
	char *pattern = redis_keys_pattern(s->cfg->prefix, glob);
	int64_t started = now_ms();
	long calls = 0;
	int rc = 0;

	if (!pattern)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	do {
		const char *argv[] = { "SCAN", cursor, "MATCH", pattern,
				       "COUNT", SCAN_BATCH };
		int64_t deadline = session_deadline(s);
		redisReply *r = NULL;
		struct conn *c;

		/* A cursor is one node's: every call goes to that master. */
		rc = session_master(s, master, deadline, &c, err);
		if (!rc && !c)
			rc = set_error(err, DLOCK_ECONN, "the cluster of %s "
				       "changed while listing; try again",
				       s->cfg->urls[0].display);
		if (rc)
			break;
		rc = conn_call(c, deadline, -1, 6, argv, NULL, &r, err);
		rc = session_done(s, c, rc, r, "list keys (SCAN)", err);
		if (!rc && (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
			    r->element[0]->type != REDIS_REPLY_STRING ||
			    !cursor_ok(r->element[0]) ||
			    r->element[1]->type != REDIS_REPLY_ARRAY))
			rc = session_bad_reply(s, c, "SCAN", err);
		if (!rc)
			rc = add_scanned(s, r->element[1], ns, err);
		if (!rc)
			snprintf(cursor, sizeof(cursor), "%s",
				 r->element[0]->str);
		freeReplyObject(r);
		if (!rc && strcmp(cursor, "0") != 0)
			rc = scan_too_long(s, ++calls, started, err);
		/* Until it is done, Redis moves its cursor at every call. */
		if (!rc && strcmp(cursor, "0") != 0 &&
		    strcmp(cursor, last) == 0)
			rc = set_error(err, DLOCK_ESERVER, "the SCAN cursor of "
				       "%s did not move (%s twice); is it a "
				       "Redis server?",
				       s->cfg->urls[0].display, cursor);
		snprintf(last, sizeof(last), "%s", cursor);
	} while (!rc && strcmp(cursor, "0") != 0);
	free(pattern);
	return rc;
}

/* Reads every named lock, keeping the held ones in out. */
static int read_all(struct session *s, char **names, size_t n,
		    struct dlock_status **out, size_t *count,
		    struct dlock_error *err)
{
	struct dlock_status *first = NULL;
	/* One call that loads the script, if the server lacks it. */
	int rc = redis_status(s, names[0], &first, err);

	if (!rc && first->held)
		out[(*count)++] = first;
	else
		dlock_status_free(first);
	for (size_t i = 1; !rc && i < n; i += PIPELINE_BATCH) {
		size_t left = n - i;

		rc = inspect_batch(s, names + i, left < PIPELINE_BATCH ?
				   left : PIPELINE_BATCH, out, count, err);
	}
	return rc;
}

/* Adds the held locks of one master to *all. */
static int list_master(struct session *s, size_t master, const char *glob,
		       struct dlock_status ***all, size_t *count,
		       struct dlock_error *err)
{
	struct names ns = { 0 };
	int rc = scan_names(s, master, glob, &ns, err);

	if (!rc && ns.n) {
		struct dlock_status **grown;

		ns.n = sort_unique(ns.v, ns.n);
		grown = realloc(*all, (*count + ns.n) * sizeof(**all));
		if (grown) {
			*all = grown;
			rc = read_all(s, ns.v, ns.n, *all, count, err);
		} else {
			rc = set_error(err, DLOCK_ENOMEM, "out of memory");
		}
	}
	names_clear(&ns);
	return rc;
}

/* Sorts by name; a lock seen on two masters (its slot moved) once. */
static size_t sort_unique_status(struct dlock_status **all, size_t n)
{
	size_t kept = 0;

	if (n == 0)
		return 0;
	qsort(all, n, sizeof(*all), cmp_status);
	for (size_t i = 0; i < n; i++) {
		if (kept && strcmp(all[kept - 1]->name, all[i]->name) == 0)
			dlock_status_free(all[i]);
		else
			all[kept++] = all[i];
	}
	return kept;
}

int redis_list(struct session *s, const char *glob,
	       struct dlock_status ***out, size_t *count,
	       struct dlock_error *err)
{
	struct dlock_status **all = NULL;
	int rc = 0;

	/* Every master of a cluster has its own keys: scan each. */
	for (size_t m = 0; !rc; m++) {
		struct conn *c;

		rc = session_master(s, m, session_deadline(s), &c, err);
		if (rc || !c)
			break;
		rc = list_master(s, m, glob, &all, count, err);
	}
	if (rc) {
		for (size_t i = 0; i < *count; i++)
			dlock_status_free(all[i]);
		free(all);
		*count = 0;
		return rc;
	}
	*count = sort_unique_status(all, *count);
	*out = all;
	return 0;
}

/* Runs the renew or release script for owner, mode unknown ("?"). */
static int by_owner(struct session *s, bool renew, const char *name,
		    const char *owner, int64_t ttl_ms, struct dlock_error *err)
{
	int64_t deadline = session_deadline(s);
	struct redis_keys k;
	redisReply *r = NULL;
	struct conn *c;
	int rc;

	rc = redis_keys_init(&k, s->cfg->prefix, name, owner, err);
	if (rc)
		return rc;
	rc = session_node(s, k.lock, deadline, &c, err);
	if (rc)
		goto out;
	if (renew) {
		rc = session_renew(s, c, &k, owner, ttl_ms, '?', deadline, -1,
				   &r, err);
	} else {
		rc = call_release(c, &k, owner, '?', deadline, &r, err);
		rc = session_done(s, c, rc, r, "run the script", err);
	}
	/* renew: 1, 0 or -1 (another holder); release: 1 or 0. */
	if (!rc && (r->type != REDIS_REPLY_INTEGER || r->integer > 1 ||
		    r->integer < (renew ? -1 : 0)))
		rc = session_bad_reply(s, c, "a by-token request", err);
	if (!rc && r->integer != 1)
		rc = set_error(err, DLOCK_ELOST,
			       "lock '%s' is not held by owner %s: its lease "
			       "ran out, it was released or taken over, or "
			       "the token is wrong", name, owner);
out:
	freeReplyObject(r);
	redis_keys_clear(&k);
	return rc;
}

int redis_renew_owner(struct session *s, const char *name, const char *owner,
		      int64_t ttl_ms, struct dlock_error *err)
{
	return by_owner(s, true, name, owner, ttl_ms, err);
}

int redis_release_owner(struct session *s, const char *name,
			const char *owner, struct dlock_error *err)
{
	return by_owner(s, false, name, owner, 0, err);
}

/* Fills h from a forced release's {owner, {field, value, ...}}. */
static bool parse_evicted(const redisReply *e, struct dlock_holder *h)
{
	redisReply ends = { .type = REDIS_REPLY_INTEGER, .integer = -1 };
	redisReply *parts[3];
	redisReply triple = { .type = REDIS_REPLY_ARRAY, .elements = 3,
			      .element = parts };

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
		return false;
	/* The status parser's shape, with no lease end. */
	parts[0] = e->element[0];
	parts[1] = &ends;
	parts[2] = e->element[1];
	return parse_holder(&triple, 0, -1, h);
}

int redis_force_release(struct session *s, const char *name,
			struct dlock_status **evicted,
			struct dlock_error *err)
{
	struct dlock_status *st = NULL;
	redisReply *r;
	int rc = run_on_lock(s, name, true, &r, err);

	if (!rc && r->type != REDIS_REPLY_ARRAY)
		rc = set_error(err, DLOCK_ESERVER, "unexpected reply to a "
			       "forced release from the server; is the key "
			       "prefix shared with something else?");
	if (!rc) {
		st = calloc(1, sizeof(*st));
		if (st) {
			st->name = strdup(name);
			st->holders = calloc(r->elements + 1,
					     sizeof(*st->holders));
		}
		if (!st || !st->name || !st->holders)
			rc = set_error(err, DLOCK_ENOMEM, "out of memory");
	}
	for (size_t i = 0; !rc && i < r->elements; i++) {
		if (!parse_evicted(r->element[i], &st->holders[st->nholders]))
			rc = set_error(err, DLOCK_ESERVER, "unexpected reply to "
				       "a forced release from the server; is "
				       "the key prefix shared with something "
				       "else?");
		/* Counted even when half parsed, so that it is freed. */
		st->nholders++;
	}
	if (!rc) {
		st->held = st->nholders > 0;
		*evicted = st;
	} else {
		dlock_status_free(st);
	}
	freeReplyObject(r);
	return rc;
}
