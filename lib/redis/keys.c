/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

void redis_keys_clear(struct redis_keys *k)
{
	free(k->lock);
	free(k->fence);
	free(k->epoch);
	free(k->holders);
	free(k->kind);
	free(k->queue);
	free(k->waiters);
	free(k->holder);
	free(k->wake);
	free(k->waiter);
	memset(k, 0, sizeof(*k));
}

/* asprintf() leaves its pointer undefined on failure: make it NULL. */
static char *join(const char *base, const char *suffix, const char *owner)
{
	char *s;

	if (asprintf(&s, "%s%s%s", base, suffix, owner ? owner : "") < 0)
		return NULL;
	return s;
}

int redis_keys_init(struct redis_keys *k, const char *prefix, const char *name,
		    const char *owner, struct dlock_error *err)
{
	memset(k, 0, sizeof(*k));
	if (asprintf(&k->lock, "%s{%s}", prefix, name) < 0) {
		k->lock = NULL;
		goto oom;
	}
	k->fence = join(k->lock, ":fence", NULL);
	k->holders = join(k->lock, ":holders", NULL);
	k->kind = join(k->lock, ":kind", NULL);
	k->queue = join(k->lock, ":queue", NULL);
	k->waiters = join(k->lock, ":waiters", NULL);
	k->epoch = join(k->lock, ":epoch", NULL);
	if (!k->fence || !k->epoch || !k->holders || !k->kind || !k->queue || !k->waiters)
		goto oom;
	if (owner) {
		k->holder = join(k->lock, ":holder:", owner);
		k->wake = join(k->lock, ":w:", owner);
		k->waiter = join(k->lock, ":waiter:", owner);
		if (!k->holder || !k->wake || !k->waiter)
			goto oom;
	}
	return 0;
oom:
	redis_keys_clear(k);
	return set_error(err, DLOCK_ENOMEM, "out of memory");
}

char *redis_keys_pattern(const char *prefix, const char *glob)
{
	char *s;

	if (asprintf(&s, "%s{%s}", prefix, glob ? glob : "*") < 0)
		return NULL;
	return s;
}

char *redis_keys_name_of(const char *key, const char *prefix)
{
	size_t plen = strlen(prefix), len = strlen(key);

	if (len < plen + 3 || strncmp(key, prefix, plen) != 0 ||
	    key[plen] != '{' || key[len - 1] != '}')
		return NULL;
	return strndup(key + plen + 1, len - plen - 2);
}
