/* SPDX-License-Identifier: MIT */
/* Reading locks for people, and the by-token and forced releases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define SCAN_BATCH "1000"
#define PIPELINE_BATCH 256

/* The key names of one lock, all under its hash tag. */
struct lock_keys {
	char *base;
	char *holders;
	char *kind;
	char *queue;
	char *waiters;
};

static void keys_clear(struct lock_keys *k)
{
	free(k->base);
	free(k->holders);
	free(k->kind);
	free(k->queue);
	free(k->waiters);
}

static int keys_init(struct lock_keys *k, const char *prefix, const char *name,
		     struct dlock_error *err)
{
	memset(k, 0, sizeof(*k));
	if (asprintf(&k->base, "%s{%s}", prefix, name) < 0)
		k->base = NULL;
	if (!k->base ||
	    asprintf(&k->holders, "%s:holders", k->base) < 0 ||
	    asprintf(&k->kind, "%s:kind", k->base) < 0 ||
	    asprintf(&k->queue, "%s:queue", k->base) < 0 ||
	    asprintf(&k->waiters, "%s:waiters", k->base) < 0) {
		/* asprintf leaves its pointer undefined on failure. */
		free(k->base);
		memset(k, 0, sizeof(*k));
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	}
	return 0;
}

void dlock_status_free(struct dlock_status *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nholders; i++) {
		struct dlock_holder *h = &st->holders[i];

		free(h->owner);
		free(h->host);
		free(h->user);
		free(h->command);
		free(h->token);
		free(h->mode);
	}
	free(st->holders);
	free(st->name);
	free(st->first_waiter);
	free(st);
}

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

/* Fills h from {owner, lease end or -1, {field, value, ...}}. */
static bool parse_holder(const redisReply *r, int64_t now, long long pttl,
			 struct dlock_holder *h)
{
	const redisReply *fields;

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
	fields = r->element[2];
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
	}
	return h->owner != NULL;
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

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 8 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER ||
	    r->element[2]->type != REDIS_REPLY_INTEGER ||
	    r->element[4]->type != REDIS_REPLY_INTEGER ||
	    r->element[5]->type != REDIS_REPLY_INTEGER)
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
	st->holders = calloc(r->elements - 8 + 1, sizeof(*st->holders));
	if (!st->name || !st->holders) {
		dlock_status_free(st);
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	}
	for (size_t i = 8; i < r->elements; i++) {
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
 * Runs a script whose KEYS are lock, holders, kind, queue and waiters on
 * lock name. Returns 0 with a reply that is not an error, or a code.
 */
static int run_on_lock(struct dlock *d, struct script *s, const char *name,
		       int nargs, const char **args, const char *what,
		       redisReply **r, struct dlock_error *err)
{
	struct lock_keys k;
	int rc;

	*r = NULL;
	if (dlock_check_name(name, err))
		return DLOCK_EUSAGE;
	rc = keys_init(&k, d->cfg->prefix, name, err);
	if (rc)
		return rc;
	{
		const char *keys[] = { k.base, k.holders, k.kind, k.queue,
				       k.waiters };

		rc = call_script(d, s, 5, keys, nargs, args, r, err);
	}
	if (!rc)
		rc = reply_error(d->conn, *r, what, err);
	keys_clear(&k);
	return rc;
}

int dlock_status_get(struct dlock *d, const char *name,
		     struct dlock_status **out, struct dlock_error *err)
{
	redisReply *r;
	int rc = run_on_lock(d, &script_inspect, name, 0, NULL,
			     "read the lock", &r, err);

	if (!rc)
		rc = parse_status(name, r, out, err);
	freeReplyObject(r);
	return rc;
}

int dlock_check_glob(const char *glob, struct dlock_error *err)
{
	size_t len = strlen(glob);

	if (len == 0 || len > DLOCK_NAME_MAX)
		return set_error(err, DLOCK_EUSAGE, "invalid pattern '%.*s': "
				 "give 1 to %d characters", DLOCK_NAME_MAX,
				 glob, DLOCK_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		char c = glob[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("._-:/@+=*?[]^", c)))
			return set_error(err, DLOCK_EUSAGE,
					 "invalid pattern '%s': use name "
					 "characters and * ? [ ]", glob);
	}
	return 0;
}

