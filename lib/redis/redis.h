/* SPDX-License-Identifier: MIT */
/* What the files of the Redis backend share. */
#ifndef DLOCK_REDIS_H
#define DLOCK_REDIS_H

#include "calls.h"
#include "router.h"

/* A server's run_id (INFO server): 40 hex digits, new at each start. */
#define RUN_ID_LEN 40

struct session {
	const struct dlock_config *cfg;
	struct router *router;
	bool reached;		/* a server has answered */
	/* Redis before 6.0 takes whole seconds only as BLPOP's time-out. */
	bool whole_second_timeouts;
	/* For the lease thread (lib/redis/watch.c): */
	bool watching;		/* ask each new connection for the run_id */
	bool no_run_id;		/* the server will not say (ACL, renamed) */
	bool restarted;		/* the run_id changed; not reported yet */
	char run_id[RUN_ID_LEN + 1];	/* the last one seen; "" if none */
	bool sentinel;		/* the master is the one the sentinels name */
};

struct backend_lock {
	struct redis_keys keys;
	/*
	 * When the last heartbeat that the server answered was sent: a
	 * grant lives at least the heartbeat window from then.
	 */
	int64_t beat_sent;
};

/* A request's deadline: the connect timeout from now. */
int64_t session_deadline(const struct session *s);

/* The connection for key, connecting before deadline if need be. */
int session_node(struct session *s, const char *key, int64_t deadline,
		 struct conn **c, struct dlock_error *err);

/*
 * The connection to master number i, for a request that must see them
 * all (a cluster has several); *c NULL past the last.
 */
int session_master(struct session *s, size_t i, int64_t deadline,
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

/* lib/redis/watch.c: what the lease thread watches. */
int redis_lease_watch(struct session *s, struct dlock_lock *lock,
		      int64_t deadline, int cancel_fd, struct lease_watch *w,
		      struct dlock_error *err);

/* Whether a renewal on c should ask the server's run_id as well. */
bool session_wants_run_id(const struct session *s, const struct conn *c);

/*
 * Takes the reply to INFO server on c: notes the run_id and whether it
 * changed. A server that will not say (an error, no run_id) is no error.
 */
void session_learn_run_id(struct session *s, struct conn *c,
			  const redisReply *r);

/*
 * Finds the run_id line in the text of an INFO reply (pure): true with
 * the 40 hex digits and a NUL in out.
 */
bool redis_parse_run_id(const char *text, size_t len,
			char out[RUN_ID_LEN + 1]);

/*
 * Reads the acquire script's reply r into res (and lock->fence when
 * taken). Returns 0, or -1 for a reply of the wrong shape. Quorum mode
 * reads each node's reply with it.
 */
int redis_acquire_reply(const redisReply *r, struct dlock_lock *lock,
			struct try_result *res);

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
/* Adds a line to a doctor's report; a full report drops it. */
void doctor_report_add(struct dlock_doctor_report *r, int level,
		       const char *what, const char *fmt, va_list ap)
	PRINTF_LIKE(4, 0);

/* lib/redis/doctor_sentinel.c: the sentinels, then the master they name. */
int redis_sentinel_doctor(const struct dlock_config *cfg, size_t index,
			  struct dlock_doctor_report *report,
			  struct dlock_error *err);

#endif
