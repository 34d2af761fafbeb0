/* SPDX-License-Identifier: MIT */
/* Reading etcd locks for people, and the by-token and forced releases. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "etcd.h"

static int oom(struct dlock_error *err)
{
	return set_error(err, DLOCK_ENOMEM, "out of memory");
}

static int bad_reply(const struct session *s, const char *what,
		     struct dlock_error *err)
{
	return set_error(err, DLOCK_ESERVER, "unexpected answer from etcd at "
			 "%s to %s", etcd_endpoint_name(s->client), what);
}

/* etcd says nothing of its clock: times are the local one's. */
static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * What is left of a lease, and what it was granted, in seconds: -1 for
 * a lease that is gone.
 */
static int time_to_live(struct session *s, int64_t lease, int64_t *left,
			int64_t *granted, struct dlock_error *err)
{
	struct json *r;
	struct jbuf b;
	int rc;

	jbuf_init(&b);
	jbuf_printf(&b, "{\"ID\":\"%lld\"}", (long long)lease);
	rc = etcd_post(s, "/v3/lease/timetolive", &b, etcd_deadline(s), -1,
		       &r, err);
	if (rc)
		return rc;
	if (!json_int64(json_get(r, "TTL"), left))
		*left = 0;
	if (!json_int64(json_get(r, "grantedTTL"), granted))
		*granted = -1;
	json_free(r);
	return 0;
}

/* The holder of a lock from its first key, with its lease's end. */
static int holder_of(struct session *s, const struct etcd_kv *kv,
		     size_t dir_len, int64_t now, struct dlock_holder *h,
		     struct dlock_error *err)
{
	int64_t left = -1, granted = -1;
	int rc;

	if (etcd_holder_from_kv(kv, dir_len, h))
		return oom(err);
	if (!kv->lease)
		return 0;
	rc = time_to_live(s, kv->lease, &left, &granted, err);
	if (rc)
		return rc;
	if (left >= 0)
		h->expires_ms = now + left * 1000;
	if (h->ttl_ms < 0 && granted > 0)
		h->ttl_ms = granted * 1000;
	return 0;
}

/* The holders among a lock's keys: the leading readers, or the first. */
static size_t count_holders(const struct etcd_kv *kvs, size_t n)
{
	size_t k = 0;

	if (n == 0 || !etcd_kv_shared(&kvs[0]))
		return n ? 1 : 0;
	while (k < n && etcd_kv_shared(&kvs[k]))
		k++;
	return k;
}

/*
 * A status from the keys of one lock in create revision order (n of
 * them; count in all, more than n when the range was cut short).
 */
static int status_from(struct session *s, const char *name,
		       const struct etcd_kv *kvs, size_t n, long long count,
		       size_t dir_len, struct dlock_status **out,
		       struct dlock_error *err)
{
	struct dlock_status *st = calloc(1, sizeof(*st));
	size_t holders = count_holders(kvs, n);
	int64_t now = wall_ms();
	int rc = 0;

	if (!st)
		return oom(err);
	st->kind = holders && etcd_kv_shared(&kvs[0]) ? DLOCK_SHARED :
		   DLOCK_EXCLUSIVE;
	st->server_now_ms = now;
	st->name = strdup(name);
	if (!st->name)
		goto fail_oom;
	if (n == 0)
		goto done;
	st->held = true;
	st->holders = calloc(holders, sizeof(*st->holders));
	if (!st->holders)
		goto fail_oom;
	for (size_t i = 0; i < holders; i++) {
		rc = holder_of(s, &kvs[i], dir_len, now, &st->holders[i], err);
		st->nholders++;
		if (rc)
			goto fail;
	}
	/* Its renewals stopped: the lease runs on for the lock delay. */
	if (holders == 1 && st->holders[0].lock_delay_ms > 0 &&
	    st->holders[0].expires_ms >= 0 &&
	    st->holders[0].expires_ms - now < st->holders[0].lock_delay_ms) {
		st->lock_delay_in_force = true;
		st->blocked_until_ms = st->holders[0].expires_ms;
	}
	st->waiters = count - (long long)holders;
	if (n > holders) {
		st->first_waiter_details = calloc(1, sizeof(struct dlock_holder));
		if (!st->first_waiter_details ||
		    etcd_holder_from_kv(&kvs[holders], dir_len,
					st->first_waiter_details))
			goto fail_oom;
		st->first_waiter = strdup(st->first_waiter_details->owner);
		if (!st->first_waiter)
			goto fail_oom;
		st->first_waiter_kind = etcd_kv_shared(&kvs[holders]) ?
					DLOCK_SHARED : DLOCK_EXCLUSIVE;
	}
done:
	*out = st;
	return 0;
fail_oom:
	rc = oom(err);
fail:
	dlock_status_free(st);
	return rc;
}