/* The lock name inside "<prefix>{NAME}", or NULL for any other key. */
static char *name_of_key(const char *key, const char *prefix)
{
	size_t plen = strlen(prefix), len = strlen(key);

	if (len < plen + 3 || strncmp(key, prefix, plen) != 0 ||
	    key[plen] != '{' || key[len - 1] != '}')
		return NULL;
	return strndup(key + plen + 1, len - plen - 2);
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

/* Reads the locks of names[0..n) in one pipelined round trip. */
static int inspect_batch(struct dlock *d, char **names, size_t n,
			 struct dlock_status **out, size_t *count,
			 struct dlock_error *err)
{
	struct lock_keys keys[PIPELINE_BATCH];
	const char *argvs[PIPELINE_BATCH][8];
	const char **argvp[PIPELINE_BATCH];
	int argcs[PIPELINE_BATCH];
	redisReply *replies[PIPELINE_BATCH];
	size_t ready = 0;
	int rc = 0;

	for (; ready < n; ready++) {
		rc = keys_init(&keys[ready], d->cfg->prefix, names[ready], err);
		if (rc)
			goto out;
		argvs[ready][0] = "EVALSHA";
		argvs[ready][1] = script_sha(&script_inspect);
		argvs[ready][2] = "5";
		argvs[ready][3] = keys[ready].base;
		argvs[ready][4] = keys[ready].holders;
		argvs[ready][5] = keys[ready].kind;
		argvs[ready][6] = keys[ready].queue;
		argvs[ready][7] = keys[ready].waiters;
		argvp[ready] = argvs[ready];
		argcs[ready] = 8;
	}
	rc = conn_pipeline(d->conn, now_ms() + d->cfg->connect_timeout_ms, n,
			   argcs, argvp, replies, err);
	if (rc) {
		drop_conn(d);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct dlock_status *st = NULL;

		if (!rc)
			rc = reply_error(d->conn, replies[i], "read a lock",
					 err);
		if (!rc)
			rc = parse_status(names[i], replies[i], &st, err);
		if (!rc && st->held)
			out[(*count)++] = st;
		else
			dlock_status_free(st);
		freeReplyObject(replies[i]);
	}
out:
	while (ready-- > 0)
		keys_clear(&keys[ready]);
	return rc;
}

int dlock_list(struct dlock *d, const char *glob, struct dlock_status ***out,
	       size_t *count, struct dlock_error *err)
{
	char cursor[32] = "0", *pattern = NULL, **names = NULL;
	struct dlock_status **all = NULL;
	size_t nnames = 0, cap = 0;
	int rc;

	*out = NULL;
	*count = 0;
	if (glob && dlock_check_glob(glob, err))
		return DLOCK_EUSAGE;
	if (asprintf(&pattern, "%s{%s}", d->cfg->prefix, glob ? glob : "*") < 0)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	rc = dlock_connect(d, err);
	do {
		const char *argv[] = { "SCAN", cursor, "MATCH", pattern,
				       "COUNT", SCAN_BATCH };
		redisReply *r = NULL;

		if (rc)
			break;
		rc = conn_call(d->conn, now_ms() + d->cfg->connect_timeout_ms,
			       -1, 6, argv, NULL, &r, err);
		if (rc) {
			drop_conn(d);
			break;
		}
		rc = reply_error(d->conn, r, "list keys (SCAN)", err);
		if (!rc && (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
			    r->element[0]->type != REDIS_REPLY_STRING ||
			    r->element[1]->type != REDIS_REPLY_ARRAY))
			rc = bad_reply(d, "SCAN", err);
		for (size_t i = 0; !rc && i < r->element[1]->elements; i++) {
			char *name = name_of_key(r->element[1]->element[i]->str,
						 d->cfg->prefix);

			if (!name || dlock_check_name(name, NULL)) {
				free(name);
				continue;
			}
			if (nnames == cap) {
				char **grown = realloc(names, (cap * 2 + 64) *
							      sizeof(*names));

				if (!grown) {
					free(name);
					rc = set_error(err, DLOCK_ENOMEM,
						       "out of memory");
					break;
				}
				names = grown;
				cap = cap * 2 + 64;
			}
			names[nnames++] = name;
		}
		if (!rc)
			snprintf(cursor, sizeof(cursor), "%s",
				 r->element[0]->str);
		freeReplyObject(r);
	} while (!rc && strcmp(cursor, "0") != 0);
	free(pattern);
	nnames = sort_unique(names, nnames);
	if (!rc && nnames) {
		struct dlock_status *first = NULL;

		all = calloc(nnames, sizeof(*all));
		if (!all)
			rc = set_error(err, DLOCK_ENOMEM, "out of memory");
		/* One call that loads the script, if the server lacks it. */
		if (!rc)
			rc = dlock_status_get(d, names[0], &first, err);
		if (!rc && first->held)
			all[(*count)++] = first;
		else
			dlock_status_free(first);
		for (size_t i = 1; !rc && i < nnames; i += PIPELINE_BATCH) {
			size_t n = nnames - i;

			rc = inspect_batch(d, names + i, n < PIPELINE_BATCH ?
					   n : PIPELINE_BATCH, all, count, err);
		}
	}
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	if (rc) {
		for (size_t i = 0; i < *count; i++)
			dlock_status_free(all[i]);
		free(all);
		*count = 0;
		return rc;
	}
	qsort(all, *count, sizeof(*all), cmp_status);
	*out = all;
	return 0;
}

/* Runs the renew or release script for owner, mode unknown ("?"). */
static int by_owner(struct dlock *d, struct script *s, const char *name,
		    const char *owner, int64_t ttl_ms, struct dlock_error *err)
{
	char *holder = NULL, expiry[24];
	struct lock_keys k;
	redisReply *r = NULL;
	int rc;

	if (dlock_check_name(name, err))
		return DLOCK_EUSAGE;
	rc = keys_init(&k, d->cfg->prefix, name, err);
	if (rc)
		return rc;
	if (asprintf(&holder, "%s:holder:%s", k.base, owner) < 0) {
		keys_clear(&k);
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	}
	snprintf(expiry, sizeof(expiry), "%lld", (long long)ttl_ms);
	if (s == &script_renew) {
		const char *keys[] = { k.base, holder, k.holders, k.kind };
		const char *args[] = { owner, expiry, "?" };

		rc = call_script(d, s, 4, keys, 3, args, &r, err);
	} else {
		const char *keys[] = { k.base, holder, k.queue, k.waiters,
				       k.holders, k.kind };
		const char *args[] = { owner, HEARTBEAT_WINDOW_TEXT, "?" };

		rc = call_script(d, s, 6, keys, 3, args, &r, err);
	}
	if (!rc)
		rc = reply_error(d->conn, r, "run the script", err);
	if (!rc && r->type != REDIS_REPLY_INTEGER)
		rc = bad_reply(d, "a by-token request", err);
	if (!rc && r->integer != 1)
		rc = set_error(err, DLOCK_ELOST,
			       "lock '%s' is not held by owner %s: its lease "
			       "ran out, it was released or taken over, or "
			       "the token is wrong", name, owner);
	freeReplyObject(r);
	free(holder);
	keys_clear(&k);
	return rc;
}

static int check_owner(const char *owner, struct dlock_error *err)
{
	size_t len = strlen(owner);

	for (size_t i = 0; i < len; i++)
		if (!((owner[i] >= '0' && owner[i] <= '9') ||
		      (owner[i] >= 'a' && owner[i] <= 'f')))
			len = 0;
	if (len != 32)
		return set_error(err, DLOCK_EUSAGE,
				 "invalid owner token '%.40s': it is the 32 "
				 "hex digits 'dlock acquire' printed", owner);
	return 0;
}

int dlock_renew_owner(struct dlock *d, const char *name, const char *owner,
		      int64_t ttl_ms, struct dlock_error *err)
{
	if (check_owner(owner, err))
		return DLOCK_EUSAGE;
	return by_owner(d, &script_renew, name, owner, ttl_ms, err);
}

int dlock_release_owner(struct dlock *d, const char *name, const char *owner,
			struct dlock_error *err)
{
	if (check_owner(owner, err))
		return DLOCK_EUSAGE;
	return by_owner(d, &script_release, name, owner, 0, err);
}

int dlock_force_release(struct dlock *d, const char *name,
			struct dlock_status **evicted,
			struct dlock_error *err)
{
	const char *args[] = { HEARTBEAT_WINDOW_TEXT };
	struct dlock_status *st;
	redisReply *r;
	int rc = run_on_lock(d, &script_force_release, name, 1, args,
			     "release the lock by force", &r, err);

	if (!rc && r->type != REDIS_REPLY_ARRAY)
		rc = bad_reply(d, "a forced release", err);
	if (!rc) {
		st = calloc(1, sizeof(*st));
		if (st) {
			st->name = strdup(name);
			st->holders = calloc(r->elements + 1,
					     sizeof(*st->holders));
		}
		if (!st || !st->name || !st->holders) {
			dlock_status_free(st);
			rc = set_error(err, DLOCK_ENOMEM, "out of memory");
		}
	}
	for (size_t i = 0; !rc && i < r->elements; i++) {
		const redisReply *e = r->element[i];

		/* {owner, fields}: reuse the status parser's shape. */
		if (e->type == REDIS_REPLY_ARRAY && e->elements == 2) {
			redisReply ends = { .type = REDIS_REPLY_INTEGER,
					    .integer = -1 };
			redisReply *parts[3] = { e->element[0], &ends,
						 e->element[1] };
			redisReply triple = { .type = REDIS_REPLY_ARRAY,
					      .elements = 3, .element = parts };

			if (parse_holder(&triple, 0, -1,
					 &st->holders[st->nholders]))
				st->nholders++;
		}
	}
	if (!rc) {
		st->held = st->nholders > 0;
		*evicted = st;
	}
	freeReplyObject(r);
	return rc;
}
