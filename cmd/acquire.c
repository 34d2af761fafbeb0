/* SPDX-License-Identifier: MIT */
/* dlock acquire: dlock run's code, without a command to run. */
#include "cmd.h"

/* Why acquire refuses an option of dlock run about the command. */
#define RUN_ONLY "acquire takes a lock name and the options of 'dlock " \
	"acquire --help' only; to run a command, use 'dlock run'"

static const char acquire_usage[] =
	"Usage: dlock acquire [OPTIONS] NAME\n"
	"\n"
	"Take lock NAME for a script that locks across several steps, print\n"
	"its owner token, and leave it held for --ttl. Nothing renews it: the\n"
	"script renews it with 'dlock renew NAME --owner TOKEN' and gives it\n"
	"back with 'dlock release NAME --owner TOKEN'. When one command fits,\n"
	"'dlock run' is safer: it renews, and stops the command on a loss.\n";

static const struct cmd_option acquire_options[] = {
	WAIT_OPTIONS,
	{ 'x', "exclusive", NULL, "exclusive lock (the default)", 0 },
	{ 's', "shared", NULL, "shared lock", 0 },
	{ OPT_LIMIT, "limit", "N", "counting semaphore of N holders", 0 },
	{ OPT_FIFO, "fifo", NULL,
	  "take turns in order of arrival (default)", 0 },
	{ OPT_NO_FIFO, "no-fifo", NULL,
	  "take the lock whenever it is free", 0 },
	{ OPT_TTL, "ttl", "D", "lease (default 30s)", 0 },
	WAIT_REPLICAS_OPTION,
	{ OPT_LOCK_DELAY, "lock-delay", "D",
	  "keep an abandoned lock blocked D longer", 0 },
	{ 'q', "quiet", NULL, "no message when the lock is busy", 0 },
	{ OPT_VERBOSE, "verbose", NULL,
	  "say who holds the lock, and when it is taken", 0 },
	OPTION_HELP,
	{ 'F', "no-fork", NULL,
	  "-F/--no-fork cannot work with dlock: dlock must stay alive to "
	  "renew the lease while the command runs", OPTION_REFUSED },
	{ 'c', "command", "STRING", RUN_ONLY, OPTION_REFUSED },
	{ OPT_ON_LOST, "on-lost", "SIGNAL", RUN_ONLY, OPTION_REFUSED },
	{ OPT_KILL_AFTER, "kill-after", "D", RUN_ONLY, OPTION_REFUSED },
	{ OPT_LOST_EXIT_CODE, "lost-exit-code", "N", RUN_ONLY,
	  OPTION_REFUSED },
	{ OPT_MAX_HOLD, "max-hold", "D", RUN_ONLY, OPTION_REFUSED },
	OPTIONS_END,
};

static const char acquire_notes[] =
	"Prints the owner token (32 hex digits) on stdout and nothing else.\n"
	"Exit status: 0 taken; 1 (or -E) busy or -w ran out; 64 usage; 69\n"
	"server unreachable; 77 authentication; 78 config; 128+N signal N while\n"
	"waiting.\n";

static int operands(struct cmd_opts *o, int argc, char **argv)
{
	int status;

	o->acquire_only = true;
	status = lock_operands(o, argc, argv);
	if (status)
		return status;
	if (argc > 1)
		return usage_error(RUN_ONLY);
	return 0;
}

const struct cmd_syntax acquire_syntax = {
	.usage = acquire_usage,
	.options = acquire_options,
	.notes = acquire_notes,
	.operands = operands,
};
