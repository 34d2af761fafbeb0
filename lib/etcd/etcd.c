/* SPDX-License-Identifier: MIT */
/*
 * etcd v3 behind the backend seam: sessions, and a lock's life as
 * etcdctl lock (concurrency.Mutex) lives it: a lease, a key created under
 * it in one transaction, a turn taken in create revision order, a watch
 * on the key just before ours, keep-alives, and a revoke at the end. The
 * key schema is in etcd.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "etcd.h"

int64_t etcd_deadline(const struct session *s)
{
	return now_ms() + s->cfg->connect_timeout_ms;
}

static int oom(struct dlock_error *err)
{
	return set_error(err, DLOCK_ENOMEM, "out of memory");
}

int etcd_post(struct session *s, const char *path, struct jbuf *body,
	      int64_t deadline, int cancel_fd, struct json **reply,
	      struct dlock_error *err)
{
	int rc;

	*reply = NULL;
	if (body->failed) {
		jbuf_free(body);
		return oom(err);
	}
	rc = etcd_call(s->client, path, body->data, deadline, cancel_fd, reply,
		       err);
	jbuf_free(body);
	if (rc == 0 || rc == DLOCK_ESERVER || rc == DLOCK_EAUTH)
		s->reached = true;
	return rc;
}

static int bad_reply(const struct session *s, const char *what,
		     struct dlock_error *err)
{
	return set_error(err, DLOCK_ESERVER, "unexpected answer from etcd at "
			 "%s to %s; is the key prefix '%s' used by something "
			 "else than locks?", etcd_endpoint_name(s->client),
			 what, s->prefix);
}

/* host:port, with [] around an IPv6 address, for messages. */
static char *endpoint_display(const struct url_host *h)
{
	bool v6 = strchr(h->host, ':') != NULL;
	char *out;

	if (asprintf(&out, "%s%s%s:%d", v6 ? "[" : "", h->host, v6 ? "]" : "",
		     h->port) < 0)
		return NULL;
	return out;
}

void etcd_session_free(struct session *s)
{
	if (!s)
		return;
	etcd_client_free(s->client);
	for (size_t i = 0; i < s->nendpoints; i++) {
		free(s->endpoints[i].host);
		free(s->endpoints[i].display);
	}
	free(s->endpoints);
	free(s);
}

int etcd_session_new(const struct dlock_config *cfg, size_t index,
		     struct session **out, struct dlock_error *err)
{
	const struct url *u = &cfg->urls[index];
	struct etcd_client_settings set = { 0 };
	struct session *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return oom(err);
	s->cfg = cfg;
	s->prefix = cfg->prefix_default ? "" : cfg->prefix;
	s->endpoints = calloc(u->nendpoints, sizeof(*s->endpoints));
	if (!s->endpoints)
		goto fail_oom;
	for (size_t i = 0; i < u->nendpoints; i++) {
		struct url *e = &s->endpoints[i];

		s->nendpoints++;
		e->kind = URL_TCP;
		e->tls = u->tls;
		e->port = u->endpoints[i].port;
		e->host = strdup(u->endpoints[i].host);
		e->display = endpoint_display(&u->endpoints[i]);
		if (!e->host || !e->display)
			goto fail_oom;
	}
	s->tls = (struct tls_settings){
		.ca = cfg->tls_ca,
		.cert = cfg->tls_cert,
		.key = cfg->tls_key,
		.server_name = cfg->tls_server_name,
	};
	set.endpoints = s->endpoints;
	set.nendpoints = s->nendpoints;
	set.user = cfg->user ? cfg->user : u->user;
	set.password = cfg->password ? cfg->password : u->password;
	set.tls = &s->tls;
	if (set.password && !set.user)
		set.user = "root";
	rc = etcd_client_new(&set, &s->client, err);
	if (rc) {
		etcd_session_free(s);
		return rc;
	}
	*out = s;
	return 0;
fail_oom:
	etcd_session_free(s);
	return oom(err);
}

static int etcd_session_open(const struct dlock_config *cfg,
			     struct session **out, struct dlock_error *err)
{
	return etcd_session_new(cfg, 0, out, err);
}

/* Any call that every authenticated user may make will do. */
static int etcd_connect(struct session *s, struct dlock_error *err)
{
	struct json *r;
	struct jbuf b;
	int rc;

	jbuf_init(&b);
	jbuf_raw(&b, "{}");
	rc = etcd_post(s, "/v3/maintenance/status", &b, etcd_deadline(s), -1,
		       &r, err);
	json_free(r);
	return rc;
}

/* A member that said "no leader", or kept us waiting, was reached. */
static bool etcd_reached(const struct session *s)
{
	return s->reached || etcd_client_reached(s->client);
}

