/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "cmd.h"

const char doctor_help[] =
	"Usage: dlock doctor [OPTIONS]\n"
	"\n"
	"Check that the Redis server is fit to hold dlock's locks: connection\n"
	"and authentication, latency (the median of 5 PINGs), server version\n"
	"and mode, replication role, persistence, maxmemory-policy, cluster\n"
	"mode, and whether the user may run dlock's scripts on the key prefix,\n"
	"tried on a probe lock named dlock-doctor-<random hex> whose keys are\n"
	"deleted afterwards. With several --url, each server is checked.\n"
	"\n"
	"One line per check: 'ok'; 'note' (could not be told, for example when\n"
	"the ACL user may not run INFO or CONFIG GET; not a problem); 'warn' (a\n"
	"problem, with what to do); 'fail' (dlock cannot work there).\n"
	"\n"
	"Options:\n"
	"  -h, --help                show this help\n"
	"\n"
	GLOBAL_HELP
	"\n"
	"Exit status: 0 no problems; 1 a warning or a failed check; 64 usage;\n"
	"69 server unreachable; 77 authentication refused; 78 configuration\n"
	"error. With several servers, the first of 78, 77, 69 and 1 that\n"
	"applies to any of them.\n";

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

static int parse_args(int argc, char **argv, struct dlock_config *cfg)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int opt, status = 0;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:h", options, NULL)) != -1) {
		if (global_option(cfg, opt, optarg, &status)) {
			if (status)
				return status;
			continue;
		}
		if (opt == 'h') {
			print_help(doctor_help);
			return -1;
		}
		return bad_option(argv, opt);
	}
	if (optind < argc)
		return usage_error("doctor takes no arguments, but got '%s'",
				   argv[optind]);
	return 0;
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

int cmd_doctor(int argc, char **argv, struct dlock_config *cfg)
{
	int status = parse_args(argc, argv, cfg);
	size_t n;

	if (status)
		return status < 0 ? 0 : status;
	status = resolve_config(cfg);
	if (status)
		return status;
	n = dlock_config_url_count(cfg);
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
