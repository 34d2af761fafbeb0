/* SPDX-License-Identifier: MIT */
/*
 * The command line: getopt driven by the option tables, what each option
 * means (the same in every command that takes it), and the option lists
 * of --help and --dump-options made from the same tables.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

#define DEFAULT_KILL_AFTER_MS 10000

/*
 * The shortest lease: renewed every third of it, a shorter one is lost to
 * a single slow round trip, and a 1 ms one as soon as it is taken.
 */
#define MIN_TTL_MS 1000

/* Where the help text of an option starts in --help. */
#define HELP_COLUMN 28

/* Every command takes these; each long name is also its config key. */
static const struct cmd_option global_options[] = {
	{ OPT_URL, "url", "URL",
	  "Redis server; no default (also DLOCK_URL, or\n"
	  "url in the config file): redis://[user[:pass]@]\n"
	  "host[:port][/db], unix:///path/to.sock[?db=N],\n"
	  "redis+cluster://host[:port],host[:port]...,\n"
	  "redis+sentinel://[user[:pass]@]h1[:p1],\n"
	  "h2[:p2].../SERVICE[/db], or an etcd cluster:\n"
	  "etcd://[user@]h1[:p1],h2[:p2]... (etcds://)", 0 },
	{ OPT_PREFIX, "prefix", "P", "key namespace (default \"dlock:\";\n"
	  "on etcd, none)", 0 },
	{ OPT_CONNECT_TIMEOUT, "connect-timeout", "D",
	  "deadline to connect and for each request\n"
	  "(default 3s)", 0 },
	{ OPT_USER, "user", "U", "Redis ACL user name, or etcd user", 0 },
	{ OPT_PASSWORD_FILE, "password-file", "F",
	  "read the password from the first line of F", 0 },
	{ OPT_SENTINEL_USER, "sentinel-user", "U",
	  "ACL user name for the sentinels", 0 },
	{ OPT_SENTINEL_PASSWORD_FILE, "sentinel-password-file", "F",
	  "sentinels' password: first line of F\n"
	  "(also DLOCK_SENTINEL_PASSWORD)", 0 },
	{ OPT_CONFIG, "config", "F", "read settings from F", 0 },
	{ OPT_TLS_CA, "tls-ca", "F",
	  "CA bundle to verify a rediss:// server\n"
	  "(default: the system's)", 0 },
	{ OPT_TLS_CERT, "tls-cert", "F", "client certificate for rediss://",
	  0 },
	{ OPT_TLS_KEY, "tls-key", "F", "key of the client certificate", 0 },
	{ OPT_TLS_SERVER_NAME, "tls-server-name", "S",
	  "name to verify and send (SNI) instead of\n"
	  "the URL's host", 0 },
	OPTIONS_END,
};

void cmd_opts_init(struct cmd_opts *o)
{
	*o = (struct cmd_opts){
		.wait_ms = -1,
		.kill_after_ms = DEFAULT_KILL_AFTER_MS,
		.lock_delay_ms = -1,
		.on_lost_signal = SIGTERM,
		.conflict_status = EXIT_CONFLICT,
		.lost_status = EXIT_LOST,
	};
}

static bool is_alias(const struct cmd_option *e)
{
	return e->flags & (OPTION_ALIAS | OPTION_ALIAS_IN_TEXT);
}

static size_t table_size(const struct cmd_option *table)
{
	size_t n = 0;

	while (table[n].name)
		n++;
	return n;
}

/* The entry that getopt's value val stands for: the first that has it. */
static const struct cmd_option *find_option(const struct cmd_option *table,
					    int val)
{
	for (; table->name; table++)
		if (table->val == val)
			return table;
	return NULL;
}

static int duration(const char *opt, const char *arg, bool allow_zero,
		    int64_t *ms)
{
	struct dlock_error err;

	if (dlock_parse_duration(arg, allow_zero, ms, &err))
		return usage_error("%s: %s", opt, err.msg);
	return 0;
}

static int ttl(const char *arg, int64_t *ms)
{
	int status = duration("--ttl", arg, false, ms);

	if (!status && *ms < MIN_TTL_MS)
		status = usage_error("--ttl: '%s' is too short; a lease must "
				     "be at least %ds", arg, MIN_TTL_MS / 1000);
	return status;
}

static int number(const char *opt, const char *arg, long max, long *n)
{
	struct dlock_error err;

	if (dlock_parse_uint(arg, max, n, &err))
		return usage_error("%s: %s", opt, err.msg);
	return 0;
}

