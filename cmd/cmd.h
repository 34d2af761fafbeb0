/* SPDX-License-Identifier: MIT */
/* What the command files share: exit statuses, messages, global options. */
#ifndef DLOCK_CMD_H
#define DLOCK_CMD_H

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>

#include "dlock.h"

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
	OPT_TLS_CA,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_TLS_SERVER_NAME,
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
	OPT_OWNER,
	OPT_FORCE,
	OPT_JSON,
};

/* The options every command takes, to splice into its own table. */
#define GLOBAL_LONG_OPTIONS \
	{ "url", required_argument, NULL, OPT_URL }, \
	{ "prefix", required_argument, NULL, OPT_PREFIX }, \
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT }, \
	{ "user", required_argument, NULL, OPT_USER }, \
	{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE }, \
	{ "config", required_argument, NULL, OPT_CONFIG }, \
	{ "tls-ca", required_argument, NULL, OPT_TLS_CA }, \
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT }, \
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY }, \
	{ "tls-server-name", required_argument, NULL, OPT_TLS_SERVER_NAME }

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
	"      --config F            read settings from F\n" \
	"      --tls-ca F            CA bundle to verify a rediss:// server\n" \
	"                            (default: the system's)\n" \
	"      --tls-cert F          client certificate for rediss://\n" \
	"      --tls-key F           key of the client certificate\n" \
	"      --tls-server-name S   name to verify and send (SNI) instead of\n" \
	"                            the URL's host\n"

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

/*
 * Resolves settings (printing their warnings) and makes a client on them.
 * Returns 0, or an exit status after printing why not.
 */
int open_client(struct dlock_config *cfg, struct dlock **d);

/* Prints text to stdout and returns 0; main() checks that it got out. */
int print_help(const char *text);

/* Prints who --force evicted, to stdout and syslog. */
void report_eviction(const struct dlock_status *evicted);

/* Prints a lock's status as text, or as one JSON object. */
void print_status(const struct dlock_status *st, bool json);

/* Prints the one-line summary of a lock that dlock list shows. */
void print_list_line(const struct dlock_status *st);

/* The options of dlock run and dlock acquire. */
struct run_opts {
	bool acquire_only;	/* dlock acquire: take the lock, print the owner */
	bool run_only_given;	/* an option that only dlock run takes */
	const char *name;
	char **argv;		/* the command */
	char *shell_argv[4];	/* for -c */
	int64_t ttl_ms;
	int64_t wait_ms;
	int64_t kill_after_ms;
	int64_t max_hold_ms;
	int64_t lock_delay_ms;
	int on_lost_signal;
	int conflict_status;
	int lost_status;
	bool quiet;
	bool verbose;
	bool no_fifo;
	int mode;		/* DLOCK_EXCLUSIVE, DLOCK_SHARED, DLOCK_LIMIT */
	long limit;
	bool exclusive_given;
};

/*
 * Parses the options and operands of dlock run (or, with o->acquire_only,
 * of dlock acquire). Returns 0, -1 after printing --help, or an exit
 * status after printing a usage error.
 */
int parse_run_options(int argc, char **argv, struct dlock_config *cfg,
		      struct run_opts *o);

/*
 * Takes the lock as o says, then runs the command under it; with
 * o->acquire_only, prints the owner token and leaves the lock held.
 * Returns the exit status.
 */
int take_and_run(struct run_opts *o, struct dlock_config *cfg);

int cmd_run(int argc, char **argv, struct dlock_config *cfg);
int cmd_doctor(int argc, char **argv, struct dlock_config *cfg);
int cmd_acquire(int argc, char **argv, struct dlock_config *cfg);
int cmd_renew(int argc, char **argv, struct dlock_config *cfg);
int cmd_release(int argc, char **argv, struct dlock_config *cfg);
int cmd_status(int argc, char **argv, struct dlock_config *cfg);
int cmd_list(int argc, char **argv, struct dlock_config *cfg);

extern const char run_help[];
extern const char doctor_help[];
extern const char acquire_help[];
extern const char renew_help[];
extern const char release_help[];
extern const char status_help[];
extern const char list_help[];

#endif