int etcd_lock_dir(const struct session *s, const char *name, char **dir,
		  size_t *len, struct dlock_error *err)
{
	int n = asprintf(dir, "%s%s/", s->prefix, name);

	if (n < 0)
		return oom(err);
	*len = (size_t)n;
	return 0;
}

void etcd_range_dir(struct jbuf *b, const char *dir, size_t dir_len)
{
	char end[DLOCK_PREFIX_MAX + DLOCK_NAME_MAX + 2];

	/* Every key that starts with dir sorts before dir + 1. */
	memcpy(end, dir, dir_len);
	end[dir_len - 1]++;
	jbuf_raw(b, "\"key\":");
	jbuf_base64(b, dir, dir_len);
	jbuf_raw(b, ",\"range_end\":");
	jbuf_base64(b, end, dir_len);
}

int64_t etcd_key_lease(const char *key, size_t key_len, size_t dir_len)
{
	uint64_t v = 0;

	if (key_len <= dir_len || key_len - dir_len > 16)
		return 0;
	for (size_t i = dir_len; i < key_len; i++) {
		char c = key[i];

		if (c >= '0' && c <= '9')
			v = v * 16 + (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uint64_t)(c - 'a' + 10);
		else
			return 0;
	}
	return v > INT64_MAX ? 0 : (int64_t)v;
}

void etcd_kvs_free(struct etcd_kv *kvs, size_t n)
{
	for (size_t i = 0; kvs && i < n; i++) {
		free(kvs[i].key);
		free(kvs[i].value);
	}
	free(kvs);
}

ssize_t etcd_parse_kvs(const struct json *r, const char *dir, size_t dir_len,
		       struct etcd_kv **out)
{
	const struct json *kvs = json_get(r, "kvs");
	size_t n = json_count(kvs);
	struct etcd_kv *v;

	*out = NULL;
	if (json_get(r, "kvs") && json_type(kvs) != JSON_ARRAY)
		return -1;
	if (n == 0)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct json *kv = json_at(kvs, i);

		v[i].key = json_bytes(json_get(kv, "key"), &v[i].key_len);
		v[i].value = json_bytes(json_get(kv, "value"),
					&v[i].value_len);
		if (!v[i].key || !v[i].value ||
		    !json_int64(json_get(kv, "create_revision"),
				&v[i].create_rev) || v[i].create_rev <= 0 ||
		    v[i].key_len < dir_len ||
		    memcmp(v[i].key, dir, dir_len) != 0) {
			etcd_kvs_free(v, n);
			return -1;
		}
		/* No lease: not a lock's key; 0 marks it for the callers. */
		if (!json_int64(json_get(kv, "lease"), &v[i].lease))
			v[i].lease = 0;
	}
	*out = v;
	return (ssize_t)n;
}

/* A string member of a holder's value, or NULL. */
static char *value_str(const struct json *v, const char *name)
{
	const char *s = json_string(json_get(v, name), NULL);

	return s ? strdup(s) : NULL;
}

void etcd_kv_owner(const struct etcd_kv *kv, char *buf, size_t size)
{
	struct json *v = kv->value_len ?
			 json_parse(kv->value, kv->value_len, NULL) : NULL;
	const char *owner = json_string(json_get(v, "owner"), NULL);

	snprintf(buf, size, "%s", owner ? owner : "");
	json_free(v);
}

bool etcd_kv_shared(const struct etcd_kv *kv)
{
	struct json *v = kv->value_len ?
			 json_parse(kv->value, kv->value_len, NULL) : NULL;
	const char *mode = json_string(json_get(v, "mode"), NULL);
	bool shared = json_get(v, "dlock") && mode &&
		      strcmp(mode, "shared") == 0;

	json_free(v);
	return shared;
}

int etcd_holder_from_kv(const struct etcd_kv *kv, size_t dir_len,
			struct dlock_holder *h)
{
	struct json *v = kv->value_len ?
			 json_parse(kv->value, kv->value_len, NULL) : NULL;
	int64_t n;
	int rc = 0;

