/* SPDX-License-Identifier: MIT */
/*
 * The etcd backend's private parts, shared by its files: etcd.c (sessions
 * and the lock's life), inspect.c (status, list, the by-owner calls) and
 * doctor.c.
 *
 * Key schema, that of etcdctl lock and concurrency.Mutex so that the two
 * exclude each other: lock NAME is the set of keys
 *	<prefix>NAME/<lease id in lower-case hex, no padding>
 * one per holder or waiter, each attached to its own lease. The key with
 * the lowest create revision holds the lock; the others wait in create
 * revision order, each watching the key just before its own. A reader
 * (-s) holds it when no writer's key comes before its own, and watches
 * the last writer's key before it (the recipe of etcd's rwmutex); every
 * key that is not a dlock reader's is a writer's. <prefix> is
 * empty unless one was set (--prefix, DLOCK_PREFIX, config), as etcdctl
 * lock NAME uses NAME/ as it is.
 *
 * A key's value is empty for etcdctl lock, and a JSON object for dlock:
 *	{"dlock":1,"owner":"<32 hex>","host":..,"pid":N,"user":..,
 *	 "command":..,"since":<epoch ms, local clock>,"mode":"exclusive"|"shared",
 *	 "ttl_ms":N,"lock_delay_ms":N,"keeps_alive":true|false}
 * The owner token is the lease id in 16 hex digits followed by 16 random
 * hex digits: it names the lease, and the random half (kept in the value)
 * makes it more than the key name anyone may read.
 */
#ifndef DLOCK_ETCD_H
#define DLOCK_ETCD_H

#include "backend.h"
#include "wire.h"

/* etcd grants no lease shorter than this (3.4 with default timings). */
#define ETCD_MIN_TTL_S 2

struct session {
	const struct dlock_config *cfg;
	struct etcd_client *client;
	struct url *endpoints;	/* one URL_TCP url per endpoint */
	size_t nendpoints;
	struct tls_settings tls;
	const char *prefix;	/* "" or the configured prefix */
	bool reached;
};

struct backend_lock {
	char *dir;		/* <prefix>NAME/ */
	size_t dir_len;
	int64_t lease;		/* ours; 0: none yet */
	int64_t lease_ttl_s;	/* as etcd granted it */
	char key[DLOCK_PREFIX_MAX + DLOCK_NAME_MAX + 24];
	size_t key_len;
	int64_t rev;		/* our key's create revision */
	/* The key just before ours, which we watch while waiting. */
	char *ahead;
	size_t ahead_len;
	int64_t ahead_seen;	/* the revision at which it was there */
	struct etcd_watch *watch;	/* on ahead, kept between waits */
	/* release: our key was there before the first revoke was sent */
	bool revoking;
	bool was_there;
};

/* One key of a range's answer. */
struct etcd_kv {
	char *key;
	size_t key_len;
	char *value;
	size_t value_len;
	int64_t create_rev;
	int64_t lease;
};

/* A session on resolved settings, and its client. No I/O. */
int etcd_session_new(const struct dlock_config *cfg, size_t index,
		     struct session **out, struct dlock_error *err);
void etcd_session_free(struct session *s);

int64_t etcd_deadline(const struct session *s);

/*
 * POSTs body (freed here; a failed growth is DLOCK_ENOMEM) to path, and
 * notes that the cluster answered. Returns etcd_call()'s codes.
 */
int etcd_post(struct session *s, const char *path, struct jbuf *body,
	      int64_t deadline, int cancel_fd, struct json **reply,
	      struct dlock_error *err);

/* The keys of one lock, <prefix>NAME/, and its range end. */
int etcd_lock_dir(const struct session *s, const char *name, char **dir,
		  size_t *len, struct dlock_error *err);

/*
 * The kvs of a range answer r (a response_range, or a whole range
 * reply), checked: every key under dir, a lease and a create revision.
 * Returns the count (0 for none) with *out (etcd_kvs_free), or -1 for a
 * reply that is not what a lock's keys look like, or out of memory.
 */
ssize_t etcd_parse_kvs(const struct json *r, const char *dir,
		       size_t dir_len, struct etcd_kv **out);
void etcd_kvs_free(struct etcd_kv *kvs, size_t n);

/*
 * The lease id a lock key names after dir, or 0 when the rest of the key
 * is not lower-case hex.
 */
int64_t etcd_key_lease(const char *key, size_t key_len, size_t dir_len);

/* Writes a range of dir's keys, as a RangeRequest object. */
void etcd_range_dir(struct jbuf *b, const char *dir, size_t dir_len);

/*
 * Fills h from a lock key and its value: the dlock fields, or none for
 * etcdctl lock's empty value. Returns 0 or DLOCK_ENOMEM.
 */
int etcd_holder_from_kv(const struct etcd_kv *kv, size_t dir_len,
			struct dlock_holder *h);

/*
 * Whether a key is a reader's (-s): a dlock value in mode shared. Any
 * other key, etcdctl lock's among them, is a writer's.
 */
bool etcd_kv_shared(const struct etcd_kv *kv);

/* The value's owner token, or "" when it has none. */
void etcd_kv_owner(const struct etcd_kv *kv, char *buf, size_t size);

/* Revokes lease id, which deletes its keys. *found: it existed. */
int etcd_revoke(struct session *s, int64_t lease, bool *found,
		struct dlock_error *err);

/*
 * Keeps lease id alive once. *ttl_s is what etcd says is left: 0 when the
 * lease is gone.
 */
int etcd_keepalive(struct session *s, int64_t lease, int64_t deadline,
		   int cancel_fd, int64_t *ttl_s, struct dlock_error *err);

int etcd_status(struct session *s, const char *name,
		struct dlock_status **out, struct dlock_error *err);
int etcd_list(struct session *s, const char *glob,
	      struct dlock_status ***out, size_t *count,
	      struct dlock_error *err);
int etcd_renew_owner(struct session *s, const char *name, const char *owner,
		     int64_t ttl_ms, struct dlock_error *err);
int etcd_release_owner(struct session *s, const char *name,
		       const char *owner, struct dlock_error *err);
int etcd_force_release(struct session *s, const char *name,
		       struct dlock_status **evicted, struct dlock_error *err);
int etcd_doctor(const struct dlock_config *cfg, size_t index,
		struct dlock_doctor_report *report, struct dlock_error *err);

#endif
