/* SPDX-License-Identifier: MIT */
/* Which backend serves a configuration, and what it can do. */
#include <string.h>

#include "backend.h"

extern const struct backend_ops redis_backend;
extern const struct backend_ops quorum_backend;
extern const struct backend_ops etcd_backend;

/* The same server named twice would count twice towards a majority. */
static int check_quorum(const struct dlock_config *cfg,
			struct dlock_error *err)
{
	for (size_t i = 0; i < cfg->nurls; i++)
		if (cfg->urls[i].etcd)
			return set_error(err, DLOCK_EUSAGE, "--url %s: etcd "
					 "is a cluster with consensus already, "
					 "never a node of a quorum; give one "
					 "etcd:// URL listing its endpoints "
					 "(etcd://h1:2379,h2:2379,...) and no "
					 "other --url", cfg->urls[i].display);
	if (cfg->nurls == 2)
		return set_error(err, DLOCK_EUSAGE, "two --url given: quorum "
				 "mode needs at least 3 servers, as a majority "
				 "of 2 tolerates no failure; give a third, or "
				 "one");
	if (cfg->nurls > 15)
		return set_error(err, DLOCK_EUSAGE, "%zu --url given: quorum "
				 "mode takes at most 15 servers", cfg->nurls);
	for (size_t i = 0; i < cfg->nurls; i++)
		if (cfg->urls[i].sentinel || cfg->urls[i].cluster)
			return set_error(err, DLOCK_EUSAGE, "--url %s: the "
					 "nodes of a quorum are independent "
					 "servers, each a redis://, rediss:// "
					 "or unix:// URL", cfg->urls[i].display);
	for (size_t i = 0; i < cfg->nurls; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->urls[i].display,
				   cfg->urls[j].display) == 0)
				return set_error(err, DLOCK_EUSAGE, "--url %s "
						 "is given twice: quorum mode "
						 "needs independent servers",
						 cfg->urls[i].display);
	return 0;
}

extern const struct backend_ops redis_sentinel_backend;

int backend_for_url(const struct dlock_config *cfg, size_t index,
		    const struct backend_ops **out, struct dlock_error *err)
{
	if (index >= cfg->nurls)
		return set_error(err, DLOCK_EUSAGE, "no server URL number %zu",
				 index + 1);
	/*
	 * Every other URL is one Redis server's (or the sentinels of one);
	 * as a node of a quorum, doctor also checks it against the others.
	 */
	*out = cfg->urls[index].etcd ? &etcd_backend :
	       cfg->nurls >= 3 ? &quorum_backend :
	       cfg->urls[index].sentinel ? &redis_sentinel_backend :
	       &redis_backend;
	return 0;
}

int backend_for(const struct dlock_config *cfg,
		const struct backend_ops **out, struct dlock_error *err)
{
	int rc;

	/* Several URLs: independent masters, a quorum (Redlock). */
	if (cfg->nurls > 1) {
		rc = check_quorum(cfg, err);
		if (!rc)
			*out = &quorum_backend;
		return rc;
	}
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
