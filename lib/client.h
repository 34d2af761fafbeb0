/* SPDX-License-Identifier: MIT */
/* The client handle, shared by the files that talk through it. */
#ifndef DLOCK_CLIENT_H
#define DLOCK_CLIENT_H

#include "redis/conn.h"
#include "redis/scripts.h"

struct dlock {
	const struct dlock_config *cfg;
	struct conn *conn;
	bool ever_connected;
	int cancel_fd;
	/* Redis before 6.0 takes whole seconds only as BLPOP's time-out. */
	bool whole_second_timeouts;
	dlock_log_fn *log;
	void *log_arg;
	dlock_progress_fn *progress;
	void *progress_arg;
};

/* Closes the client's connection; the next call opens a new one. */
void drop_conn(struct dlock *d);

/*
 * Runs a script on the client's connection, connecting first if needed,
 * with the connect timeout as the deadline.
 */
int call_script(struct dlock *d, struct script *s, int nkeys,
		const char **keys, int nargs, const char **args,
		redisReply **reply, struct dlock_error *err);

/* Reports a reply of the wrong shape and drops the connection. */
int bad_reply(struct dlock *d, const char *what, struct dlock_error *err);

#endif
