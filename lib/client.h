/* SPDX-License-Identifier: MIT */
/* The client handle, above the backend seam. */
#ifndef DLOCK_CLIENT_H
#define DLOCK_CLIENT_H

#include "backend.h"

struct dlock {
	const struct dlock_config *cfg;
	const struct backend_ops *ops;
	/* NULL while a lease thread has it (dlock_lease_start()). */
	struct session *session;
	int cancel_fd;
	dlock_log_fn *log;
	void *log_arg;
	dlock_progress_fn *progress;
	void *progress_arg;
};

/*
 * A client on the given backend rather than the one the settings name:
 * for tests that bring a backend of their own. Returns 0 or a code.
 */
int client_new_on(const struct backend_ops *ops,
		  const struct dlock_config *cfg, struct dlock **out,
		  struct dlock_error *err);

/*
 * The client's session for a call, or NULL with DLOCK_EUSAGE in err while
 * a lease thread has it.
 */
struct session *client_session(struct dlock *d, struct dlock_error *err);

#endif