/* Every key of a lock, oldest first. */
static int read_lock(struct session *s, const char *dir, size_t dir_len,
		     struct etcd_kv **kvs, size_t *n, struct dlock_error *err)
{
	struct json *r;
	struct jbuf b;
	ssize_t got;
	int rc;

	jbuf_init(&b);
	jbuf_raw(&b, "{");
	etcd_range_dir(&b, dir, dir_len);
	jbuf_raw(&b, ",\"sort_order\":\"ASCEND\",\"sort_target\":\"CREATE\"}");
	rc = etcd_post(s, "/v3/kv/range", &b, etcd_deadline(s), -1, &r, err);
	if (rc)
		return rc;
	got = etcd_parse_kvs(r, dir, dir_len, kvs);
	json_free(r);
	if (got < 0)
		return bad_reply(s, "a range of the lock's keys", err);
	*n = (size_t)got;
	return 0;
}

int etcd_status(struct session *s, const char *name,
		struct dlock_status **out, struct dlock_error *err)
{
	struct etcd_kv *kvs = NULL;
	size_t dir_len, n = 0;
	char *dir;
	int rc = etcd_lock_dir(s, name, &dir, &dir_len, err);

	if (rc)
		return rc;
	rc = read_lock(s, dir, dir_len, &kvs, &n, err);
	if (!rc)
		rc = status_from(s, name, kvs, n, (long long)n, dir_len, out,
				 err);
	etcd_kvs_free(kvs, n);
	free(dir);
	return rc;
}

/* A lock key found by list: its name, and where it stands. */
struct found {
	char *name;
	struct etcd_kv kv;
};

static int cmp_found(const void *a, const void *b)
{
	const struct found *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->kv.create_rev < y->kv.create_rev ? -1 :
	       x->kv.create_rev > y->kv.create_rev;
}

/*
 * The lock name of a key under the prefix, <prefix>NAME/<lease hex> with
 * that lease, or NULL for any other key.
 */
static char *lock_name_of(const struct etcd_kv *kv, size_t prefix_len)
{
	const char *slash = memrchr(kv->key, '/', kv->key_len);
	struct dlock_error ignored;
	char *name;

	if (!kv->lease || !slash || slash < kv->key + prefix_len ||
	    etcd_key_lease(kv->key, kv->key_len,
			   (size_t)(slash + 1 - kv->key)) != kv->lease)
		return NULL;
	name = strndup(kv->key + prefix_len,
		       (size_t)(slash - kv->key) - prefix_len);
	if (name && (strlen(name) != (size_t)(slash - kv->key) - prefix_len ||
		     dlock_check_name(name, &ignored))) {
		free(name);
		return NULL;
	}
	return name;
}

/* Every key under the prefix (the whole key space without one). */
static int range_prefix(struct session *s, struct etcd_kv **kvs, size_t *n,
			struct dlock_error *err)
{
	size_t len = strlen(s->prefix);
	struct json *r;
	struct jbuf b;
	ssize_t got;
	int rc;

	jbuf_init(&b);
	if (len) {
		jbuf_raw(&b, "{");
		etcd_range_dir(&b, s->prefix, len);
		jbuf_raw(&b, "}");
	} else {
		/* From the lowest key to the end: "\0" both ways. */
		jbuf_raw(&b, "{\"key\":\"AA==\",\"range_end\":\"AA==\"}");
	}
	rc = etcd_post(s, "/v3/kv/range", &b, etcd_deadline(s), -1, &r, err);
	if (rc)
		return rc;
	got = etcd_parse_kvs(r, s->prefix, len, kvs);
	json_free(r);
	if (got < 0)
		return bad_reply(s, "a range of the keys under the prefix", err);
	*n = (size_t)got;
	return 0;
}

