/* SPDX-License-Identifier: MIT */
/* What the command files share: exit statuses, messages, option tables. */
#ifndef DLOCK_CMD_H
#define DLOCK_CMD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

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
	OPT_DUMP_OPTIONS,
	OPT_WAIT_REPLICAS,
	OPT_SENTINEL_USER,
	OPT_SENTINEL_PASSWORD_FILE,
};

/*
 * One entry of an option table. getopt's short string and long options,
 * the option lists of --help and dlock --dump-options are all made from
 * the tables, so that what a command takes and what it documents cannot
 * drift apart.
 */
struct cmd_option {
	int val;		/* the short letter, or an OPT_* */
	const char *name;	/* the long name; NULL ends a table */
	const char *arg;	/* the value's placeholder; NULL for a flag */
	/*
	 * The text of --help, a '\n' between its lines; for OPTION_REFUSED,
	 * the usage error that says why.
	 */
	const char *help;
	unsigned flags;
};

enum {
	/* Another name of the entry above; --help lists it beside that one. */
	OPTION_ALIAS = 1 << 0,
	/* Another name of the entry above, which that one's help text names. */
	OPTION_ALIAS_IN_TEXT = 1 << 1,
	/*
	 * Taken only to be refused with a message saying why (flock's -F;
	 * a run option given to acquire): a user who types it learns more
	 * than "unknown option". Not in --help, nor in the completions.
	 */
	OPTION_REFUSED = 1 << 2,
	/* Taken, but in neither --help nor --dump-options (for tests). */
	OPTION_HIDDEN = 1 << 3,
	/* flock(1) takes it after NAME too (-c): no hint to move it. */
	OPTION_AFTER_NAME = 1 << 4,
};

/* How long to wait for a lock: the same for dlock run and dlock acquire. */
#define WAIT_OPTIONS \
	{ 'n', "nonblock", NULL, \
	  "fail at once if the lock is held (exit 1)", 0 }, \
	{ 'n', "nb", NULL, NULL, OPTION_ALIAS }, \
	{ 'w', "timeout", "D", \
	  "wait at most D for the lock (exit 1 after)\n" \
	  "(also --wait); 0 is the same as -n", 0 }, \
	{ 'w', "wait", "D", NULL, OPTION_ALIAS_IN_TEXT }, \
	{ 'E', "conflict-exit-code", "N", \
	  "exit status for -n and -w (default 1)", 0 }

/* Replicas that confirm a take or renewal; a setting of the session. */
#define WAIT_REPLICAS_OPTION \
	{ OPT_WAIT_REPLICAS, "wait-replicas", "N", \
	  "replicas that must confirm a take or renewal\n" \
	  "(WAIT; Sentinel default 1 if any, 0: off)", 0 }

#define OPTION_HELP { 'h', "help", NULL, "show this help", 0 }
#define OPTIONS_END { 0, NULL, NULL, NULL, 0 }

/* What the options and operands of a command line say. */
struct cmd_opts {
	/* Options that end the parse; the dispatcher acts on them. */
	bool help;
	bool version;
	bool dump_options;

	const char *name;	/* the lock NAME */
	const char *glob;	/* dlock list's GLOB */
	bool quiet;
	bool json;
	/* 0: the default (run, acquire), or the lease taken with (renew). */
	int64_t ttl_ms;
	const char *owner;
	bool force;

	/* dlock run and dlock acquire */
	bool acquire_only;	/* take the lock, print the owner token */
	char **argv;		/* the command */
	const char *shell_command;	/* -c */
	char *shell_argv[4];
	int64_t wait_ms;
	int64_t kill_after_ms;
	int64_t max_hold_ms;
	int64_t lock_delay_ms;	/* negative: not given */
	int on_lost_signal;
	int conflict_status;
	int lost_status;
	bool verbose;
	bool no_fifo;
	int mode;		/* DLOCK_EXCLUSIVE, DLOCK_SHARED, DLOCK_LIMIT */
	long limit;
	bool exclusive_given;
};

/* Sets the defaults that an option can change. */
void cmd_opts_init(struct cmd_opts *o);

/* parse_options() met an option that ends the parse, such as --help. */
#define PARSE_STOP (-1)

/*
 * Parses the options of argv[1...] that table (or the global options)
 * names: global ones go into cfg, the others into o. With options_first
 * they stop at the first operand; else they may follow operands. Leaves
 * optind at the first operand. Returns 0, PARSE_STOP, or an exit status
 * after printing a usage error.
 */
int parse_options(int argc, char **argv, const struct cmd_option *table,
		  bool options_first, struct dlock_config *cfg,
		  struct cmd_opts *o);

/*
 * How many of the words argv[0...] are options of the table (or global
 * ones) and their values, stopping at "--", at an operand and at an
 * OPTION_AFTER_NAME option. For hints about misplaced options.
 */
int option_words(const struct cmd_option *table, int argc, char **argv);

/* Prints the --help lines of a table's options to stdout. */
void print_options(const struct cmd_option *table);

/* Prints the "Connection options" block of --help to stdout. */
void print_global_options(void);

/*
 * Prints the lines of dlock --dump-options about a command's options:
 * those of its table, then the global ones.
 */
void dump_options(const char *command, const struct cmd_option *table);

/*
 * A command's command line: its options, its operands, and the text of
 * its --help around the option lists.
 */
struct cmd_syntax {
	const char *usage;	/* --help before "Options:" */
	const struct cmd_option *options;
	const char *notes;	/* --help after the connection options */
	/*
	 * Takes the operands that follow the options and checks what the
	 * options say together, without I/O. Returns 0, or an exit status
	 * after printing a usage error.
	 */
	int (*operands)(struct cmd_opts *o, int argc, char **argv);
};

/*
 * A command: what its options and operands say, the settings, and a
 * client when the command table says it needs one (else NULL). Returns
 * the exit status.
 */
typedef int cmd_fn(const struct cmd_opts *o, struct dlock_config *cfg,
		   struct dlock *d);

/* dlock run, and dlock acquire (o->acquire_only). */
cmd_fn cmd_run;
cmd_fn cmd_status, cmd_list, cmd_renew, cmd_release, cmd_doctor;

extern const struct cmd_syntax run_syntax, acquire_syntax, status_syntax,
	list_syntax, renew_syntax, release_syntax, doctor_syntax;

/* Prints "dlock: " and the message to stderr. */
void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Prints a one-line usage error and the hint to see the --help of the
 * command at hand; returns EXIT_USAGE.
 */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit status for a DLOCK_E* code (conflicts excepted). */
int exit_status(int code);

/* Prints who --force evicted, to stdout and syslog. */
void report_eviction(const struct dlock_status *evicted);

/* Prints a lock's status as text, or as one JSON object. */
void print_status(const struct dlock_status *st, bool json);

/*
 * Prints dlock list's table: a header when asked, then a line per lock,
 * each column as wide as its widest entry.
 */
void print_list(struct dlock_status *const *all, size_t n, bool header);

/*
 * Takes NAME, the first operand of dlock run and dlock acquire, and
 * checks the kind of lock the options ask for. Returns 0, or an exit
 * status after a usage error.
 */
int lock_operands(struct cmd_opts *o, int argc, char **argv);

#endif