	memset(h, 0, sizeof(*h));
	h->since_ms = h->expires_ms = h->ttl_ms = -1;
	h->owner = value_str(v, "owner");
	if (!h->owner && asprintf(&h->owner, "%.*s",
				  (int)(kv->key_len - dir_len),
				  kv->key + dir_len) < 0)
		h->owner = NULL;
	if (asprintf(&h->token, "%lld", (long long)kv->create_rev) < 0)
		h->token = NULL;
	if (!h->owner || !h->token)
		rc = DLOCK_ENOMEM;
	if (!v || !json_get(v, "dlock"))
		goto out;
	h->host = value_str(v, "host");
	h->user = value_str(v, "user");
	h->command = value_str(v, "command");
	h->mode = value_str(v, "mode");
	if (json_int64(json_get(v, "pid"), &n) && n > 0)
		h->pid = (long)n;
	if (json_int64(json_get(v, "since"), &n))
		h->since_ms = n;
	if (json_int64(json_get(v, "ttl_ms"), &n))
		h->ttl_ms = n;
	if (json_int64(json_get(v, "lock_delay_ms"), &n) && n > 0)
		h->lock_delay_ms = n;
	h->renewal = json_true(json_get(v, "keeps_alive")) ?
		     DLOCK_RENEWAL_HOLDER : DLOCK_RENEWAL_BY_TOKEN;
out:
	if (!h->mode)
		h->mode = strdup("exclusive");
	if (!h->mode)
		rc = DLOCK_ENOMEM;
	json_free(v);
	return rc;
}

int etcd_revoke(struct session *s, int64_t lease, bool *found,
		struct dlock_error *err)
{
	struct json *r;
	struct jbuf b;
	int rc;

	jbuf_init(&b);
	jbuf_printf(&b, "{\"ID\":\"%lld\"}", (long long)lease);
	rc = etcd_post(s, "/v3/lease/revoke", &b, etcd_deadline(s), -1, &r,
		       err);
	json_free(r);
	*found = rc == 0;
	if (rc == DLOCK_ESERVER && etcd_last_code(s->client) == GRPC_NOT_FOUND)
		rc = 0;
	return rc;
}

int etcd_keepalive(struct session *s, int64_t lease, int64_t deadline,
		   int cancel_fd, int64_t *ttl_s, struct dlock_error *err)
{
	struct json *r;
	struct jbuf b;
	int rc;

	jbuf_init(&b);
	jbuf_printf(&b, "{\"ID\":\"%lld\"}", (long long)lease);
	rc = etcd_post(s, "/v3/lease/keepalive", &b, deadline, cancel_fd, &r,
		       err);
	if (rc)
		return rc;
	/* A lease that is gone comes back without its TTL. */
	if (!json_int64(json_get(r, "TTL"), ttl_s) || *ttl_s < 0)
		*ttl_s = 0;
	json_free(r);
	return 0;
}

/* Our key's value: who we are, for status, list and the waiters. */
static void write_value(struct jbuf *b, const struct dlock_lock *lock,
			const struct holder_meta *m)
{
	struct timespec ts;
	long pid = strtol(m->pid, NULL, 10);

	clock_gettime(CLOCK_REALTIME, &ts);
	jbuf_printf(b, "{\"dlock\":1,\"owner\":\"%s\",\"host\":", lock->owner);
	jbuf_string(b, m->host, strlen(m->host));
	jbuf_printf(b, ",\"pid\":%ld,\"user\":", pid);
	jbuf_string(b, m->user, strlen(m->user));
	jbuf_raw(b, ",\"command\":");
	jbuf_string(b, m->command, strlen(m->command));
	jbuf_printf(b, ",\"since\":%lld,\"mode\":\"%s\",\"ttl_ms\":%lld,"
		    "\"lock_delay_ms\":%lld,\"keeps_alive\":%s}",
		    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
		    lock->mode == DLOCK_SHARED ? "shared" : "exclusive",
		    (long long)lock->ttl_ms,
		    (long long)(lock->expiry_ms - lock->ttl_ms),
		    m->keeps_alive ? "true" : "false");
}

static int etcd_lock_init(struct session *s, struct dlock_lock *lock,
			  struct dlock_error *err)
{
	struct backend_lock *impl;
	int rc;

	/* The holder is always the oldest key: nobody can cut in. */
	if (lock->no_fifo)
		return set_error(err, DLOCK_EUSAGE, "the etcd backend cannot "
				 "do --no-fifo: the holder of an etcd lock is "
				 "always the oldest key, as for etcdctl lock, "
				 "so waiters take turns in order");
	impl = calloc(1, sizeof(*impl));
	if (!impl)
		return oom(err);
	rc = etcd_lock_dir(s, lock->name, &impl->dir, &impl->dir_len, err);
	if (rc) {
		free(impl);
		return rc;
	}
	lock->impl = impl;
	return 0;
}

static void drop_watch(struct backend_lock *impl)
{
	etcd_watch_close(impl->watch);
	impl->watch = NULL;
}

static void forget_ahead(struct backend_lock *impl)
{
	free(impl->ahead);
	impl->ahead = NULL;
	impl->ahead_len = 0;
}

static void etcd_lock_free(struct backend_lock *impl)
{
	drop_watch(impl);
	forget_ahead(impl);
	free(impl->dir);
	free(impl);
}