/* Moves the lock keys of kvs matching glob into *found, sorted. */
static int pick_locks(struct session *s, struct etcd_kv *kvs, size_t n,
		      const char *glob, struct found **out, size_t *nfound,
		      struct dlock_error *err)
{
	size_t prefix_len = strlen(s->prefix), k = 0;
	struct found *f = n ? calloc(n, sizeof(*f)) : NULL;

	if (n && !f)
		return oom(err);
	for (size_t i = 0; i < n; i++) {
		char *name = lock_name_of(&kvs[i], prefix_len);

		if (!name)
			continue;
		if (glob && fnmatch(glob, name, 0) != 0) {
			free(name);
			continue;
		}
		f[k].name = name;
		f[k++].kv = kvs[i];
		memset(&kvs[i], 0, sizeof(kvs[i]));
	}
	if (k)
		qsort(f, k, sizeof(*f), cmp_found);
	*out = f;
	*nfound = k;
	return 0;
}

int etcd_list(struct session *s, const char *glob,
	      struct dlock_status ***out, size_t *count,
	      struct dlock_error *err)
{
	struct dlock_status **list = NULL;
	struct etcd_kv *kvs = NULL, *group = NULL;
	struct found *f = NULL;
	size_t n = 0, nf = 0, nl = 0;
	int rc = range_prefix(s, &kvs, &n, err);

	if (rc)
		return rc;
	rc = pick_locks(s, kvs, n, glob, &f, &nf, err);
	etcd_kvs_free(kvs, n);
	if (rc)
		return rc;
	if (nf && (!(list = calloc(nf, sizeof(*list))) ||
		   !(group = calloc(nf, sizeof(*group)))))
		rc = oom(err);
	for (size_t i = 0; !rc && i < nf;) {
		size_t j = i, dir_len = strlen(s->prefix) + strlen(f[i].name) + 1;

		for (; j < nf && strcmp(f[j].name, f[i].name) == 0; j++)
			group[j - i] = f[j].kv;
		rc = status_from(s, f[i].name, group, j - i, (long long)(j - i),
				 dir_len, &list[nl], err);
		if (!rc)
			nl++;
		i = j;
	}
	free(group);
	for (size_t i = 0; i < nf; i++) {
		free(f[i].name);
		free(f[i].kv.key);
		free(f[i].kv.value);
	}
	free(f);
	if (rc) {
		for (size_t i = 0; i < nl; i++)
			dlock_status_free(list[i]);
		free(list);
		return rc;
	}
	*out = list;
	*count = nl;
	return 0;
}

/*
 * The key that owner names in lock name, when it is there and its value
 * says owner; NULL kv (returned 0) when it is not.
 */
static int owner_key(struct session *s, const char *name, const char *owner,
		     struct etcd_kv **kv, struct dlock_error *err)
{
	char hex[17], key[DLOCK_PREFIX_MAX + DLOCK_NAME_MAX + 24], mine[64];
	int64_t lease;
	struct json *r;
	struct jbuf b;
	size_t dir_len;
	ssize_t n;
	char *dir;
	int rc;

	*kv = NULL;
	memcpy(hex, owner, 16);
	hex[16] = '\0';
	lease = etcd_key_lease(hex, 16, 0);
	if (!lease)
		return 0;
	rc = etcd_lock_dir(s, name, &dir, &dir_len, err);
	if (rc)
		return rc;
	snprintf(key, sizeof(key), "%s%llx", dir, (unsigned long long)lease);
	jbuf_init(&b);
	jbuf_raw(&b, "{\"key\":");
	jbuf_base64(&b, key, strlen(key));
	jbuf_raw(&b, "}");
	rc = etcd_post(s, "/v3/kv/range", &b, etcd_deadline(s), -1, &r, err);
	if (!rc) {
		n = etcd_parse_kvs(r, dir, dir_len, kv);
		json_free(r);
		if (n < 0)
			rc = bad_reply(s, "a look at a lock key", err);
		if (n > 0) {
			etcd_kv_owner(*kv, mine, sizeof(mine));
			if (strcmp(mine, owner) != 0 || (*kv)->lease != lease) {
				etcd_kvs_free(*kv, (size_t)n);
				*kv = NULL;
			}
		}
	}
	free(dir);
	return rc;
}

