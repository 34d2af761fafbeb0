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

static int resolve_config(struct dlock_config *cfg)
{
	struct dlock_error err;
	const char *warning;

	if (dlock_config_resolve(cfg, &err)) {
		errorf("%s", err.msg);
		return exit_status(err.code);
	}
	for (size_t i = 0; (warning = dlock_config_warning(cfg, i)); i++)
		errorf("warning: %s", warning);
	return 0;
}

static int open_client(struct dlock_config *cfg, struct dlock **d)
{
	int status = resolve_config(cfg);

	if (status)
		return status;
	if (dlock_config_url_count(cfg) > 1)
		return usage_error("several --url given, but quorum mode is "
				   "not available in this version; give one");
	*d = dlock_new(cfg);
	if (!*d) {
		errorf("out of memory");
		return EXIT_INTERNAL;
	}
	return 0;
}

/*
 * A command whose output went nowhere must not report success:
 * "dlock --help > /dev/full" fails.
 */
static int finish_stdout(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		errorf("cannot write to standard output: %s", strerror(errno));
		return EXIT_WRITE;
	}
	return status;
}

/* What the dispatcher sets up before it calls a command. */
enum {
	NEEDS_CONFIG = 1 << 0,	/* settings resolved, warnings printed */
	/* A client on one server (several --url: a usage error, for now). */
	NEEDS_CLIENT = 1 << 1 | NEEDS_CONFIG,
	/* Options stop at the first operand, as in flock(1). */
	OPTIONS_FIRST = 1 << 2,
};

static const struct command {
	const char *name;
	cmd_fn *fn;
	const struct cmd_syntax *syntax;
	unsigned flags;
	const char *summary;	/* its line in dlock --help */
} commands[] = {
	{ "run", cmd_run, &run_syntax, NEEDS_CLIENT | OPTIONS_FIRST,
	  "run a command while holding a lock (see 'dlock run --help')" },
	{ "status", cmd_status, &status_syntax, NEEDS_CLIENT,
	  "show who holds a lock, since when, and who waits" },
	{ "list", cmd_list, &list_syntax, NEEDS_CLIENT,
	  "list the held locks, one line each" },
	/* dlock run's code; acquire's operands set o->acquire_only. */
	{ "acquire", cmd_run, &acquire_syntax, NEEDS_CLIENT | OPTIONS_FIRST,
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

	status = parse_options(argc, argv, c->syntax->options,
			       c->flags & OPTIONS_FIRST, cfg, o);
	if (status == PARSE_STOP)
		return print_command_help(c);
	if (status)
		return status;
	status = c->syntax->operands(o, argc - optind, argv + optind);
	if (status)
		return status;
	if ((c->flags & NEEDS_CLIENT) == NEEDS_CLIENT)
		status = open_client(cfg, &d);
	else if (c->flags & NEEDS_CONFIG)
		status = resolve_config(cfg);
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
		return usage_error("unknown command '%s'", argv[0]);
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
	status = dispatch(argc, argv, cfg);
	dlock_config_free(cfg);
	return finish_stdout(status);
}
