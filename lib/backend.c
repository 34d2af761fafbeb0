/* SPDX-License-Identifier: MIT */
/* Which backend serves a configuration, and what it can do. */
#include "backend.h"

extern const struct backend_ops redis_backend;
extern const struct backend_ops redis_sentinel_backend;

int backend_for_url(const struct dlock_config *cfg, size_t index,
		    const struct backend_ops **out, struct dlock_error *err)
{
	if (index >= cfg->nurls)
		return set_error(err, DLOCK_EUSAGE, "no server URL number %zu",
				 index + 1);
	/* Every URL that url_parse() accepts today is one Redis server's. */
	*out = cfg->urls[index].sentinel ? &redis_sentinel_backend :
	       &redis_backend;
	return 0;
}

int backend_for(const struct dlock_config *cfg,
		const struct backend_ops **out, struct dlock_error *err)
{
	/* A backend over several URLs (a quorum) goes here. */
	if (cfg->nurls > 1)
		return set_error(err, DLOCK_EUSAGE, "several --url given, but "
				 "quorum mode is not available in this "
				 "version; give one");
	return backend_for_url(cfg, 0, out, err);
}

int backend_check_request(const struct backend_ops *ops,
			  const struct dlock_acquire_opts *opts,
			  struct dlock_error *err)
{
	const char *missing = NULL;

	if (opts->mode == DLOCK_SHARED && !(ops->caps & CAP_SHARED))
		missing = "shared locks (-s)";
	else if (opts->mode == DLOCK_LIMIT && !(ops->caps & CAP_LIMIT))
		missing = "counting semaphores (--limit)";
	else if (opts->lock_delay_ms > 0 && !(ops->caps & CAP_LOCK_DELAY))
		missing = "--lock-delay";
	if (missing)
		return set_error(err, DLOCK_EUSAGE, "the %s backend cannot "
				 "do %s", ops->name, missing);
	return 0;
}