/* Our lease and key are gone, or let go: the next try starts afresh. */
static void forget_lease(struct backend_lock *impl)
{
	drop_watch(impl);
	forget_ahead(impl);
	impl->lease = 0;
	impl->rev = 0;
	impl->revoking = impl->was_there = false;
}

/*
 * A lease that outlasts the local end of the lock by the reaction margin
 * (lease_end_from()) and the lock delay (the kill window of dlock run):
 * whole seconds, rounded up, never below etcd's minimum, which it would
 * grant anyway. A waiter's lease is the one it will hold the lock with,
 * so a waiter killed with -9 keeps its place that long too.
 */
static int grant(struct session *s, struct dlock_lock *lock,
		 struct dlock_error *err)
{
	struct backend_lock *impl = lock->impl;
	int64_t want = (lock->expiry_ms + 999) / 1000, id, ttl;
	char secret[17];
	struct json *r;
	struct jbuf b;
	int rc;

	if (want < ETCD_MIN_TTL_S)
		want = ETCD_MIN_TTL_S;
	jbuf_init(&b);
	jbuf_printf(&b, "{\"TTL\":\"%lld\"}", (long long)want);
	rc = etcd_post(s, "/v3/lease/grant", &b, etcd_deadline(s), -1, &r,
		       err);
	if (rc)
		return rc;
	if (json_string(json_get(r, "error"), NULL) &&
	    *json_string(json_get(r, "error"), NULL))
		rc = set_error(err, DLOCK_ESERVER, "etcd at %s refused a "
			       "lease: %s", etcd_endpoint_name(s->client),
			       json_string(json_get(r, "error"), NULL));
	else if (!json_int64(json_get(r, "ID"), &id) || id <= 0 ||
		 !json_int64(json_get(r, "TTL"), &ttl) || ttl < want)
		rc = bad_reply(s, "a lease grant", err);
	json_free(r);
	if (rc)
		return rc;
	impl->lease = id;
	impl->lease_ttl_s = ttl;
	impl->key_len = (size_t)snprintf(impl->key, sizeof(impl->key),
					 "%s%llx", impl->dir,
					 (unsigned long long)id);
	/* The token names the lease; its random half stays as it was. */
	snprintf(secret, sizeof(secret), "%.16s", lock->owner + 16);
	snprintf(lock->owner, sizeof(lock->owner), "%016llx%s",
		 (unsigned long long)id, secret);
	return 0;
}

/* The first key of dir by create revision, with its value. */
static void range_first(struct jbuf *b, const struct backend_lock *impl)
{
	jbuf_raw(b, "{\"request_range\":{");
	etcd_range_dir(b, impl->dir, impl->dir_len);
	jbuf_raw(b, ",\"sort_order\":\"ASCEND\",\"sort_target\":\"CREATE\","
		 "\"limit\":\"1\"}}");
}

static void range_key(struct jbuf *b, const struct backend_lock *impl)
{
	jbuf_raw(b, "{\"request_range\":{\"key\":");
	jbuf_base64(b, impl->key, impl->key_len);
	jbuf_raw(b, "}}");
}

/* The response_range of a txn's answer number i. */
static const struct json *txn_range(const struct json *r, size_t i)
{
	return json_get(json_at(json_get(r, "responses"), i),
			"response_range");
}

/* The lock's keys in a txn's answer number i, as etcd_parse_kvs(). */
static ssize_t txn_kvs(const struct json *r, size_t i,
		       const struct backend_lock *impl, struct etcd_kv **out)
{
	return etcd_parse_kvs(txn_range(r, i), impl->dir, impl->dir_len, out);
}

/* The two reads every look at the lock starts with: our key, the first. */
static void range_own_and_first(struct jbuf *b,
				const struct backend_lock *impl)
{
	range_key(b, impl);
	jbuf_raw(b, ",");
	range_first(b, impl);
}

/* Says who holds the lock, from its first key. */
static void fill_busy(const struct backend_lock *impl,
		      const struct etcd_kv *first, struct try_result *res)
{
	struct dlock_holder h;
	struct timespec ts;

	res->outcome = TRY_BUSY;
	res->age_ms = -1;
	res->look_again_ms = impl->lease_ttl_s ?
			     impl->lease_ttl_s * 1000 / 3 : 1000;
	if (!first)
		return;
	if (etcd_holder_from_kv(first, impl->dir_len, &h) == 0) {
		res->has_owner = true;
		snprintf(res->owner, sizeof(res->owner), "%s", h.owner);
		res->has_details = h.host != NULL;
		snprintf(res->holder.host, sizeof(res->holder.host), "%s",
			 h.host ? h.host : "");
		if (h.pid)
			snprintf(res->holder.pid, sizeof(res->holder.pid),
				 "%ld", h.pid);
		snprintf(res->holder.user, sizeof(res->holder.user), "%s",
			 h.user ? h.user : "");
		snprintf(res->holder.command, sizeof(res->holder.command),
			 "%s", h.command ? h.command : "");
		clock_gettime(CLOCK_REALTIME, &ts);
		if (h.since_ms >= 0)
			res->age_ms = (long long)ts.tv_sec * 1000 +
				      ts.tv_nsec / 1000000 - h.since_ms;
		if (res->age_ms < -1)
			res->age_ms = 0;
	}
	holder_clear(&h);
}

