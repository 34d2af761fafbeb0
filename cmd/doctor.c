/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "cmd.h"

static const char doctor_usage[] =
	"Usage: dlock doctor [OPTIONS]\n"
	"\n"
	"Check that the Redis server is fit to hold dlock's locks: connection\n"
	"and authentication, latency (the median of 5 PINGs), server version\n"
	"and mode, replication role, persistence, maxmemory-policy, cluster\n"
	"mode, and whether the user may run dlock's scripts on the key prefix,\n"
	"tried on a probe lock named dlock-doctor-<random hex> whose keys are\n"
	"deleted afterwards. With several --url, each server is checked. On\n"
	"etcd: each endpoint's version and raft state, the members and their\n"
	"leader, authentication, and the same probe lock (dlock-etcd(7)).\n"
	"\n"
	"One line per check: 'ok'; 'note' (could not be told, for example when\n"
	"the ACL user may not run INFO or CONFIG GET; not a problem); 'warn' (a\n"
	"problem, with what to do); 'fail' (dlock cannot work there).\n";

static const struct cmd_option doctor_options[] = {
	OPTION_HELP,
	OPTIONS_END,
};

static const char doctor_notes[] =
	"Exit status: 0 no problems; 1 a warning or a failed check; 64 usage;\n"
	"69 server unreachable; 77 authentication refused; 78 configuration\n"
	"error. With several servers, the first of 78, 77, 69 and 1 that\n"
	"applies to any of them.\n";

static int operands(struct cmd_opts *o, int argc, char **argv)
{
	(void)o;
	if (argc > 0)
		return usage_error("doctor takes no arguments, but got '%s'",
				   argv[0]);
	return 0;
}

const struct cmd_syntax doctor_syntax = {
	.usage = doctor_usage,
	.options = doctor_options,
	.notes = doctor_notes,
	.operands = operands,
};

/* Which of two exit statuses wins when several servers are checked. */
static int rank(int status)
{
	switch (status) {
	case 0:
		return 0;
	case EXIT_CONFLICT:
		return 1;
	case EXIT_UNAVAILABLE:
		return 2;
	case EXIT_AUTH:
		return 3;
	case EXIT_CONFIG:
		return 4;
	}
	return 5;
}

/* Checks one server and prints its report. Returns the exit status. */
static int doctor_one(const struct dlock_config *cfg, size_t index)
{
	struct dlock_doctor_report report;
	struct dlock_error err;
	size_t problems;
	int rc;

	printf("dlock doctor: %s\n", dlock_config_url_display(cfg, index));
	rc = dlock_doctor_run(cfg, index, &report, &err);
	for (size_t i = 0; i < report.count; i++) {
		const struct dlock_doctor_check *c = &report.checks[i];

		printf("%-5s %s: %s\n", dlock_doctor_level_name(c->level),
		       c->what, c->text);
	}
	problems = dlock_doctor_problems(&report);
	if (rc) {
		printf("dlock doctor: %s; nothing more was checked\n",
		       rc == DLOCK_EAUTH ? "authentication refused" :
		       rc == DLOCK_ECONFIG ? "configuration error" :
		       rc == DLOCK_ECONN || rc == DLOCK_ESERVER ?
		       "the server cannot be reached or spoken to" :
		       dlock_strerror(rc));
		return exit_status(rc);
	}
	if (!problems)
		printf("dlock doctor: no problems\n");
	else
		printf("dlock doctor: %zu problem%s\n", problems,
		       problems == 1 ? "" : "s");
	return problems ? EXIT_CONFLICT : 0;
}

int cmd_doctor(const struct cmd_opts *o, struct dlock_config *cfg,
	       struct dlock *d)
{
	size_t n = dlock_config_url_count(cfg);
	int status = 0;

	(void)o;
	(void)d;
	for (size_t i = 0; i < n; i++) {
		int one;

		if (i)
			putchar('\n');
		one = doctor_one(cfg, i);
		if (rank(one) > rank(status))
			status = one;
		/* Let a report out before a slow server holds up the next. */
		fflush(stdout);
	}
	return status;
}
