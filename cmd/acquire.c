/* SPDX-License-Identifier: MIT */
#include "cmd.h"

const char acquire_help[] =
	"Usage: dlock acquire [OPTIONS] NAME\n"
	"\n"
	"Take lock NAME for a script that locks across several steps, print\n"
	"its owner token, and leave it held for --ttl. Nothing renews it: the\n"
	"script renews it with 'dlock renew NAME --owner TOKEN' and gives it\n"
	"back with 'dlock release NAME --owner TOKEN'. When one command fits,\n"
	"'dlock run' is safer: it renews, and stops the command on a loss.\n"
	"\n"
	"Options:\n"
	"  -n, --nonblock, --nb      fail at once if the lock is held (exit 1)\n"
	"  -w, --timeout D           wait at most D for the lock (exit 1 after)\n"
	"                            (also --wait); 0 is the same as -n\n"
	"  -E, --conflict-exit-code N  exit status for -n and -w (default 1)\n"
	"  -x, --exclusive           exclusive lock (the default)\n"
	"  -s, --shared              shared lock\n"
	"      --limit N             counting semaphore of N holders\n"
	"      --fifo                take turns in order of arrival (default)\n"
	"      --no-fifo             take the lock whenever it is free\n"
	"      --ttl D               lease (default 30s)\n"
	"      --lock-delay D        keep an abandoned lock blocked D longer\n"
	"  -q, --quiet               no message when the lock is busy\n"
	"      --verbose             say who holds the lock, and when it is taken\n"
	"  -h, --help                show this help\n"
	"\n"
	GLOBAL_HELP
	"\n"
	"Prints the owner token (32 hex digits) on stdout and nothing else.\n"
	"Exit status: 0 taken; 1 (or -E) busy or -w ran out; 64 usage; 69\n"
	"server unreachable; 77 authentication; 78 config; 128+N signal N while\n"
	"waiting.\n";

int cmd_acquire(int argc, char **argv, struct dlock_config *cfg)
{
	struct run_opts o = { .acquire_only = true };
	int status = parse_run_options(argc, argv, cfg, &o);

	if (status)
		return status < 0 ? 0 : status;
	return take_and_run(&o, cfg);
}
