/* SPDX-License-Identifier: MIT */
/* What the files of the Redis backend share. */
#ifndef DLOCK_REDIS_H
#define DLOCK_REDIS_H

#include "calls.h"
#include "router.h"

struct session {
	const struct dlock_config *cfg;
	struct router *router;
	bool reached;		/* a server has answered */
	/* Redis before 6.0 takes whole seconds only as BLPOP's time-out. */
	bool whole_second_timeouts;
	bool sentinel;		/* the master is the one the sentinels name */
};

struct backend_lock {
	struct redis_keys keys;
};

/* A request's deadline: the connect timeout from now. */
int64_t session_deadline(const struct session *s);

/* The connection for key, connecting before deadline if need be. */
int session_node(struct session *s, const char *key, int64_t deadline,
		 struct conn **c, struct dlock_error *err);

/* Forgets c, whose request failed: the next call reconnects. */
void session_drop(struct session *s, struct conn *c);

/*
 * Finishes a request on c that returned rc and reply r: a failed request
 * drops the connection; an error reply becomes a code and a message (what
 * names the request). Returns 0 for any other reply.
 */
int session_done(struct session *s, struct conn *c, int rc,
		 const redisReply *r, const char *what,
		 struct dlock_error *err);

/* Reports a reply of the wrong shape and drops the connection. */
int session_bad_reply(struct session *s, struct conn *c, const char *what,
		      struct dlock_error *err);

/*
 * Runs the renew script on c (from session_node()) and finishes it as
 * session_done() does; a renewal that fewer replicas confirmed than the
 * session asks for is DLOCK_ECONN, a failed renewal worth retrying.
 */
int session_renew(struct session *s, struct conn *c,
		  const struct redis_keys *k, const char *owner,
		  int64_t expiry_ms, char mode, int64_t deadline,
		  int cancel_fd, redisReply **r, struct dlock_error *err);

/* lib/redis/inspect.c: the backend's status, list and by-owner calls. */
int redis_status(struct session *s, const char *name,
		 struct dlock_status **out, struct dlock_error *err);
int redis_list(struct session *s, const char *glob,
	       struct dlock_status ***out, size_t *count,
	       struct dlock_error *err);
int redis_renew_owner(struct session *s, const char *name, const char *owner,
		      int64_t ttl_ms, struct dlock_error *err);
int redis_release_owner(struct session *s, const char *name,
			const char *owner, struct dlock_error *err);
int redis_force_release(struct session *s, const char *name,
			struct dlock_status **evicted,
			struct dlock_error *err);

/* lib/redis/doctor.c; _conn: the checks on an open connection to url. */
int redis_doctor_conn(const struct dlock_config *cfg, const struct url *url,
		      const char *user, struct conn *conn,
		      struct dlock_doctor_report *report,
		      struct dlock_error *err);
int redis_doctor(const struct dlock_config *cfg, size_t index,
		 struct dlock_doctor_report *report, struct dlock_error *err);

/* lib/redis/doctor_sentinel.c: the sentinels, then the master they name. */
int redis_sentinel_doctor(const struct dlock_config *cfg, size_t index,
			  struct dlock_doctor_report *report,
			  struct dlock_error *err);

#endif
