/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cmd.h"

static const char list_usage[] =
	"Usage: dlock list [OPTIONS] [GLOB]\n"
	"\n"
	"List every held lock under the key prefix whose name matches GLOB\n"
	"(* ? [...], default all), one line each, sorted by name: name, kind,\n"
	"holder (host:pid, or the number of holders), held for, lease left,\n"
	"waiters. Uses SCAN, never KEYS.\n";

static const struct cmd_option list_options[] = {
	{ OPT_JSON, "json", NULL,
	  "a JSON array of the objects of 'dlock\n"
	  "status --json'", 0 },
	OPTION_HELP,
	OPTIONS_END,
};

static const char list_notes[] =
	"Exit status: 0 (also when nothing is held); 64 usage; 69 server\n"
	"unreachable; 77 authentication; 78 config.\n";

static int operands(struct cmd_opts *o, int argc, char **argv)
{
	struct dlock_error err;

	if (argc > 1)
		return usage_error("list takes at most one pattern");
	o->glob = argc ? argv[0] : NULL;
	if (o->glob && dlock_check_glob(o->glob, &err))
		return usage_error("%s", err.msg);
	return 0;
}

const struct cmd_syntax list_syntax = {
	.usage = list_usage,
	.options = list_options,
	.notes = list_notes,
	.operands = operands,
};

int cmd_list(const struct cmd_opts *o, struct dlock_config *cfg,
	     struct dlock *d)
{
	struct dlock_status **all = NULL;
	struct dlock_error err;
	size_t n = 0;
	int status = 0, rc;

	(void)cfg;
	rc = dlock_list(d, o->glob, &all, &n, &err);
	if (rc) {
		errorf("%s", err.msg);
		status = exit_status(rc);
	} else if (o->json) {
		putchar('[');
		for (size_t i = 0; i < n; i++) {
			if (i)
				putchar(',');
			print_status(all[i], true);
		}
		puts("]");
	} else {
		/* A person at a terminal sees that nothing matched. */
		print_list(all, n, n || isatty(STDOUT_FILENO));
	}
	for (size_t i = 0; i < n; i++)
		dlock_status_free(all[i]);
	free(all);
	return status;
}
