/* SPDX-License-Identifier: MIT */
/* What the command files share: exit statuses, messages, global options. */
#ifndef DLOCK_CMD_H
#define DLOCK_CMD_H

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>

#include "../lib/dlock.h"

/* Exit statuses (sysexits.h numbers, as DESIGN.md section 2 lists). */
enum {
	EXIT_CONFLICT = 1,
	EXIT_USAGE = 64,
	EXIT_UNAVAILABLE = 69,
	EXIT_INTERNAL = 70,
	EXIT_WRITE = 74,
	EXIT_LOST = 75,
	EXIT_AUTH = 77,
	EXIT_CONFIG = 78,
	EXIT_CANNOT_EXEC = 126,
	EXIT_NOT_FOUND = 127,
};

/* Long-only options, numbered past every short option. */
enum {
	OPT_URL = CHAR_MAX + 1,
	OPT_PREFIX,
	OPT_CONNECT_TIMEOUT,
	OPT_USER,
	OPT_PASSWORD_FILE,
	OPT_CONFIG,
	OPT_TTL,
	OPT_VERBOSE,
	OPT_ON_LOST,
	OPT_KILL_AFTER,
	OPT_LOST_EXIT_CODE,
	OPT_MAX_HOLD,
	OPT_LOCK_DELAY,
	OPT_FIFO,
	OPT_NO_FIFO,
	OPT_LIMIT,
};

/* The options every command takes, to splice into its own table. */
#define GLOBAL_LONG_OPTIONS \
	{ "url", required_argument, NULL, OPT_URL }, \
	{ "prefix", required_argument, NULL, OPT_PREFIX }, \
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT }, \
	{ "user", required_argument, NULL, OPT_USER }, \
	{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE }, \
	{ "config", required_argument, NULL, OPT_CONFIG }

#define GLOBAL_HELP \
	"Connection options (before or after the command name):\n" \
	"      --url URL             Redis server; default redis://127.0.0.1:6379\n" \
	"                            (redis://[user[:pass]@]host[:port][/db] or\n" \
	"                            unix:///path/to.sock[?db=N])\n" \
	"      --prefix P            key namespace (default \"dlock:\")\n" \
	"      --connect-timeout D   deadline to connect and for each request\n" \
	"                            (default 3s)\n" \
	"      --user U              Redis ACL user name\n" \
	"      --password-file F     read the password from the first line of F\n" \
	"      --config F            read settings from F\n"

/*
 * Handles a global option met by any command's getopt loop.
 * Returns true when opt was one; on a bad value prints and sets *status.
 */
bool global_option(struct dlock_config *cfg, int opt, const char *arg,
		   int *status);

/* Prints "dlock: " and the message to stderr. */
void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a one-line usage error and the hint; returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reports getopt's complaint about argv[optind - 1]; returns EXIT_USAGE. */
int bad_option(char **argv, int opt);

/* The exit status for a DLOCK_E* code (conflicts excepted). */
int exit_status(int code);

/* Resolves settings and prints their warnings. Returns 0 or a status. */
int resolve_config(struct dlock_config *cfg);

/* Prints text to stdout and returns 0; main() checks that it got out. */
int print_help(const char *text);

int cmd_run(int argc, char **argv, struct dlock_config *cfg);

extern const char run_help[];

#endif
