/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

const char list_help[] =
	"Usage: dlock list [OPTIONS] [GLOB]\n"
	"\n"
	"List every held lock under the key prefix whose name matches GLOB\n"
	"(* ? [...], default all), one line each, sorted by name: name, kind,\n"
	"holder (host:pid, or the number of holders), held for, lease left,\n"
	"waiters. Uses SCAN, never KEYS.\n"
	"\n"
	"Options:\n"
	"      --json                a JSON array of the objects of 'dlock\n"
	"                            status --json'\n"
	"  -h, --help                show this help\n"
	"\n"
	GLOBAL_HELP
	"\n"
	"Exit status: 0 (also when nothing is held); 64 usage; 69 server\n"
	"unreachable; 77 authentication; 78 config.\n";

int cmd_list(int argc, char **argv, struct dlock_config *cfg)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct dlock_status **all = NULL;
	struct dlock_error err;
	const char *glob = NULL;
	struct dlock *d;
	size_t n = 0;
	bool json = false;
	int opt, status = 0, rc;

	opterr = 0;
	optind = 0;	/* 0 resets getopt, and lets options follow NAME */
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (global_option(cfg, opt, optarg, &status)) {
			if (status)
				return status;
			continue;
		}
		switch (opt) {
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			return print_help(list_help);
		default:
			return bad_option(argv, opt);
		}
	}
	if (optind < argc)
		glob = argv[optind++];
	if (optind < argc)
		return usage_error("list takes at most one pattern");
	if (glob && dlock_check_glob(glob, &err))
		return usage_error("%s", err.msg);
	status = open_client(cfg, &d);
	if (status)
		return status;
	rc = dlock_list(d, glob, &all, &n, &err);
	if (rc) {
		errorf("%s", err.msg);
		status = exit_status(rc);
	} else if (json) {
		putchar('[');
		for (size_t i = 0; i < n; i++) {
			if (i)
				putchar(',');
			print_status(all[i], true);
		}
		puts("]");
	} else {
		if (n)
			printf("%-24s %-9s %-28s %-8s %-8s %s\n", "NAME",
			       "MODE", "HOLDER", "HELD", "LEFT", "WAITERS");
		for (size_t i = 0; i < n; i++)
			print_list_line(all[i]);
	}
	for (size_t i = 0; i < n; i++)
		dlock_status_free(all[i]);
	free(all);
	dlock_free(d);
	return status;
}
