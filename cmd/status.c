/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "cmd.h"

static const char status_usage[] =
	"Usage: dlock status [OPTIONS] NAME\n"
	"\n"
	"Show lock NAME: free or held; its kind (exclusive, shared, or a\n"
	"semaphore with its limit); for each holder its host, pid, user,\n"
	"command, since when, when its lease expires, its fencing token and\n"
	"owner; the waiters and the first of them; a lock-delay in force.\n";

static const struct cmd_option status_options[] = {
	{ OPT_JSON, "json", NULL, "one JSON object (see dlock(1), JSON)", 0 },
	{ 'q', "quiet", NULL, "print nothing: only the exit status", 0 },
	OPTION_HELP,
	OPTIONS_END,
};

static const char status_notes[] =
	"Exit status: 0 held; 1 free; 64 usage; 69 server unreachable; 77\n"
	"authentication; 78 config. So 'if dlock status -q NAME' asks \"held?\"\n";

static int operands(struct cmd_opts *o, int argc, char **argv)
{
	struct dlock_error err;

	if (argc != 1)
		return usage_error(argc < 1 ? "status: no lock name given" :
				   "status takes one lock name");
	o->name = argv[0];
	if (dlock_check_name(o->name, &err))
		return usage_error("%s", err.msg);
	return 0;
}

const struct cmd_syntax status_syntax = {
	.usage = status_usage,
	.options = status_options,
	.notes = status_notes,
	.operands = operands,
};

int cmd_status(const struct cmd_opts *o, struct dlock_config *cfg,
	       struct dlock *d)
{
	struct dlock_status *st = NULL;
	struct dlock_error err;
	int status, rc;

	(void)cfg;
	rc = dlock_status_get(d, o->name, &st, &err);
	if (rc) {
		errorf("%s", err.msg);
		status = exit_status(rc);
	} else {
		if (!o->quiet)
			print_status(st, o->json);
		status = st->held ? 0 : 1;
	}
	dlock_status_free(st);
	return status;
}