/* The options of dlock run about the command and the lease under it. */
static int set_child_option(struct cmd_opts *o, int val, const char *arg)
{
	struct dlock_error err;
	long n;
	int rc;

	switch (val) {
	case 'c':
		o->shell_command = arg;
		return 0;
	case OPT_ON_LOST:
		if (dlock_parse_signal(arg, &o->on_lost_signal, &err))
			return usage_error("--on-lost: %s", err.msg);
		return 0;
	case OPT_KILL_AFTER:
		return duration("--kill-after", arg, true, &o->kill_after_ms);
	case OPT_LOST_EXIT_CODE:
		rc = number("--lost-exit-code", arg, 255, &n);
		if (!rc)
			o->lost_status = (int)n;
		return rc;
	case OPT_MAX_HOLD:
		return duration("--max-hold", arg, false, &o->max_hold_ms);
	}
	errorf("internal error: option %d means nothing", val);
	return EXIT_INTERNAL;
}

/* The options of dlock run and dlock acquire about taking the lock. */
static int set_lock_option(struct cmd_opts *o, int val, const char *arg)
{
	long n;
	int rc;

	switch (val) {
	case 'n':
		o->wait_ms = 0;
		return 0;
	case 'w':
		return duration("-w", arg, true, &o->wait_ms);
	case 'E':
		rc = number("-E", arg, 255, &n);
		if (!rc)
			o->conflict_status = (int)n;
		return rc;
	case 'x':
		o->mode = DLOCK_EXCLUSIVE;
		o->exclusive_given = true;
		return 0;
	case 's':
		o->mode = DLOCK_SHARED;
		return 0;
	case OPT_LIMIT:
		rc = number("--limit", arg, DLOCK_LIMIT_MAX, &o->limit);
		if (!rc && o->limit == 0)
			rc = usage_error("--limit: it must be 1 or more");
		return rc;
	case OPT_FIFO:
	case OPT_NO_FIFO:
		o->no_fifo = val == OPT_NO_FIFO;
		return 0;
	case OPT_LOCK_DELAY:
		return duration("--lock-delay", arg, true, &o->lock_delay_ms);
	case OPT_VERBOSE:
		o->verbose = true;
		return 0;
	}
	return set_child_option(o, val, arg);
}

/* What an option of a command means, the same in every command. */
static int set_option(struct cmd_opts *o, int val, const char *arg)
{
	switch (val) {
	case 'h':
		o->help = true;
		return PARSE_STOP;
	case 'V':
		o->version = true;
		return PARSE_STOP;
	case OPT_DUMP_OPTIONS:
		o->dump_options = true;
		return PARSE_STOP;
	case 'q':
		o->quiet = true;
		return 0;
	case OPT_JSON:
		o->json = true;
		return 0;
	case OPT_TTL:
		return ttl(arg, &o->ttl_ms);
	case OPT_OWNER:
		o->owner = arg;
		return 0;
	case OPT_FORCE:
		o->force = true;
		return 0;
	}
	return set_lock_option(o, val, arg);
}

static int set_global_option(struct dlock_config *cfg,
			     const struct cmd_option *e, const char *arg)
{
	struct dlock_error err;

	if (dlock_config_set_option(cfg, e->name, arg, &err) == 0)
		return 0;
	if (err.code == DLOCK_ENOMEM) {
		errorf("out of memory");
		return EXIT_INTERNAL;
	}
	return usage_error("--%s: %s", e->name, err.msg);
}

/* Reports getopt's complaint about argv[optind - 1]; returns EXIT_USAGE. */
static int bad_option(char **argv, int opt)
{
	const char *arg = argv[optind - 1];

	if (opt == ':')
		return usage_error("option '%s' needs a value", arg);
	if (optopt && strncmp(arg, "--", 2) != 0)
		return usage_error("unknown option '-%c'", optopt);
	return usage_error("unknown option '%s'", arg);
}

/* What getopt_long takes: for a table, and the global options. */
struct getopt_args {
	char *shortopts;
	struct option *longopts;
};

static void add_getopt_args(struct getopt_args *g, size_t *n,
			    const struct cmd_option *table)
{
	size_t len = strlen(g->shortopts);

	for (const struct cmd_option *e = table; e->name; e++) {
		g->longopts[(*n)++] = (struct option){
			e->name, e->arg ? required_argument : no_argument,
			NULL, e->val
		};
		if (e->val > CHAR_MAX || strchr(g->shortopts, e->val))
			continue;
		g->shortopts[len++] = (char)e->val;
		if (e->arg)
			g->shortopts[len++] = ':';
		g->shortopts[len] = '\0';
	}
}

static int make_getopt_args(struct getopt_args *g,
			    const struct cmd_option *table, bool options_first)
{
	size_t count = table_size(table) + table_size(global_options), n = 0;

	/* '+', ':', then at most two characters an entry, and the NUL. */
	g->shortopts = malloc(2 * count + 3);
	g->longopts = calloc(count + 1, sizeof(*g->longopts));
	if (!g->shortopts || !g->longopts) {
		free(g->shortopts);
		free(g->longopts);
		errorf("out of memory");
		return EXIT_INTERNAL;
	}
	/* A leading ':' makes getopt return ':' for a missing value. */
	strcpy(g->shortopts, options_first ? "+:" : ":");
	add_getopt_args(g, &n, table);
	add_getopt_args(g, &n, global_options);
	return 0;
}