/* Whether the lock is free for us, without a lease: -n's first look. */
static int peek(struct session *s, struct dlock_lock *lock, bool *busy,
		struct try_result *res, struct dlock_error *err)
{
	struct backend_lock *impl = lock->impl;
	bool shared = lock->mode == DLOCK_SHARED;
	struct etcd_kv *kvs;
	struct json *r;
	struct jbuf b;
	ssize_t n;
	int rc;

	jbuf_init(&b);
	jbuf_raw(&b, "{");
	etcd_range_dir(&b, impl->dir, impl->dir_len);
	/* A reader is kept out by writers only: it reads every key. */
	jbuf_printf(&b, ",\"sort_order\":\"ASCEND\",\"sort_target\":"
		    "\"CREATE\"%s}", shared ? "" : ",\"limit\":\"1\"");
	rc = etcd_post(s, "/v3/kv/range", &b, etcd_deadline(s), -1, &r, err);
	if (rc)
		return rc;
	n = etcd_parse_kvs(r, impl->dir, impl->dir_len, &kvs);
	json_free(r);
	if (n < 0)
		return bad_reply(s, "a range of the lock's keys", err);
	*busy = false;
	for (ssize_t i = 0; i < n && !*busy; i++)
		*busy = !shared || !etcd_kv_shared(&kvs[i]);
	if (*busy)
		fill_busy(impl, &kvs[0], res);
	etcd_kvs_free(kvs, (size_t)n);
	return 0;
}

/*
 * Creates our key under our lease unless it exists, in one transaction
 * that also reads the first key. *first: ours is the oldest.
 */
static int create_key(struct session *s, struct dlock_lock *lock,
		      const struct holder_meta *meta, bool *first,
		      struct dlock_error *err)
{
	struct backend_lock *impl = lock->impl;
	struct etcd_kv *own = NULL, *kvs = NULL;
	struct jbuf b, value;
	struct json *r;
	ssize_t n = 0, m = 0;
	int rc;

	jbuf_init(&value);
	write_value(&value, lock, meta);
	jbuf_init(&b);
	jbuf_raw(&b, "{\"compare\":[{\"key\":");
	jbuf_base64(&b, impl->key, impl->key_len);
	jbuf_raw(&b, ",\"target\":\"CREATE\",\"result\":\"EQUAL\","
		 "\"create_revision\":\"0\"}],\"success\":[{\"request_put\":"
		 "{\"key\":");
	jbuf_base64(&b, impl->key, impl->key_len);
	jbuf_raw(&b, ",\"value\":");
	if (!value.failed)
		jbuf_base64(&b, value.data, value.len);
	b.failed |= value.failed;
	jbuf_free(&value);
	jbuf_printf(&b, ",\"lease\":\"%lld\"}},", (long long)impl->lease);
	range_first(&b, impl);
	jbuf_raw(&b, "],\"failure\":[");
	range_own_and_first(&b, impl);
	jbuf_raw(&b, "]}");
	rc = etcd_post(s, "/v3/kv/txn", &b, etcd_deadline(s), -1, &r, err);
	if (rc)
		return rc;
	if (json_true(json_get(r, "succeeded"))) {
		if (!json_int64(json_path(r, "header.revision"), &impl->rev))
			impl->rev = 0;
		n = txn_kvs(r, 1, impl, &kvs);
	} else {
		/* Ours from an earlier try of this very lease. */
		m = txn_kvs(r, 0, impl, &own);
		impl->rev = m == 1 ? own[0].create_rev : 0;
		n = txn_kvs(r, 1, impl, &kvs);
	}
	json_free(r);
	etcd_kvs_free(own, m > 0 ? (size_t)m : 0);
	if (n <= 0 || impl->rev <= 0) {
		etcd_kvs_free(kvs, n > 0 ? (size_t)n : 0);
		return bad_reply(s, "the transaction that creates the lock key",
				 err);
	}
	*first = kvs[0].create_rev == impl->rev;
	etcd_kvs_free(kvs, (size_t)n);
	return 0;
}

