/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

static const char main_usage[] =
	"Usage: dlock [OPTIONS] run [RUN-OPTIONS] NAME [--] COMMAND [ARG...]\n"
	"       dlock [OPTIONS] run [RUN-OPTIONS] NAME -c 'SHELL COMMAND'\n"
	"       dlock [OPTIONS] status NAME [--json]\n"
	"       dlock [OPTIONS] list [GLOB] [--json]\n"
	"       dlock [OPTIONS] acquire [RUN-OPTIONS] NAME\n"
	"       dlock [OPTIONS] renew NAME --owner TOKEN [--ttl D]\n"
	"       dlock [OPTIONS] release NAME --owner TOKEN | --force\n"
	"       dlock help [COMMAND]\n"
	"\n"
	"Run a command while holding a named lock in Redis: flock(1) for a\n"
	"whole fleet. Other hosts running the same NAME wait their turn.\n";

static const char main_notes[] =
	"Settings come from options, then the environment (DLOCK_URL, REDIS_URL,\n"
	"DLOCK_PASSWORD, REDISCLI_AUTH, DLOCK_PREFIX, DLOCK_CONFIG), then the\n"
	"config file ($XDG_CONFIG_HOME/dlock/config, /etc/dlock.conf).\n"
	"Exit statuses and examples: man dlock\n";

/* The options before the command name; the global ones join them. */
static const struct cmd_option main_options[] = {
	OPTION_HELP,
	{ 'V', "version", NULL, "show the version", 0 },
	/*
	 * What every command takes, one line each, for the tests that check
	 * --help, the manual and the completions against these tables:
	 * "COMMAND [options-first]", then "COMMAND -x|--long flag|value
	 * [refused] [global]". COMMAND "main" is dlock before a command.
	 */
	{ OPT_DUMP_OPTIONS, "dump-options", NULL, NULL, OPTION_HIDDEN },
	OPTIONS_END,
};

/* The command line as given, for hints that show it corrected. */
static int line_argc;
static char **line_argv;

/* The command whose --help a usage error points to; NULL: dlock's. */
static const char *usage_command;

