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

void conn_close(struct conn *c);

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
int conn_fd(const struct conn *c);
short conn_events(const struct conn *c);
int conn_advance(struct conn *c, redisReply **reply,
		 struct dlock_error *err);
void conn_abandon(struct conn *c);

#endif