/* Watches kv from now on, unless it is the key we watch already. */
static void set_ahead(struct backend_lock *impl, struct etcd_kv *kv)
{
	if (impl->ahead && impl->ahead_len == kv->key_len &&
	    memcmp(impl->ahead, kv->key, kv->key_len) == 0)
		return;
	drop_watch(impl);
	forget_ahead(impl);
	impl->ahead = kv->key;
	impl->ahead_len = kv->key_len;
	kv->key = NULL;
}

/* The keys before ours: keys only and the last (-x), or all (-s). */
static void range_before(struct jbuf *b, const struct backend_lock *impl,
			 bool values, bool last)
{
	jbuf_raw(b, ",{\"request_range\":{");
	etcd_range_dir(b, impl->dir, impl->dir_len);
	if (last)
		jbuf_raw(b, ",\"sort_order\":\"DESCEND\",\"sort_target\":"
			 "\"CREATE\",\"limit\":\"1\"");
	else
		jbuf_raw(b, ",\"sort_order\":\"ASCEND\",\"sort_target\":"
			 "\"CREATE\"");
	jbuf_printf(b, "%s,\"max_create_revision\":\"%lld\"}}",
		    values ? "" : ",\"keys_only\":true",
		    (long long)impl->rev - 1);
}

/*
 * Where we stand, in one read: our key, the first key, and the keys
 * before ours: for -x the one just before (and with want_place how many
 * there are); for -s all of them, as a reader waits for the last writer
 * before it only. *gone: our key is not there any more.
 */
static int look(struct session *s, struct dlock_lock *lock, bool want_place,
		bool *gone, bool *first, struct try_result *res,
		struct dlock_error *err)
{
	struct backend_lock *impl = lock->impl;
	struct etcd_kv *own = NULL, *head = NULL, *ahead = NULL, *before = NULL;
	ssize_t n_own, n_head, n_ahead = 0, n_before = 0, writer = -1;
	bool shared = lock->mode == DLOCK_SHARED;
	struct json *r;
	struct jbuf b;
	int rc;

	jbuf_init(&b);
	jbuf_raw(&b, "{\"success\":[");
	range_own_and_first(&b, impl);
	if (shared) {
		range_before(&b, impl, true, false);
	} else {
		range_before(&b, impl, false, true);
		if (want_place)
			range_before(&b, impl, false, false);
	}
	jbuf_raw(&b, "]}");
	rc = etcd_post(s, "/v3/kv/txn", &b, etcd_deadline(s), -1, &r, err);
	if (rc)
		return rc;
	n_own = txn_kvs(r, 0, impl, &own);
	n_head = txn_kvs(r, 1, impl, &head);
	if (shared)
		n_before = txn_kvs(r, 2, impl, &before);
	else
		n_ahead = txn_kvs(r, 2, impl, &ahead);
	if (!shared && want_place)
		n_before = txn_kvs(r, 3, impl, &before);
	if (!json_int64(json_path(r, "header.revision"), &impl->ahead_seen))
		n_own = -1;
	json_free(r);
	if (n_own < 0 || n_head < 0 || n_ahead < 0 || n_before < 0) {
		rc = bad_reply(s, "a look at the lock's keys", err);
		goto out;
	}
	for (ssize_t i = 0; shared && i < n_before; i++)
		if (!etcd_kv_shared(&before[i]))
			writer = i;
	*gone = n_own == 0;
	*first = !*gone && n_head > 0 && (head[0].create_rev == impl->rev ||
					  (shared && writer < 0));
	if (*gone || *first)
		goto out;
	fill_busy(impl, n_head > 0 ? &head[0] : NULL, res);
	res->place = n_before;
	if (shared && writer >= 0)
		set_ahead(impl, &before[writer]);
	else if (n_ahead > 0)
		set_ahead(impl, &ahead[0]);
out:
	etcd_kvs_free(own, n_own > 0 ? (size_t)n_own : 0);
	etcd_kvs_free(head, n_head > 0 ? (size_t)n_head : 0);
	etcd_kvs_free(ahead, n_ahead > 0 ? (size_t)n_ahead : 0);
	etcd_kvs_free(before, n_before > 0 ? (size_t)n_before : 0);
	return rc;
}

static void taken(struct dlock_lock *lock, struct try_result *res)
{
	struct backend_lock *impl = lock->impl;

	drop_watch(impl);
	forget_ahead(impl);
	res->outcome = TRY_TAKEN;
	snprintf(lock->fence, sizeof(lock->fence), "%lld",
		 (long long)impl->rev);
}

/* Lets go of a lease we will not use, as well as the network allows. */
static void give_back(struct session *s, struct backend_lock *impl)
{
	struct dlock_error ignored;
	bool found;

	if (impl->lease)
		etcd_revoke(s, impl->lease, &found, &ignored);
	forget_lease(impl);
}

