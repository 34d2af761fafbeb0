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

/*
 * The same on the server at url (which must outlive the connection), with
 * these credentials (NULL: none) and cfg's TLS settings: a master or a
 * sentinel that the settings do not name themselves.
 */
int conn_open_at(const struct dlock_config *cfg, const struct url *url,
		 const char *user, const char *password, int64_t deadline,
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

#endif
