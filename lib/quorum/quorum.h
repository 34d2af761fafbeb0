/* SPDX-License-Identifier: MIT */
/*
 * Quorum mode (Redlock): N independent Redis masters, each a one-server
 * Redis session of its own, asked in parallel from one poll(2) loop. A
 * lock is ours when a majority (N/2+1) took it within the lease's
 * validity; what the nodes keep is the single-server key schema and
 * scripts of lib/redis/, plus fence_raise.lua for the fencing write-back.
 */
#ifndef DLOCK_QUORUM_H
#define DLOCK_QUORUM_H

#include "redis/redis.h"
#include "redis/scripts.h"

/* A majority of two tolerates no failure at all. */
#define QUORUM_MIN_NODES 3
#define QUORUM_MAX_NODES 15

/* One node: its settings (one URL), its session, the request in flight. */
struct qnode {
	struct dlock_config cfg;	/* the quorum's, with only our URL */
	struct session *rs;		/* a lib/redis session */
	const char *display;
	/* The request of the current fanout(): */
	bool active;
	bool eval;			/* resent as EVAL after NOSCRIPT */
	const struct script_call *sc;	/* or a plain command: */
	int argc;
	const char *argv[4];
	const char *what;		/* for messages: "take the lock" */
	struct conn *c;
	redisReply *reply;		/* the answer, when rc == 0 */
	int rc;
	struct dlock_error err;
};

/*
 * The quorum's session. The backend seam hands it around as a struct
 * session, which is lib/redis's type; quorum.c converts at its edge.
 */
struct quorum {
	const struct dlock_config *cfg;
	size_t n, majority;
	struct qnode *nodes;
	bool reached;			/* a majority answered once */
};

/*
 * A lock's part here. The seam holds it as a struct backend_lock, which
 * is lib/redis's type; qlock_of() converts.
 */
struct quorum_lock {
	struct redis_keys keys;
	int64_t backoff_ms;		/* the next randomised look-again */
	struct holder_meta meta;	/* to take a node again that lost it */
	/*
	 * The local end of the lease as taken or last renewed here: until
	 * then a majority has it ours, whatever a node says at release (a
	 * request that a frozen node ran late can leave a stale key).
	 */
	int64_t valid_until;
	bool grab_next;		/* a split: the next try ignores the queue */
};

/* A busy or split lock is looked at again after a randomised back-off. */
#define BACKOFF_FIRST_MS 20
#define BACKOFF_MAX_MS 500

/*
 * The seam passes a struct session, which is lib/redis's type; this
 * backend's sessions are struct quorum, made and read only in lib/quorum/.
 */
static inline struct quorum *quorum_of(struct session *s)
{
	return (struct quorum *)(void *)s;
}

static inline struct quorum_lock *qlock_of(const struct dlock_lock *lock)
{
	return (struct quorum_lock *)(void *)lock->impl;
}

/* The longest a node may take to answer any request but a BLPOP. */
#define NODE_MS_MOST 1000

/*
 * How long one node may take to answer, for a lease of ttl_ms: a tenth
 * of it, from 50 ms to NODE_MS_MOST or --connect-timeout.
 */
int64_t quorum_node_ms(const struct quorum *q, int64_t ttl_ms);

/* Clears every node's request; then set active, sc or argv, and what. */
void fanout_reset(struct quorum *q);

/* Marks every node active for the request sc (or argv) named what. */
void fanout_ask_all(struct quorum *q, const struct script_call *sc,
		    int argc, const char **argv, const char *what);

/*
 * Sends every active node's request at once and collects the replies
 * until deadline (one poll loop, no thread per node). Each node ends with
 * rc 0 and its reply (never an error reply: those become rc), or rc and
 * err. Returns the number of nodes that answered, or DLOCK_ECANCELED when
 * cancel_fd (if >= 0) became readable.
 */
int fanout(struct quorum *q, int64_t deadline, int cancel_fd);

/* How fanout_ex() goes about it. */
struct fanout_opts {
	int64_t connect_by;	/* a node not connected yet gets till then */
	int cancel_fd;		/* -1: none */
	size_t enough;		/* stop once this many answered */
	const struct wait_hooks *hooks;	/* ticks while it waits; or NULL */
};

/* fanout() with a say in connecting, ticking and stopping early. */
int fanout_ex(struct quorum *q, int64_t deadline,
	      const struct fanout_opts *o);

/* Frees the replies of the last fanout(). */
void fanout_clear(struct quorum *q);

/*
 * A DLOCK_ECONN message for a request that fewer than a majority
 * answered: "no majority ... (what): node: why; node: why".
 */
int fanout_no_majority(const struct quorum *q, const char *what,
		       struct dlock_error *err);

/* lib/quorum/lock.c: the lock operations of the seam. */
int quorum_try_acquire(struct session *s, struct dlock_lock *lock,
		       const struct holder_meta *meta, bool join,
		       bool want_place, struct try_result *res,
		       struct dlock_error *err);
int quorum_renew(struct session *s, struct dlock_lock *lock,
		 int64_t deadline, int cancel_fd, enum renew_result *res,
		 struct dlock_error *err);
int quorum_release(struct session *s, struct dlock_lock *lock,
		   bool *was_ours, struct dlock_error *err);

/* lib/quorum/inspect.c: status, list and the by-owner calls, merged. */
int quorum_status(struct session *s, const char *name,
		  struct dlock_status **out, struct dlock_error *err);
int quorum_list(struct session *s, const char *glob,
		struct dlock_status ***out, size_t *count,
		struct dlock_error *err);
int quorum_renew_owner(struct session *s, const char *name,
		       const char *owner, int64_t ttl_ms,
		       struct dlock_error *err);
int quorum_release_owner(struct session *s, const char *name,
			 const char *owner, struct dlock_error *err);
int quorum_force_release(struct session *s, const char *name,
			 struct dlock_status **evicted,
			 struct dlock_error *err);

/* lib/quorum/doctor.c: a node's checks, and those against the others. */
int quorum_doctor(const struct dlock_config *cfg, size_t index,
		  struct dlock_doctor_report *report, struct dlock_error *err);

#endif
