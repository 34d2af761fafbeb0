/* SPDX-License-Identifier: MIT */
/*
 * One authenticated connection speaking RESP, every call bounded by a
 * deadline. hiredis does the formatting and parsing; transport.h moves the
 * bytes.
 */
#ifndef DLOCK_CONN_H
#define DLOCK_CONN_H

#include <hiredis/hiredis.h>

#include "internal.h"

struct conn;

/*
 * Connects to the server at cfg's URL number index, authenticates and
 * selects the database, all before deadline.
 */
int conn_open(const struct dlock_config *cfg, size_t index, int64_t deadline,
	      struct conn **out, struct dlock_error *err);

/* The same for a server the caller names: url must outlive the connection. */
int conn_open_url(const struct dlock_config *cfg, const struct url *url,
		  int64_t deadline, struct conn **out,
		  struct dlock_error *err);
/*
 * The same on the server at url (which must outlive the connection), with
 * these credentials (NULL: none) and cfg's TLS settings: a master or a
 * sentinel that the settings do not name themselves.
 */
int conn_open_at(const struct dlock_config *cfg, const struct url *url,
		 const char *user, const char *password, int64_t deadline,
		 struct conn **out, struct dlock_error *err);

void conn_close(struct conn *c);

/* Whether a failed request left c unusable. */
bool conn_broken(const struct conn *c);

/*
 * Called by conn_call() with an error reply that may name another server
 * (a cluster's MOVED or ASK) or ask to try again later (TRYAGAIN). Sets
 * *next to the connection to send the same command to, with *asking when
 * ASKING must go first (*asking comes in as it was for this try, and a
 * retry on the same node, TRYAGAIN during a migration, keeps it), or
 * leaves *next NULL to return the reply as it is.
 * Connections that *next points to stay the hook's. Returns 0, or a code
 * (with err set) when the server it names cannot be reached.
 */
typedef int conn_redirect_fn(void *arg, struct conn *from,
			     const redisReply *r, int64_t deadline,
			     struct conn **next, bool *asking,
			     struct dlock_error *err);

void conn_set_redirect(struct conn *c, conn_redirect_fn *fn, void *arg);

/* The server's URL with the password masked. */
const char *conn_display(const struct conn *c);

/*
 * Sends a command and reads its reply before deadline. With cancel_fd >= 0,
 * the wait for the reply ends with DLOCK_ECANCELED when cancel_fd becomes
 * readable. An error reply is returned as a reply, not as a failure; see
 * reply_error(). After any failure the connection is unusable: close it.
 */
int conn_call(struct conn *c, int64_t deadline, int cancel_fd, int argc,
	      const char **argv, const size_t *lens, redisReply **reply,
	      struct dlock_error *err);

/*
 * Sends n commands at once and reads their n replies before deadline:
 * one round trip. argcs[i] and argvs[i] are as for conn_call(). On
 * failure no reply is returned and the connection is unusable.
 */
int conn_pipeline(struct conn *c, int64_t deadline, size_t n,
		  const int *argcs, const char ***argvs,
		  redisReply **replies, struct dlock_error *err);

/* The same, ending with DLOCK_ECANCELED when cancel_fd becomes readable. */
int conn_pipeline_cancel(struct conn *c, int64_t deadline, int cancel_fd,
			 size_t n, const int *argcs, const char ***argvs,
			 redisReply **replies, struct dlock_error *err);

/* The descriptor to poll(2) for the server's end of the connection. */
int conn_fd(const struct conn *c);

/*
 * Whether an idle connection is of no more use: the server closed it, or
 * sent what nobody asked for (a request would read it as its answer).
 * No blocking I/O.
 */
bool conn_stale(const struct conn *c);

/*
 * Whether the server on c has been asked who it is (its run_id); a new
 * connection has not.
 */
bool conn_identified(const struct conn *c);
void conn_set_identified(struct conn *c);

/*
 * While conn_call() waits for a reply with a cancel descriptor (a blocking
 * command), calls fn every every_ms. fn NULL turns it off.
 */
void conn_set_tick(struct conn *c, void (*fn)(void *arg), void *arg,
		   int every_ms);

/*
 * Turns an error reply into a DLOCK_E* code and a message that says what
 * to do; what names the request. Returns 0 for any other reply.
 */
int reply_error(const struct conn *c, const redisReply *r, const char *what,
		struct dlock_error *err);

/*
 * A request that does not block, for talking to several servers at once
 * from one poll(2) loop. conn_start() formats a command and queues it (it
 * sends nothing yet); poll conn_fd() for conn_events(), then call
 * conn_advance(), which moves the bytes that can move now and returns 0
 * with *reply once the whole reply is in, 0 with *reply NULL while more is
 * to come, or a code after which the connection is unusable. The caller
 * keeps the deadline: a request given up on leaves the connection out of
 * step, so conn_abandon() it and close it. One request at a time.
 */
int conn_start(struct conn *c, int argc, const char **argv,
	       const size_t *lens, struct dlock_error *err);
short conn_events(const struct conn *c);
int conn_advance(struct conn *c, redisReply **reply,
		 struct dlock_error *err);
void conn_abandon(struct conn *c);

#endif
