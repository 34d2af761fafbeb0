/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const char main_help[] =
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
	"whole fleet. Other hosts running the same NAME wait their turn.\n"
	"\n"
	"Commands:\n"
	"  run      run a command while holding a lock (see 'dlock run --help')\n"
	"  status   show who holds a lock, since when, and who waits\n"
	"  list     list the held locks, one line each\n"
	"  acquire  take a lock for a script and print its owner token\n"
	"  renew    extend a lock taken with acquire\n"
	"  release  give back a lock taken with acquire, or evict (--force)\n"
	"  doctor   check the server and the ACL rights dlock needs\n"
	"  help     show the help of a command\n"
	"\n"
	GLOBAL_HELP
	"  -h, --help                show this help\n"
	"  -V, --version             show the version\n"
	"\n"
	"Settings come from options, then the environment (DLOCK_URL, REDIS_URL,\n"
	"DLOCK_PASSWORD, REDISCLI_AUTH, DLOCK_PREFIX, DLOCK_CONFIG), then the\n"
	"config file ($XDG_CONFIG_HOME/dlock/config, /etc/dlock.conf).\n"
	"Exit statuses and examples: man dlock\n";

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

int bad_option(char **argv, int opt)
{
	const char *arg = argv[optind - 1];

	if (opt == ':')
		return usage_error("option '%s' needs a value", arg);
	if (optopt && strncmp(arg, "--", 2) != 0)
		return usage_error("unknown option '-%c'", optopt);
	return usage_error("unknown option '%s'", arg);
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

bool global_option(struct dlock_config *cfg, int opt, const char *arg,
		   int *status)
{
	static const struct {
		int opt;
		const char *key;
	} keys[] = {
		{ OPT_URL, "url" },
		{ OPT_PREFIX, "prefix" },
		{ OPT_CONNECT_TIMEOUT, "connect-timeout" },
		{ OPT_USER, "user" },
		{ OPT_PASSWORD_FILE, "password-file" },
		{ OPT_CONFIG, "config" },
		{ OPT_TLS_CA, "tls-ca" },
		{ OPT_TLS_CERT, "tls-cert" },
		{ OPT_TLS_KEY, "tls-key" },
		{ OPT_TLS_SERVER_NAME, "tls-server-name" },
	};
	struct dlock_error err;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i].opt != opt)
			continue;
		if (dlock_config_set_option(cfg, keys[i].key, arg, &err))
			*status = err.code == DLOCK_ENOMEM ? EXIT_INTERNAL :
				  usage_error("--%s: %s", keys[i].key,
					      err.msg);
		return true;
	}
	return false;
}

int resolve_config(struct dlock_config *cfg)
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

int open_client(struct dlock_config *cfg, struct dlock **d)
{
	struct dlock_error err;
	int status = resolve_config(cfg);

	if (status)
		return status;

	if (dlock_new(cfg, d, &err) == 0)
		return 0;
	if (err.code == DLOCK_EUSAGE)
		return usage_error("%s", err.msg);
	errorf("%s", err.msg);
	return exit_status(err.code);
}

int print_help(const char *text)
{
	fputs(text, stdout);
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

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv, struct dlock_config *cfg);
	const char *help;
} commands[] = {
	{ "run", cmd_run, run_help },
	{ "doctor", cmd_doctor, doctor_help },
	{ "status", cmd_status, status_help },
	{ "list", cmd_list, list_help },
	{ "acquire", cmd_acquire, acquire_help },
	{ "renew", cmd_renew, renew_help },
	{ "release", cmd_release, release_help },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2)
		return print_help(main_help);
	if (argc > 2)
		return usage_error("'help' takes one command name");
	c = find_command(argv[1]);
	if (!c)
		return usage_error("unknown command '%s'", argv[1]);
	return print_help(c->help);
}

static int dispatch(int argc, char **argv, struct dlock_config *cfg)
{
	static const struct option options[] = {
		GLOBAL_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *c;
	int opt, status = 0;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:hV", options, NULL)) != -1) {
		if (global_option(cfg, opt, optarg, &status)) {
			if (status)
				return status;
			continue;
		}
		switch (opt) {
		case 'h':
			return print_help(main_help);
		case 'V':
			return print_help("dlock " DLOCK_VERSION "\n");
		default:
			return bad_option(argv, opt);
		}
	}
	if (optind >= argc)
		return usage_error("no command given; use 'dlock run NAME "
				   "COMMAND'");
	if (strcmp(argv[optind], "help") == 0)
		return cmd_help(argc - optind, argv + optind);
	c = find_command(argv[optind]);
	if (!c)
		return usage_error("unknown command '%s'", argv[optind]);
	return c->fn(argc - optind, argv + optind, cfg);
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