void errorf(const char *fmt, ...)
{
	va_list ap;

	fputs("dlock: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("dlock: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (usage_command)
		fprintf(stderr, "\nTry 'dlock %s --help'.\n", usage_command);
	else
		fputs("\nTry 'dlock --help'.\n", stderr);
	return EXIT_USAGE;
}

int exit_status(int code)
{
	switch (code) {
	case DLOCK_OK:
		return 0;
	case DLOCK_EUSAGE:
		return EXIT_USAGE;
	case DLOCK_ECONFIG:
		return EXIT_CONFIG;
	case DLOCK_ECONN:
	case DLOCK_ESERVER:
		return EXIT_UNAVAILABLE;
	case DLOCK_EAUTH:
		return EXIT_AUTH;
	case DLOCK_EBUSY:
	case DLOCK_ETIMEDOUT:
		return EXIT_CONFLICT;
	case DLOCK_ELOST:
		return EXIT_LOST;
	}
	return EXIT_INTERNAL;
}

/*
 * Resolves the settings. Their warnings are printed unless -q (cron must
 * not mail the same line at every run); their notes (which file was read,
 * what was skipped) only with --verbose.
 */
static int resolve_config(const struct cmd_opts *o, struct dlock_config *cfg)
{
	struct dlock_error err;
	const char *line;

	if (dlock_config_resolve(cfg, &err)) {
		errorf("%s", err.msg);
		return exit_status(err.code);
	}
	for (size_t i = 0; !o->quiet && (line = dlock_config_warning(cfg, i));
	     i++)
		errorf("warning: %s", line);
	for (size_t i = 0; o->verbose && (line = dlock_config_note(cfg, i));
	     i++)
		errorf("%s", line);
	return 0;
}

static int open_client(const struct cmd_opts *o, struct dlock_config *cfg,
		       struct dlock **d)
{
	struct dlock_error err;
	int status = resolve_config(o, cfg);

	if (status)
		return status;
	if (dlock_new(cfg, d, &err) == 0)
		return 0;
	if (err.code == DLOCK_EUSAGE)
		return usage_error("%s", err.msg);
	errorf("%s", err.msg);
	return exit_status(err.code);
}

/*
 * A command whose output went nowhere must not report success:
 * "dlock --help > /dev/full" fails.
 */
static int finish_stdout(int status)
{
	/* A command that returns EXIT_WRITE has said so already. */
	if (status != EXIT_WRITE && (fflush(stdout) != 0 || ferror(stdout))) {
		errorf("cannot write to standard output: %s", strerror(errno));
		return EXIT_WRITE;
	}
	return status;
}

/* What the dispatcher sets up before it calls a command. */
enum {
	NEEDS_CONFIG = 1 << 0,	/* settings resolved, warnings printed */
	/* A client on one server, or on a quorum of several --url. */
	NEEDS_CLIENT = 1 << 1 | NEEDS_CONFIG,
	/* Options stop at the first operand, as in flock(1). */
	OPTIONS_FIRST = 1 << 2,
	/*
	 * ... which is NAME: an option of the command right after it is a
	 * habit from other tools, and gets a hint, not an attempt to run it.
	 */
	OPTIONS_BEFORE_NAME = 1 << 3 | OPTIONS_FIRST,
};

static const struct command {
	const char *name;
	cmd_fn *fn;
	const struct cmd_syntax *syntax;
	unsigned flags;
	const char *summary;	/* its line in dlock --help */
} commands[] = {
	{ "run", cmd_run, &run_syntax, NEEDS_CLIENT | OPTIONS_BEFORE_NAME,
	  "run a command while holding a lock (see 'dlock run --help')" },
	{ "status", cmd_status, &status_syntax, NEEDS_CLIENT,
	  "show who holds a lock, since when, and who waits" },
	{ "list", cmd_list, &list_syntax, NEEDS_CLIENT,
	  "list the held locks, one line each" },
	/* dlock run's code; acquire's operands set o->acquire_only. */
	{ "acquire", cmd_run, &acquire_syntax,
	  NEEDS_CLIENT | OPTIONS_BEFORE_NAME,
	  "take a lock for a script and print its owner token" },
	{ "renew", cmd_renew, &renew_syntax, NEEDS_CLIENT,
	  "extend a lock taken with acquire" },
	{ "release", cmd_release, &release_syntax, NEEDS_CLIENT,
	  "give back a lock taken with acquire, or evict (--force)" },
	/* Checks each of several --url, so no single client. */
	{ "doctor", cmd_doctor, &doctor_syntax, NEEDS_CONFIG | OPTIONS_FIRST,
	  "check the server and the ACL rights dlock needs" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Writes a word of a command line so that a shell reads it back as is. */
static void put_word(FILE *f, const char *w)
{
	static const char plain[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-";

	if (*w && strspn(w, plain) == strlen(w)) {
		fputs(w, f);
		return;
	}
	fputc('\'', f);
	for (; *w; w++)
		if (*w == '\'')
			fputs("'\\''", f);
		else
			fputc(*w, f);
	fputc('\'', f);
}

/*
 * The command line with the words [from, from + n) moved to before word
 * to, and insert (unless NULL) after them, as text to show in a hint.
 * NULL when out of memory: the hint then goes without it.
 */
static char *corrected_line(int to, const char *insert, int from, int n)
{
	char *text = NULL;
	size_t size;
	FILE *f = open_memstream(&text, &size);

	if (!f)
		return NULL;
	fputs("dlock", f);
	for (int i = 1; i <= line_argc; i++) {
		if (i == to) {
			for (int j = from; j < from + n; j++) {
				fputc(' ', f);
				put_word(f, line_argv[j]);
			}
			if (insert)
				fprintf(f, " %s", insert);
		}
		if (i == line_argc)
			break;
		if (i >= from && i < from + n)
			continue;
		fputc(' ', f);
		put_word(f, line_argv[i]);
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/*
 * "dlock run job -n -- cmd": a usage error that shows the options before
 * NAME, where they belong. argv[0] is NAME. Returns 0 when no option of
 * the table follows it.
 */
static int misplaced_options(const struct command *c, int argc, char **argv)
{
	int n = option_words(c->syntax->options, argc - 1, argv + 1);
	int name = (int)(argv - line_argv);
	char *line;
	int status;

	if (!n)
		return 0;
	line = corrected_line(name, NULL, name + 1, n);
	status = usage_error("options of %s go before NAME: %s", c->name,
			     line ? line : "");
	free(line);
	return status;
}

/* Optimal string alignment distance: typos, with swapped letters as one. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t d[3][16], la = strlen(a), lb = strlen(b);

	if (la >= 16 || lb >= 16)
		return SIZE_MAX;
	/* Rows i - 2, i - 1 and i of the table, in turn. */
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t *row = d[i % 3], *up = d[(i - 1) % 3];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t best = up[j - 1] + cost;

			if (up[j] + 1 < best)
				best = up[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			size_t swap = i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
				      a[i - 2] == b[j - 1] ?
				      d[(i - 2) % 3][j - 2] + 1 : SIZE_MAX;

			if (swap < best)
				best = swap;
			row[j] = best;
		}
	}
	return d[la % 3][lb];
}

static const struct command *find_command(const char *name);

/* The command nearest to word, and how near, counting "help" too. */
static const char *nearest_command(const char *word, size_t *distance)
{
	const char *best = "help";

	*distance = edit_distance(word, best);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		size_t d = edit_distance(word, commands[i].name);

		if (d < *distance) {
			*distance = d;
			best = commands[i].name;
		}
	}
	return best;
}

/*
 * Word at argv[i] is no command: a typo ("rn"), or flock's habit of
 * putting the lock first ("dlock job cmd"). Returns the usage status.
 */
static int unknown_command(int i)
{
	const char *word = line_argv[i];
	struct dlock_error err;
	size_t distance;
	const char *near = nearest_command(word, &distance);
	char *line;
	int status;

	/*
	 * One slip; or two in a longer word, unless it reads as flock's
	 * "dlock NAME COMMAND" ("dlock stat" yes, "dlock test make" no).
	 */
	if (distance <= 1 || (distance == 2 && strlen(word) >= 4 &&
			      (i + 1 == line_argc ||
			       dlock_check_name(word, &err) != 0)))
		return usage_error("unknown command '%s'; did you mean '%s'?",
				   word, near);
	if (i + 1 == line_argc || dlock_check_name(word, &err) != 0)
		return usage_error("unknown command '%s'", word);
	line = corrected_line(i, "run", 0, 0);
	status = usage_error("unknown command '%s'; to run a command under "
			     "lock '%s': %s", word, word, line ? line : "");
	free(line);
	return status;
}

/*
 * An option of a command at argv[i], where the command name should be:
 * "dlock -q status job" puts it before its command, "dlock -n job cmd"
 * is flock's order, without "run". Returns the usage status with the line
 * corrected, or 0 when there is no such option.
 */
static int command_option_first(int i)
{
	const struct command *run = find_command("run");
	char *line;
	int n, status;

	for (size_t k = 0; k < N_COMMANDS && i < line_argc; k++) {
		const struct command *c = &commands[k];

		n = option_words(c->syntax->options, line_argc - i,
				 line_argv + i);
		if (!n || i + n >= line_argc ||
		    strcmp(line_argv[i + n], c->name) != 0)
			continue;
		line = corrected_line(i + n + 1, NULL, i, n);
		status = usage_error("'%s' is an option of %s, and goes after "
				     "it: %s", line_argv[i], c->name,
				     line ? line : "");
		free(line);
		return status;
	}
	if (i >= line_argc ||
	    !option_words(run->syntax->options, line_argc - i, line_argv + i))
		return 0;
	line = corrected_line(i, "run", 0, 0);
	status = usage_error("'%s' is an option of run, which goes first: %s",
			     line_argv[i], line ? line : "");
	free(line);
	return status;
}

static int print_main_help(void)
{
	fputs(main_usage, stdout);
	fputs("\nCommands:\n", stdout);
	for (size_t i = 0; i < N_COMMANDS; i++)
		printf("  %-8s %s\n", commands[i].name, commands[i].summary);
	printf("  %-8s %s\n", "help", "show the help of a command");
	putchar('\n');
	print_global_options();
	print_options(main_options);
	putchar('\n');
	fputs(main_notes, stdout);
	return 0;
}

static int print_command_help(const struct command *c)
{
	fputs(c->syntax->usage, stdout);
	fputs("\nOptions:\n", stdout);
	print_options(c->syntax->options);
	putchar('\n');
	print_global_options();
	putchar('\n');
	fputs(c->syntax->notes, stdout);
	return 0;
}

static int print_dump(void)
{
	puts("main options-first");
	dump_options("main", main_options);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct command *c = &commands[i];

		printf("%s%s\n", c->name,
		       c->flags & OPTIONS_FIRST ? " options-first" : "");
		dump_options(c->name, c->syntax->options);
	}
	return 0;
}

static int cmd_help(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2)
		return print_main_help();
	if (argc > 2)
		return usage_error("'help' takes one command name");
	if (strcmp(argv[1], "help") == 0)
		return print_main_help();
	c = find_command(argv[1]);
	if (!c)
		return usage_error("unknown command '%s'", argv[1]);
	return print_command_help(c);
}

/* Parses a command's options and operands, sets up what it needs, runs it. */
static int run_command(const struct command *c, int argc, char **argv,
		       struct dlock_config *cfg, struct cmd_opts *o)
{
	struct dlock *d = NULL;
	int status;

	usage_command = c->name;
	status = parse_options(argc, argv, c->syntax->options,
			       c->flags & OPTIONS_FIRST, cfg, o);
	if (status == PARSE_STOP)
		return print_command_help(c);
	if (status)
		return status;
	if ((c->flags & OPTIONS_BEFORE_NAME) == OPTIONS_BEFORE_NAME &&
	    optind < argc) {
		status = misplaced_options(c, argc - optind, argv + optind);
		if (status)
			return status;
	}
	status = c->syntax->operands(o, argc - optind, argv + optind);
	if (status)
		return status;
	if ((c->flags & NEEDS_CLIENT) == NEEDS_CLIENT)
		status = open_client(o, cfg, &d);
	else if (c->flags & NEEDS_CONFIG)
		status = resolve_config(o, cfg);
	if (status)
		return status;
	status = c->fn(o, cfg, d);
	dlock_free(d);
	return status;
}

static int dispatch(int argc, char **argv, struct dlock_config *cfg)
{
	const struct command *c;
	struct cmd_opts o;
	int status;

	cmd_opts_init(&o);
	status = command_option_first(1 + option_words(main_options,
						       argc - 1, argv + 1));
	if (status)
		return status;
	status = parse_options(argc, argv, main_options, true, cfg, &o);
	if (status == PARSE_STOP) {
		if (o.help)
			return print_main_help();
		if (o.dump_options)
			return print_dump();
		fputs("dlock " DLOCK_VERSION "\n", stdout);
		return 0;
	}
	if (status)
		return status;
	if (optind >= argc)
		return usage_error("no command given; use 'dlock run NAME "
				   "COMMAND'");
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "help") == 0)
		return cmd_help(argc, argv);
	c = find_command(argv[0]);
	if (!c)
		return unknown_command(optind);
	return run_command(c, argc, argv, cfg, &o);
}

int main(int argc, char **argv)
{
	struct dlock_config *cfg = dlock_config_new();
	int status;

	if (!cfg) {
		errorf("out of memory");
		return EXIT_INTERNAL;
	}
	line_argc = argc;
	line_argv = argv;
	status = dispatch(argc, argv, cfg);
	dlock_config_free(cfg);
	return finish_stdout(status);
}