int parse_options(int argc, char **argv, const struct cmd_option *table,
		  bool options_first, struct dlock_config *cfg,
		  struct cmd_opts *o)
{
	struct getopt_args g;
	const struct cmd_option *e;
	int val, status = make_getopt_args(&g, table, options_first);

	opterr = 0;
	optind = 0;	/* afresh: the last parse left state behind */
	while (!status &&
	       (val = getopt_long(argc, argv, g.shortopts, g.longopts,
				  NULL)) != -1) {
		if (val == '?' || val == ':')
			status = bad_option(argv, val);
		else if ((e = find_option(global_options, val)))
			status = set_global_option(cfg, e, optarg);
		else if ((e = find_option(table, val))->flags & OPTION_REFUSED)
			status = usage_error("%s", e->help);
		else if (val == OPT_WAIT_REPLICAS)
			/* The session asks for it on every write. */
			status = set_global_option(cfg, e, optarg);
		else
			status = set_option(o, val, optarg);
	}
	free(g.shortopts);
	free(g.longopts);
	return status;
}

/* The entry that long option word names ("--name" or "--name=value"). */
static const struct cmd_option *find_long(const struct cmd_option *table,
					  const char *word)
{
	size_t len = strcspn(word, "=");

	for (; table->name; table++)
		if (strlen(table->name) == len &&
		    strncmp(table->name, word, len) == 0)
			return table;
	return NULL;
}

/* Words that short option cluster word ("-nq", "-w5") takes, or 0. */
static int short_words(const struct cmd_option *table, const char *word)
{
	for (const char *p = word + 1; *p; p++) {
		const struct cmd_option *e = find_option(table, *p);

		if (!e || e->flags & OPTION_AFTER_NAME)
			return 0;
		if (e->arg)
			return p[1] ? 1 : 2;
	}
	return 1;
}

int option_words(const struct cmd_option *table, int argc, char **argv)
{
	int n = 0;

	while (n < argc && argv[n][0] == '-' && argv[n][1] &&
	       strcmp(argv[n], "--") != 0) {
		const char *w = argv[n];
		const struct cmd_option *e;
		int k;

		if (w[1] == '-') {
			e = find_long(table, w + 2);
			if (!e)
				e = find_long(global_options, w + 2);
			if (!e || e->flags & OPTION_AFTER_NAME)
				break;
			k = e->arg && !strchr(w, '=') ? 2 : 1;
		} else {
			k = short_words(table, w);
			if (!k)
				break;
		}
		n = n + k < argc ? n + k : argc;
	}
	return n;
}

/* One option's lines in --help, with the names of its aliases. */
static void print_option(const struct cmd_option *e)
{
	const char *line = e->help, *end;
	int width;

	if (e->val <= CHAR_MAX)
		width = printf("  -%c, --%s", e->val, e->name);
	else
		width = printf("      --%s", e->name);
	for (const struct cmd_option *a = e + 1; a->name && is_alias(a); a++)
		if (a->flags & OPTION_ALIAS)
			width += printf(", --%s", a->name);
	if (e->arg)
		width += printf(" %s", e->arg);
	/* A left part too wide for the column pushes the text right. */
	printf("%*s", width < HELP_COLUMN - 2 ? HELP_COLUMN - width : 2, "");
	for (;;) {
		end = strchrnul(line, '\n');
		printf("%.*s\n", (int)(end - line), line);
		if (!*end)
			break;
		line = end + 1;
		printf("%*s", HELP_COLUMN, "");
	}
}

void print_options(const struct cmd_option *table)
{
	for (const struct cmd_option *e = table; e->name; e++) {
		if (is_alias(e) || e->flags & (OPTION_REFUSED | OPTION_HIDDEN))
			continue;
		print_option(e);
	}
}

void print_global_options(void)
{
	fputs("Connection options (before or after the command name):\n",
	      stdout);
	print_options(global_options);
}

static void dump_table(const char *command, const struct cmd_option *table,
		       const char *attr)
{
	char seen[CHAR_MAX + 1] = { 0 };

	for (const struct cmd_option *e = table; e->name; e++) {
		const char *kind = e->arg ? "value" : "flag";
		const char *refused =
			e->flags & OPTION_REFUSED ? " refused" : "";

		if (e->flags & OPTION_HIDDEN)
			continue;
		printf("%s --%s %s%s%s\n", command, e->name, kind, refused,
		       attr);
		if (e->val > CHAR_MAX || seen[e->val])
			continue;
		seen[e->val] = 1;
		printf("%s -%c %s%s%s\n", command, e->val, kind, refused,
		       attr);
	}
}

void dump_options(const char *command, const struct cmd_option *table)
{
	dump_table(command, table, "");
	dump_table(command, global_options, " global");
}
