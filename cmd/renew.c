/* SPDX-License-Identifier: MIT */
/* dlock renew and dlock release: a lock held by an owner token. */
#include <stdio.h>

#include "cmd.h"

static const char renew_usage[] =
	"Usage: dlock renew [OPTIONS] NAME --owner TOKEN\n"
	"\n"
	"Extend the lease of lock NAME, held by the owner TOKEN that 'dlock\n"
	"acquire' printed. Call it well before the lease runs out, e.g. every\n"
	"third of it.\n";

static const struct cmd_option renew_options[] = {
	{ OPT_OWNER, "owner", "TOKEN", "the owner token (required)", 0 },
	WAIT_REPLICAS_OPTION,
	{ OPT_TTL, "ttl", "D",
	  "the new lease (default: the lease the lock\n"
	  "was taken with)", 0 },
	OPTION_HELP,
	{ OPT_FORCE, "force", NULL, "renew takes no --force",
	  OPTION_REFUSED },
	OPTIONS_END,
};

static const char renew_notes[] =
	"Exit status: 0 renewed; 75 the lock is not held by TOKEN (its lease\n"
	"ran out, it was released or taken over, or the token is wrong); 64\n"
	"usage; 69 server unreachable; 77 authentication; 78 config.\n";

static const char release_usage[] =
	"Usage: dlock release [OPTIONS] NAME --owner TOKEN\n"
	"       dlock release [OPTIONS] NAME --force\n"
	"\n"
	"Give back lock NAME held by the owner TOKEN that 'dlock acquire'\n"
	"printed; or, with --force, evict every holder of NAME (an operator's\n"
	"override: it prints who was evicted and logs it to syslog; an evicted\n"
	"'dlock run' finds out at its next renewal and stops its command).\n";

static const struct cmd_option release_options[] = {
	{ OPT_OWNER, "owner", "TOKEN", "the owner token", 0 },
	{ OPT_FORCE, "force", NULL, "evict whoever holds NAME", 0 },
	OPTION_HELP,
	{ OPT_TTL, "ttl", "D", "release takes no --ttl", OPTION_REFUSED },
	OPTIONS_END,
};

static const char release_notes[] =
	"Exit status: 0 released (with --force: also when it was free); 75 the\n"
	"lock is not held by TOKEN; 64 usage; 69 server unreachable; 77\n"
	"authentication; 78 config.\n";

/* NAME, and --owner TOKEN (or for release, --force). */
static int by_token(struct cmd_opts *o, int argc, char **argv, bool release)
{
	const char *command = release ? "release" : "renew";
	struct dlock_error err;

	if (argc < 1)
		return usage_error("%s: no lock name given", command);
	if (argc > 1)
		return usage_error("unexpected '%s' after the lock name",
				   argv[1]);
	o->name = argv[0];
	if (dlock_check_name(o->name, &err))
		return usage_error("%s", err.msg);
	if (o->force && o->owner)
		return usage_error("give --owner TOKEN or --force, not both");
	if (!o->force && !o->owner)
		return usage_error("%s needs --owner TOKEN (printed by dlock "
				   "acquire)%s", command,
				   release ? ", or --force" : "");
	return 0;
}

static int renew_operands(struct cmd_opts *o, int argc, char **argv)
{
	return by_token(o, argc, argv, false);
}

static int release_operands(struct cmd_opts *o, int argc, char **argv)
{
	return by_token(o, argc, argv, true);
}

const struct cmd_syntax renew_syntax = {
	.usage = renew_usage,
	.options = renew_options,
	.notes = renew_notes,
	.operands = renew_operands,
};

const struct cmd_syntax release_syntax = {
	.usage = release_usage,
	.options = release_options,
	.notes = release_notes,
	.operands = release_operands,
};

static int finish(int rc, const struct dlock_error *err)
{
	if (rc)
		errorf("%s", err->msg);
	return exit_status(rc);
}

int cmd_renew(const struct cmd_opts *o, struct dlock_config *cfg,
	      struct dlock *d)
{
	struct dlock_error err;

	(void)cfg;
	return finish(dlock_renew_owner(d, o->name, o->owner, o->ttl_ms, &err),
		      &err);
}

int cmd_release(const struct cmd_opts *o, struct dlock_config *cfg,
		struct dlock *d)
{
	struct dlock_status *evicted = NULL;
	struct dlock_error err;
	int status;

	(void)cfg;
	if (!o->force)
		return finish(dlock_release_owner(d, o->name, o->owner, &err),
			      &err);
	status = finish(dlock_force_release(d, o->name, &evicted, &err), &err);
	if (!status)
		report_eviction(evicted);
	dlock_status_free(evicted);
	return status;
}