/* A new lease and key: our place at the end of the queue. */
static int join_queue(struct session *s, struct dlock_lock *lock,
		      const struct holder_meta *meta, bool want_place,
		      bool *first, struct try_result *res,
		      struct dlock_error *err)
{
	bool gone;
	int rc = grant(s, lock, err);

	if (rc)
		return rc;
	rc = create_key(s, lock, meta, first, err);
	if (rc) {
		give_back(s, lock->impl);
		return rc;
	}
	if (*first)
		return 0;
	return look(s, lock, want_place, &gone, first, res, err);
}

static int etcd_try_acquire(struct session *s, struct dlock_lock *lock,
			    const struct holder_meta *meta, bool join,
			    bool want_place, struct try_result *res,
			    struct dlock_error *err)
{
	struct backend_lock *impl = lock->impl;
	bool first = false, gone = false, busy = false;
	int64_t ttl;
	int rc;

	memset(res, 0, sizeof(*res));
	if (impl->lease) {
		/* Queued: our lease must outlive the wait. */
		rc = etcd_keepalive(s, impl->lease, etcd_deadline(s), -1, &ttl,
				    err);
		if (rc)
			return rc;
		if (ttl > 0)
			rc = look(s, lock, want_place, &gone, &first, res,
				  err);
		if (rc)
			return rc;
		/* Lost our place (the lease ran out, or the key was deleted). */
		if (ttl == 0 || gone)
			give_back(s, impl);
	} else if (!join) {
		rc = peek(s, lock, &busy, res, err);
		if (rc || busy)
			return rc;
	}
	if (!impl->lease) {
		memset(res, 0, sizeof(*res));
		rc = join_queue(s, lock, meta, want_place, &first, res, err);
		if (rc)
			return rc;
	}
	if (first) {
		taken(lock, res);
		return 0;
	}
	/* Busy, whatever look found: TRY_TAKEN is the zero value. */
	res->outcome = TRY_BUSY;
	if (res->look_again_ms <= 0)
		res->look_again_ms = 100;
	/* -n lost a race for a free lock: leave no key behind. */
	if (!join)
		give_back(s, impl);
	return 0;
}

/*
 * Watches the key just before ours until it goes, until until, or until
 * cancelled. The watch stays open while that key stays the one ahead.
 */
static int etcd_wait(struct session *s, struct dlock_lock *lock,
		     int64_t until, const struct wait_hooks *hooks,
		     struct dlock_error *err)
{
	struct backend_lock *impl = lock->impl;
	bool changed = false;
	int rc;

	if (!impl->ahead)
		return 0;
	if (!impl->watch) {
		rc = etcd_watch_open(s->client, impl->ahead, impl->ahead_len,
				     impl->ahead_seen + 1, etcd_deadline(s),
				     &impl->watch, err);
		if (rc)
			return rc;
	}
	for (;;) {
		int64_t now = now_ms(), step = until;

		if (hooks->tick && now + hooks->tick_ms < until)
			step = now + hooks->tick_ms;
		rc = etcd_watch_wait(impl->watch, step, hooks->cancel_fd,
				     &changed, err);
		if (rc || changed) {
			drop_watch(impl);
			return rc;
		}
		if (now_ms() >= until)
			return 0;
		if (hooks->tick)
			hooks->tick(hooks->tick_arg);
	}
}

static void etcd_leave(struct session *s, struct dlock_lock *lock)
{
	give_back(s, lock->impl);
}

/* Whether our key is there, under our lease, as we created it. */
static int own_key_there(struct session *s, const struct backend_lock *impl,
			 int64_t deadline, int cancel_fd, bool *there,
			 struct dlock_error *err)
{
	struct etcd_kv *own = NULL;
	struct json *r;
	struct jbuf b;
	ssize_t n;
	int rc;

	jbuf_init(&b);
	jbuf_raw(&b, "{\"key\":");
	jbuf_base64(&b, impl->key, impl->key_len);
	jbuf_raw(&b, "}");
	rc = etcd_post(s, "/v3/kv/range", &b, deadline, cancel_fd, &r, err);
	if (rc)
		return rc;
	n = etcd_parse_kvs(r, impl->dir, impl->dir_len, &own);
	json_free(r);
	if (n < 0)
		return bad_reply(s, "a look at our lock key", err);
	*there = n == 1 && own[0].create_rev == impl->rev &&
		 own[0].lease == impl->lease;
	etcd_kvs_free(own, (size_t)n);
	return 0;
}

static int etcd_renew(struct session *s, struct dlock_lock *lock,
		      int64_t deadline, int cancel_fd,
		      enum renew_result *res, struct dlock_error *err)
{
	struct backend_lock *impl = lock->impl;
	bool there = false;
	int64_t ttl;
	int rc = etcd_keepalive(s, impl->lease, deadline, cancel_fd, &ttl,
				err);

