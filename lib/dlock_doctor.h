/* SPDX-License-Identifier: MIT */
/*
 * dlock doctor: checks that a server is fit to hold dlock's locks, and that
 * the configured user may run dlock's scripts on the key prefix.
 *
 * The report is a plain struct of text, with no hiredis type in it, so
 * that "dlock doctor" (or anything else) can print it as it likes.
 */
#ifndef DLOCK_DOCTOR_H
#define DLOCK_DOCTOR_H

#include "dlock.h"

enum dlock_doctor_level {
	DLOCK_DOCTOR_OK,	/* as dlock needs it */
	DLOCK_DOCTOR_NOTE,	/* could not be told, or worth knowing */
	DLOCK_DOCTOR_WARN,	/* a problem; the text says what to do */
	DLOCK_DOCTOR_FAIL,	/* dlock cannot work; the text says why */
};

/* One line of the report. */
struct dlock_doctor_check {
	int level;		/* enum dlock_doctor_level */
	char what[64];		/* what was checked: "latency", "role", ... */
	char text[DLOCK_ERRMSG_MAX];	/* the finding, fit to print */
};

#define DLOCK_DOCTOR_MAX_CHECKS 16

/* The findings about one server, in the order they were made. */
struct dlock_doctor_report {
	size_t count;
	struct dlock_doctor_check checks[DLOCK_DOCTOR_MAX_CHECKS];
};

/*
 * Checks the server at URL number index of cfg (which must be resolved):
 * connection and authentication, latency (the median of 5 PINGs), server
 * version and mode, replication role, persistence, maxmemory-policy,
 * cluster mode, and whether the user may run the acquire, renew, release
 * and leave scripts on a probe lock under the key prefix (whose keys it
 * deletes afterwards). Every finding goes into *report, which is cleared
 * first.
 *
 * Returns 0 when the server was reached and the checks ran, whatever they
 * found (see dlock_doctor_problems()). Returns DLOCK_ECONN when the server
 * could not be reached or stopped answering, DLOCK_EAUTH when it refused
 * the credentials, DLOCK_ECONFIG for a setting it rejects (a database
 * number), DLOCK_EUSAGE when cfg is not resolved or has no URL number
 * index, or DLOCK_ENOMEM/DLOCK_ESYS; the report then ends with a
 * DLOCK_DOCTOR_FAIL check, and err holds the message.
 *
 * Thread-safe: it uses a connection of its own; report and err must not be
 * shared.
 */
int dlock_doctor_run(const struct dlock_config *cfg, size_t index,
		     struct dlock_doctor_report *report,
		     struct dlock_error *err);

/*
 * Returns the number of problems in report: its DLOCK_DOCTOR_WARN and
 * DLOCK_DOCTOR_FAIL checks. Thread-safe.
 */
size_t dlock_doctor_problems(const struct dlock_doctor_report *report);

/*
 * Returns a static, lower-case word for a level ("ok", "note", "warn",
 * "fail"), "?" for an unknown one. Thread-safe.
 */
const char *dlock_doctor_level_name(int level);

#endif