static int not_held(const char *name, const char *owner,
		    struct dlock_error *err)
{
	return set_error(err, DLOCK_ELOST, "lock '%s' is not held by owner "
			 "%s: its lease ran out, it was released, or the token "
			 "is not the one dlock acquire printed", name, owner);
}

int etcd_renew_owner(struct session *s, const char *name, const char *owner,
		     int64_t ttl_ms, struct dlock_error *err)
{
	int64_t left, granted, ttl;
	struct etcd_kv *kv;
	int rc = owner_key(s, name, owner, &kv, err);

	if (rc)
		return rc;
	if (!kv)
		return not_held(name, owner, err);
	rc = time_to_live(s, kv->lease, &left, &granted, err);
	if (!rc && ttl_ms > 0 && granted > 0 &&
	    (ttl_ms + 999) / 1000 > granted)
		rc = set_error(err, DLOCK_EUSAGE, "etcd cannot lengthen a "
			       "lease: lock '%s' was taken with a lease of "
			       "%llds, and keeps it; take it again with the "
			       "--ttl you want", name, (long long)granted);
	if (!rc)
		rc = etcd_keepalive(s, kv->lease, etcd_deadline(s), -1, &ttl,
				    err);
	if (!rc && ttl == 0)
		rc = not_held(name, owner, err);
	etcd_kvs_free(kv, 1);
	return rc;
}

int etcd_release_owner(struct session *s, const char *name,
		       const char *owner, struct dlock_error *err)
{
	struct etcd_kv *kv;
	bool found;
	int rc = owner_key(s, name, owner, &kv, err);

	if (rc)
		return rc;
	if (!kv)
		return not_held(name, owner, err);
	rc = etcd_revoke(s, kv->lease, &found, err);
	etcd_kvs_free(kv, 1);
	if (!rc && !found)
		rc = not_held(name, owner, err);
	return rc;
}

/* Deletes one key: one that a lease does not hold (not ours to revoke). */
static int delete_key(struct session *s, const struct etcd_kv *kv,
		      struct dlock_error *err)
{
	struct json *r;
	struct jbuf b;
	int rc;

	jbuf_init(&b);
	jbuf_raw(&b, "{\"key\":");
	jbuf_base64(&b, kv->key, kv->key_len);
	jbuf_raw(&b, "}");
	rc = etcd_post(s, "/v3/kv/deleterange", &b, etcd_deadline(s), -1, &r,
		       err);
	json_free(r);
	return rc;
}

int etcd_force_release(struct session *s, const char *name,
		       struct dlock_status **evicted, struct dlock_error *err)
{
	struct etcd_kv *kvs = NULL;
	size_t dir_len, n = 0, holders;
	bool found;
	char *dir;
	int rc = etcd_lock_dir(s, name, &dir, &dir_len, err);

	if (rc)
		return rc;
	rc = read_lock(s, dir, dir_len, &kvs, &n, err);
	/* Only the holders: a waiter evicted would just lose its place. */
	holders = count_holders(kvs, n);
	if (!rc)
		rc = status_from(s, name, kvs, holders, (long long)holders,
				 dir_len, evicted, err);
	/* Revoking a lease deletes its key, and wakes the waiter behind. */
	for (size_t i = 0; !rc && i < holders; i++)
		rc = kvs[i].lease ? etcd_revoke(s, kvs[i].lease, &found, err) :
		     delete_key(s, &kvs[i], err);
	if (rc && *evicted) {
		dlock_status_free(*evicted);
		*evicted = NULL;
	}
	etcd_kvs_free(kvs, n);
	free(dir);
	return rc;
}