	if (rc)
		return rc;
	/* A live lease whose key someone deleted holds nothing. */
	if (ttl > 0)
		rc = own_key_there(s, impl, deadline, cancel_fd, &there, err);
	if (!rc)
		*res = there ? RENEWED : RENEW_GONE;
	return rc;
}

/*
 * Whether the lock was ours is read before the revoke: a revoke may be
 * sent twice (a connection that broke after it left, then the next
 * endpoint, or the caller's retry), and the second finds no lease.
 */
static int etcd_release(struct session *s, struct dlock_lock *lock,
			bool *was_ours, struct dlock_error *err)
{
	struct backend_lock *impl = lock->impl;
	bool found;
	int rc = 0;

	if (!impl->revoking)
		rc = own_key_there(s, impl, etcd_deadline(s), -1,
				   &impl->was_there, err);
	if (rc)
		return rc;
	impl->revoking = true;
	rc = etcd_revoke(s, impl->lease, &found, err);
	if (rc)
		return rc;
	*was_ours = impl->was_there;
	forget_lease(impl);
	return 0;
}

/* The lease an owner token names, or 0. */
static int64_t owner_lease(const char *owner)
{
	char hex[17];

	if (strlen(owner) != 2 * OWNER_BYTES)
		return 0;
	memcpy(hex, owner, 16);
	hex[16] = '\0';
	return etcd_key_lease(hex, 16, 0);
}

static int etcd_held_by(struct session *s, const struct dlock_lock *lock,
			const char *owner, enum holding *how,
			struct dlock_error *err)
{
	const struct backend_lock *impl = lock->impl;
	struct backend_lock probe = *impl;
	struct etcd_kv *own = NULL, *head = NULL;
	char theirs[DLOCK_OWNER_MAX];
	ssize_t n_own, n_head;
	int64_t lease = owner_lease(owner);
	struct json *r;
	struct jbuf b;
	int rc;

	*how = HOLDS_NOTHING;
	if (!lease)
		return 0;
	probe.key_len = (size_t)snprintf(probe.key, sizeof(probe.key),
					 "%s%llx", impl->dir,
					 (unsigned long long)lease);
	jbuf_init(&b);
	jbuf_raw(&b, "{\"success\":[");
	range_own_and_first(&b, &probe);
	jbuf_raw(&b, "]}");
	rc = etcd_post(s, "/v3/kv/txn", &b, etcd_deadline(s), -1, &r, err);
	if (rc)
		return rc;
	n_own = txn_kvs(r, 0, impl, &own);
	n_head = txn_kvs(r, 1, impl, &head);
	json_free(r);
	if (n_own < 0 || n_head < 0)
		rc = bad_reply(s, "a look at the lock's keys", err);
	else if (n_own == 1 && n_head == 1) {
		/* A reader's owner runs only once the reader holds. */
		etcd_kv_owner(&own[0], theirs, sizeof(theirs));
		if (strcmp(theirs, owner) != 0)
			*how = HOLDS_NOTHING;
		else if (etcd_kv_shared(&own[0]))
			*how = HOLDS_SHARED;
		else if (own[0].create_rev == head[0].create_rev)
			*how = HOLDS_EXCLUSIVE;
	}
	etcd_kvs_free(own, n_own > 0 ? (size_t)n_own : 0);
	etcd_kvs_free(head, n_head > 0 ? (size_t)n_head : 0);
	return rc;
}

static void etcd_session_close(struct session *s)
{
	etcd_session_free(s);
}

/*
 * No --limit: the n-th holder of a semaphore gets in when any of the
 * keys before it goes; watching them all, every arrival would wake every
 * waiter. The lock delay
 * is part of the lease's TTL: only a holder that stops renewing pays it.
 */
const struct backend_ops etcd_backend = {
	.version = BACKEND_OPS_VERSION,
	.name = "etcd",
	.caps = CAP_FIFO | CAP_SHARED | CAP_LOCK_DELAY | CAP_MONOTONIC_FENCE |
		CAP_REPLICA_CONFIRMED,
	.session_open = etcd_session_open,
	.session_close = etcd_session_close,
	.connect = etcd_connect,
	.reached = etcd_reached,
	.lock_init = etcd_lock_init,
	.lock_free = etcd_lock_free,
	.held_by = etcd_held_by,
	.try_acquire = etcd_try_acquire,
	.wait = etcd_wait,
	.leave = etcd_leave,
	.renew = etcd_renew,
	.release = etcd_release,
	.status = etcd_status,
	.list = etcd_list,
	.renew_owner = etcd_renew_owner,
	.release_owner = etcd_release_owner,
	.force_release = etcd_force_release,
	.doctor = etcd_doctor,
};
