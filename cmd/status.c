/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "cmd.h"

const char status_help[] =
	"Usage: dlock status [OPTIONS] NAME\n"
	"\n"
	"Show lock NAME: free or held; its kind (exclusive, shared, or a\n"
	"semaphore with its limit); for each holder its host, pid, user,\n"
	"command, since when, when its lease expires, its fencing token and\n"
	"owner; the waiters and the first of them; a lock-delay in force.\n"
	"\n"
	"Options:\n"
	"      --json                one JSON object (see dlock(1), JSON)\n"
	"  -q, --quiet               print nothing: only the exit status\n"
	"  -h, --help                show this help\n"
	"\n"
	GLOBAL_HELP
	"\n"
	"Exit status: 0 held; 1 free; 64 usage; 69 server unreachable; 77\n"
	"authentication; 78 config. So 'if dlock status -q NAME' asks \"held?\"\n";

int cmd_status(int argc, char **argv, struct dlock_config *cfg)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct dlock_status *st = NULL;
	struct dlock_error err;
	struct dlock *d;
	bool json = false, quiet = false;
	int opt, status = 0, rc;

	opterr = 0;
	optind = 0;	/* 0 resets getopt, and lets options follow NAME */
	while ((opt = getopt_long(argc, argv, ":qh", options, NULL)) != -1) {
		if (global_option(cfg, opt, optarg, &status)) {
			if (status)
				return status;
			continue;
		}
		switch (opt) {
		case OPT_JSON:
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			return print_help(status_help);
		default:
			return bad_option(argv, opt);
		}
	}
	if (optind != argc - 1)
		return usage_error(optind >= argc ? "status: no lock name "
				   "given" : "status takes one lock name");
	if (dlock_check_name(argv[optind], &err))
		return usage_error("%s", err.msg);
	status = open_client(cfg, &d);
	if (status)
		return status;
	rc = dlock_status_get(d, argv[optind], &st, &err);
	if (rc) {
		errorf("%s", err.msg);
		status = exit_status(rc);
	} else {
		if (!quiet)
			print_status(st, json);
		status = st->held ? 0 : 1;
	}
	dlock_status_free(st);
	dlock_free(d);
	return status;
}
