/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

const char renew_help[] =
	"Usage: dlock renew [OPTIONS] NAME --owner TOKEN\n"
	"\n"
	"Extend the lease of lock NAME, held by the owner TOKEN that 'dlock\n"
	"acquire' printed. Call it well before the lease runs out, e.g. every\n"
	"third of it.\n"
	"\n"
	"Options:\n"
	"      --owner TOKEN         the owner token (required)\n"
	"      --ttl D               the new lease (default: the lease the lock\n"
	"                            was taken with)\n"
	"  -h, --help                show this help\n"
	"\n"
	GLOBAL_HELP
	"\n"
	"Exit status: 0 renewed; 75 the lock is not held by TOKEN (its lease\n"
	"ran out, it was released or taken over, or the token is wrong); 64\n"
	"usage; 69 server unreachable; 77 authentication; 78 config.\n";

const char release_help[] =
	"Usage: dlock release [OPTIONS] NAME --owner TOKEN\n"
	"       dlock release [OPTIONS] NAME --force\n"
	"\n"
	"Give back lock NAME held by the owner TOKEN that 'dlock acquire'\n"
	"printed; or, with --force, evict every holder of NAME (an operator's\n"
	"override: it prints who was evicted and logs it to syslog; an evicted\n"
	"'dlock run' finds out at its next renewal and stops its command).\n"
	"\n"
	"Options:\n"
	"      --owner TOKEN         the owner token\n"
	"      --force               evict whoever holds NAME\n"
	"  -h, --help                show this help\n"
	"\n"
	GLOBAL_HELP
	"\n"
	"Exit status: 0 released (with --force: also when it was free); 75 the\n"
	"lock is not held by TOKEN; 64 usage; 69 server unreachable; 77\n"
	"authentication; 78 config.\n";

/* What renew and release share: NAME, --owner, --ttl, --force. */
struct by_token {
	const char *name;
	const char *owner;
	int64_t ttl_ms;
	bool force;
};

static int parse(int argc, char **argv, struct dlock_config *cfg,
		 bool release, struct by_token *t)
{
	static const struct option options[] = {
		{ "owner", required_argument, NULL, OPT_OWNER },
		{ "ttl", required_argument, NULL, OPT_TTL },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "help", no_argument, NULL, 'h' },
		GLOBAL_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct dlock_error err;
	int opt, status = 0;

	opterr = 0;
	optind = 0;	/* 0 resets getopt, and lets options follow NAME */
	/* Options may follow NAME: "dlock release NAME --owner T". */
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (global_option(cfg, opt, optarg, &status)) {
			if (status)
				return status;
			continue;
		}
		switch (opt) {
		case OPT_OWNER:
			t->owner = optarg;
			break;
		case OPT_TTL:
			if (release)
				return usage_error("release takes no --ttl");
			if (dlock_parse_duration(optarg, false, &t->ttl_ms,
						 &err))
				return usage_error("--ttl: %s", err.msg);
			break;
		case OPT_FORCE:
			if (!release)
				return usage_error("renew takes no --force");
			t->force = true;
			break;
		case 'h':
			print_help(release ? release_help : renew_help);
			return -1;
		default:
			return bad_option(argv, opt);
		}
	}
	if (optind >= argc)
		return usage_error("%s: no lock name given",
				   release ? "release" : "renew");
	if (optind + 1 < argc)
		return usage_error("unexpected '%s' after the lock name",
				   argv[optind + 1]);
	t->name = argv[optind];
	if (dlock_check_name(t->name, &err))
		return usage_error("%s", err.msg);
	if (t->force && t->owner)
		return usage_error("give --owner TOKEN or --force, not both");
	if (!t->force && !t->owner)
		return usage_error("%s needs --owner TOKEN (printed by dlock "
				   "acquire)%s", release ? "release" : "renew",
				   release ? ", or --force" : "");
	return 0;
}

static int finish(int rc, const struct dlock_error *err)
{
	if (rc)
		errorf("%s", err->msg);
	return exit_status(rc);
}

int cmd_renew(int argc, char **argv, struct dlock_config *cfg)
{
	struct by_token t = { 0 };
	struct dlock_error err;
	struct dlock *d = NULL;
	int status = parse(argc, argv, cfg, false, &t);

	if (status)
		return status < 0 ? 0 : status;
	status = open_client(cfg, &d);
	if (status)
		return status;
	status = finish(dlock_renew_owner(d, t.name, t.owner, t.ttl_ms, &err),
			&err);
	dlock_free(d);
	return status;
}

int cmd_release(int argc, char **argv, struct dlock_config *cfg)
{
	struct by_token t = { 0 };
	struct dlock_status *evicted = NULL;
	struct dlock_error err;
	struct dlock *d = NULL;
	int status = parse(argc, argv, cfg, true, &t);

	if (status)
		return status < 0 ? 0 : status;
	status = open_client(cfg, &d);
	if (status)
		return status;
	if (!t.force) {
		status = finish(dlock_release_owner(d, t.name, t.owner, &err),
				&err);
		dlock_free(d);
		return status;
	}
	status = finish(dlock_force_release(d, t.name, &evicted, &err), &err);
	if (!status)
		report_eviction(evicted);
	dlock_status_free(evicted);
	dlock_free(d);
	return status;
}
