/* SPDX-License-Identifier: MIT */
/* The client: settings, hooks, and the calls that go straight through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

int client_new_on(const struct backend_ops *ops,
		  const struct dlock_config *cfg, struct dlock **out,
		  struct dlock_error *err)
{
	struct dlock *d;
	int rc;

	if (!cfg->resolved)
		return set_error(err, DLOCK_EUSAGE, "configuration not resolved");
	if (ops->version != BACKEND_OPS_VERSION)
		return set_error(err, DLOCK_EUSAGE, "the %s backend was built "
				 "for another version of dlock", ops->name);
	d = calloc(1, sizeof(*d));
	if (!d)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	d->cfg = cfg;
	d->ops = ops;
	d->cancel_fd = -1;
	rc = ops->session_open(cfg, &d->session, err);
	if (rc) {
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int dlock_new(const struct dlock_config *cfg, struct dlock **out,
	      struct dlock_error *err)
{
	const struct backend_ops *ops;
	int rc;

	if (!cfg->resolved)
		return set_error(err, DLOCK_EUSAGE, "configuration not resolved");
	rc = backend_for(cfg, &ops, err);
	return rc ? rc : client_new_on(ops, cfg, out, err);
}

void dlock_free(struct dlock *d)
{
	if (!d)
		return;
	if (d->session)
		d->ops->session_close(d->session);
	free(d);
}

void dlock_set_log(struct dlock *d, dlock_log_fn *fn, void *arg)
{
	d->log = fn;
	d->log_arg = arg;
}

void dlock_set_progress(struct dlock *d, dlock_progress_fn *fn, void *arg)
{
	d->progress = fn;
	d->progress_arg = arg;
}

void dlock_set_cancel_fd(struct dlock *d, int cancel_fd)
{
	d->cancel_fd = cancel_fd;
}

struct session *client_session(struct dlock *d, struct dlock_error *err)
{
	if (!d->session)
		set_error(err, DLOCK_EUSAGE, "the client's session is in use "
			  "by a lease thread");
	return d->session;
}

int dlock_connect(struct dlock *d, struct dlock_error *err)
{
	struct session *s;

	s = client_session(d, err);
	if (!s)
		return DLOCK_EUSAGE;
	return d->ops->connect(s, err);
}

int dlock_status_get(struct dlock *d, const char *name,
		     struct dlock_status **out, struct dlock_error *err)
{
	struct session *s;

	if (dlock_check_name(name, err))
		return DLOCK_EUSAGE;
	s = client_session(d, err);
	if (!s)
		return DLOCK_EUSAGE;
	return d->ops->status(s, name, out, err);
}

int dlock_list(struct dlock *d, const char *glob, struct dlock_status ***out,
	       size_t *count, struct dlock_error *err)
{
	struct session *s;

	*out = NULL;
	*count = 0;
	if (glob && dlock_check_glob(glob, err))
		return DLOCK_EUSAGE;
	s = client_session(d, err);
	if (!s)
		return DLOCK_EUSAGE;
	return d->ops->list(s, glob, out, count, err);
}

static int check_owner(const char *owner, struct dlock_error *err)
{
	size_t len = strlen(owner);

	for (size_t i = 0; i < len; i++)
		if (!((owner[i] >= '0' && owner[i] <= '9') ||
		      (owner[i] >= 'a' && owner[i] <= 'f')))
			len = 0;
	if (len != 2 * OWNER_BYTES)
		return set_error(err, DLOCK_EUSAGE,
				 "invalid owner token '%.40s': it is the 32 "
				 "hex digits 'dlock acquire' printed", owner);
	return 0;
}

int dlock_renew_owner(struct dlock *d, const char *name, const char *owner,
		      int64_t ttl_ms, struct dlock_error *err)
{
	struct session *s;

	if (check_owner(owner, err) || dlock_check_name(name, err))
		return DLOCK_EUSAGE;
	s = client_session(d, err);
	if (!s)
		return DLOCK_EUSAGE;
	return d->ops->renew_owner(s, name, owner, ttl_ms, err);
}

int dlock_release_owner(struct dlock *d, const char *name, const char *owner,
			struct dlock_error *err)
{
	struct session *s;

	if (check_owner(owner, err) || dlock_check_name(name, err))
		return DLOCK_EUSAGE;
	s = client_session(d, err);
	if (!s)
		return DLOCK_EUSAGE;
	return d->ops->release_owner(s, name, owner, err);
}

int dlock_force_release(struct dlock *d, const char *name,
			struct dlock_status **evicted,
			struct dlock_error *err)
{
	struct session *s;

	if (dlock_check_name(name, err))
		return DLOCK_EUSAGE;
	s = client_session(d, err);
	if (!s)
		return DLOCK_EUSAGE;
	return d->ops->force_release(s, name, evicted, err);
}

int dlock_doctor_run(const struct dlock_config *cfg, size_t index,
		     struct dlock_doctor_report *report,
		     struct dlock_error *err)
{
	const struct backend_ops *ops;
	int rc;

	report->count = 0;
	rc = cfg->resolved ? backend_for_url(cfg, index, &ops, err) :
	     set_error(err, DLOCK_EUSAGE, "configuration not resolved");
	if (rc) {
		struct dlock_doctor_check *c = &report->checks[report->count++];

		c->level = DLOCK_DOCTOR_FAIL;
		snprintf(c->what, sizeof(c->what), "connect");
		snprintf(c->text, sizeof(c->text), "%s", err->msg);
		return rc;
	}
	return ops->doctor(cfg, index, report, err);
}

void holder_clear(struct dlock_holder *h)
{
	free(h->owner);
	free(h->host);
	free(h->user);
	free(h->command);
	free(h->token);
	free(h->mode);
	memset(h, 0, sizeof(*h));
}

void dlock_status_free(struct dlock_status *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nholders; i++)
		holder_clear(&st->holders[i]);
	free(st->holders);
	if (st->first_waiter_details)
		holder_clear(st->first_waiter_details);
	free(st->first_waiter_details);
	free(st->name);
	free(st->first_waiter);
	free(st);
}

size_t dlock_doctor_problems(const struct dlock_doctor_report *report)
{
	size_t n = 0;

	for (size_t i = 0; i < report->count; i++)
		n += report->checks[i].level >= DLOCK_DOCTOR_WARN;
	return n;
}

const char *dlock_doctor_level_name(int level)
{
	static const char *const names[] = { "ok", "note", "warn", "fail" };

	if (level < 0 || level >= (int)ARRAY_SIZE(names))
		return "?";
	return names[level];
}
