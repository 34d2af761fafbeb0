/* SPDX-License-Identifier: MIT */
/* How status, list and release --force show locks: text and JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "cmd.h"

static const char *kind_name(int kind)
{
	return kind == DLOCK_SHARED ? "shared" :
	       kind == DLOCK_LIMIT ? "limit" : "exclusive";
}

/* RFC 3339 in UTC with milliseconds, from epoch milliseconds. */
static void rfc3339(int64_t ms, char *buf, size_t size)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* A short human duration: 850ms, 12.3s, 4m05s, 2h13m, 3d04h. */
static void span(int64_t ms, char *buf, size_t size)
{
	if (ms < 0)
		ms = 0;
	if (ms < 1000)
		snprintf(buf, size, "%lldms", (long long)ms);
	else if (ms < 60000)
		snprintf(buf, size, "%.1fs", (double)ms / 1000);
	else if (ms < 3600000)
		snprintf(buf, size, "%lldm%02llds", (long long)(ms / 60000),
			 (long long)(ms / 1000 % 60));
	else if (ms < 86400000)
		snprintf(buf, size, "%lldh%02lldm", (long long)(ms / 3600000),
			 (long long)(ms / 60000 % 60));
	else
		snprintf(buf, size, "%lldd%02lldh", (long long)(ms / 86400000),
			 (long long)(ms / 3600000 % 24));
}

static void json_string(const char *s)
{
	if (!s) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_time(const char *key, int64_t ms)
{
	char when[64];

	if (ms < 0) {
		printf("\"%s_ms\":null,\"%s\":null", key, key);
		return;
	}
	rfc3339(ms, when, sizeof(when));
	printf("\"%s_ms\":%lld,\"%s\":\"%s\"", key, (long long)ms, key, when);
}

/*
 * Renewals reset the expiry to lease + lock delay; less is left only once
 * the lease ran out and the lock delay keeps the lock.
 */
static bool stopped_renewing(const struct dlock_holder *h, int64_t now)
{
	return h->lock_delay_ms > 0 && h->expires_ms >= 0 &&
	       h->expires_ms - now < h->lock_delay_ms;
}

/* Who renews the lease: "by_holder", "by_token", "stopped" or NULL. */
static const char *renewal_name(const struct dlock_holder *h, int64_t now)
{
	if (stopped_renewing(h, now))
		return "stopped";
	if (h->renewal == DLOCK_RENEWAL_HOLDER)
		return "by_holder";
	if (h->renewal == DLOCK_RENEWAL_BY_TOKEN)
		return "by_token";
	return NULL;
}

static void json_holder(const struct dlock_holder *h, int64_t now)
{
	fputs("{\"owner\":", stdout);
	json_string(h->owner);
	fputs(",\"host\":", stdout);
	json_string(h->host);
	if (h->pid > 0)
		printf(",\"pid\":%ld", h->pid);
	else
		fputs(",\"pid\":null", stdout);
	fputs(",\"user\":", stdout);
	json_string(h->user);
	fputs(",\"command\":", stdout);
	json_string(h->command);
	fputs(",\"token\":", stdout);
	json_string(h->token);
	fputs(",\"mode\":", stdout);
	json_string(h->mode);
	putchar(',');
	json_time("since", h->since_ms);
	putchar(',');
	json_time("expires", h->expires_ms);
	if (h->ttl_ms >= 0)
		printf(",\"ttl_ms\":%lld", (long long)h->ttl_ms);
	else
		fputs(",\"ttl_ms\":null", stdout);
	printf(",\"lock_delay_ms\":%lld,\"renewal\":",
	       (long long)h->lock_delay_ms);
	json_string(renewal_name(h, now));
	putchar('}');
}

static void json_status(const struct dlock_status *st)
{
	fputs("{\"name\":", stdout);
	json_string(st->name);
	printf(",\"held\":%s,\"mode\":", st->held ? "true" : "false");
	if (st->held)
		json_string(kind_name(st->kind));
	else
		fputs("null", stdout);
	if (st->held && st->kind == DLOCK_LIMIT)
		printf(",\"limit\":%ld", st->limit);
	else
		fputs(",\"limit\":null", stdout);
	fputs(",\"holders\":[", stdout);
	for (size_t i = 0; i < st->nholders; i++) {
		if (i)
			putchar(',');
		json_holder(&st->holders[i], st->server_now_ms);
	}
	printf("],\"waiters\":%lld,\"first_waiter\":", st->waiters);
	if (st->first_waiter) {
		const struct dlock_holder *w = st->first_waiter_details;

		fputs("{\"owner\":", stdout);
		json_string(st->first_waiter);
		printf(",\"mode\":\"%s\"", kind_name(st->first_waiter_kind));
		fputs(",\"host\":", stdout);
		json_string(w ? w->host : NULL);
		if (w && w->pid > 0)
			printf(",\"pid\":%ld", w->pid);
		else
			fputs(",\"pid\":null", stdout);
		fputs(",\"user\":", stdout);
		json_string(w ? w->user : NULL);
		fputs(",\"command\":", stdout);
		json_string(w ? w->command : NULL);
		putchar(',');
		json_time("since", w ? w->since_ms : -1);
		putchar('}');
	} else {
		fputs("null", stdout);
	}
	printf(",\"lock_delay_in_force\":%s,",
	       st->lock_delay_in_force ? "true" : "false");
	json_time("blocked_until", st->lock_delay_in_force ?
		  st->blocked_until_ms : -1);
	putchar(',');
	json_time("server_time", st->server_now_ms);
	putchar('}');
}

static void text_holder(const struct dlock_holder *h, int64_t now)
{
	char when[64], ago[24], left[24], ttl[24];

	if (h->host)
		printf("  holder:  %s, pid %ld, user %s\n", h->host, h->pid,
		       h->user ? h->user : "?");
	else
		printf("  holder:  a client that left no details (not "
		       "dlock)\n");
	if (h->command && *h->command)
		printf("  command: %s\n", h->command);
	if (h->since_ms >= 0) {
		rfc3339(h->since_ms, when, sizeof(when));
		span(now - h->since_ms, ago, sizeof(ago));
		printf("  since:   %s (%s ago)\n", when, ago);
	}
	if (h->expires_ms >= 0) {
		rfc3339(h->expires_ms, when, sizeof(when));
		span(h->expires_ms - now, left, sizeof(left));
		if (h->ttl_ms >= 0) {
			const char *by = renewal_name(h, now);
			char delay[64] = "";

			span(h->ttl_ms, ttl, sizeof(ttl));
			/* The expiry is the lease's plus the delay's. */
			if (h->lock_delay_ms > 0) {
				strcpy(delay, " + lock-delay ");
				span(h->lock_delay_ms, delay + strlen(delay),
				     sizeof(delay) - strlen(delay));
			}
			/* A lock delay in force has a line of its own. */
			printf("  expires: %s (in %s; lease %s%s%s)\n", when,
			       left, ttl, delay, !by ? "" :
			       strcmp(by, "by_holder") == 0 ?
			       ", renewed by its holder" :
			       strcmp(by, "by_token") == 0 ?
			       ", renewed only by 'dlock renew'" : "");
		} else {
			printf("  expires: %s (in %s)\n", when, left);
		}
	} else {
		printf("  expires: never (no expiry set)\n");
	}
	if (h->token)
		printf("  token:   %s\n", h->token);
	printf("  owner:   %s\n", h->owner);
}

void print_status(const struct dlock_status *st, bool json)
{
	char until[64], left[24];

	if (json) {
		json_status(st);
		putchar('\n');
		return;
	}
	if (!st->held)
		printf("%s: free\n", st->name);
	else if (st->kind == DLOCK_LIMIT)
		printf("%s: held by %zu of %ld (semaphore, --limit %ld)\n",
		       st->name, st->nholders, st->limit, st->limit);
	else if (st->kind == DLOCK_SHARED)
		printf("%s: held shared by %zu\n", st->name, st->nholders);
	else
		printf("%s: held (exclusive)\n", st->name);
	for (size_t i = 0; i < st->nholders; i++)
		text_holder(&st->holders[i], st->server_now_ms);
	if (st->lock_delay_in_force) {
		rfc3339(st->blocked_until_ms, until, sizeof(until));
		span(st->blocked_until_ms - st->server_now_ms, left,
		     sizeof(left));
		printf("lock-delay: the holder stopped renewing; blocked "
		       "until %s (%s)\n", until, left);
	}
	if (st->waiters && st->first_waiter_details &&
	    st->first_waiter_details->host)
		printf("waiters: %lld, first %s, pid %ld, user %s (%s)\n",
		       st->waiters, st->first_waiter_details->host,
		       st->first_waiter_details->pid,
		       st->first_waiter_details->user ?
		       st->first_waiter_details->user : "?",
		       kind_name(st->first_waiter_kind));
	else if (st->waiters)
		printf("waiters: %lld, first %s (%s)\n", st->waiters,
		       st->first_waiter ? st->first_waiter : "?",
		       kind_name(st->first_waiter_kind));
	else
		printf("waiters: none\n");
}

/* The columns of one line of dlock list. */
struct list_row {
	char mode[32];
	char who[300];
	char since[24];
	char left[24];
};

static void list_row(const struct dlock_status *st, struct list_row *r)
{
	const struct dlock_holder *h = &st->holders[0];

	if (st->kind == DLOCK_LIMIT)
		snprintf(r->mode, sizeof(r->mode), "limit %ld", st->limit);
	else
		snprintf(r->mode, sizeof(r->mode), "%s", kind_name(st->kind));
	if (st->nholders > 1)
		snprintf(r->who, sizeof(r->who), "%zu holders", st->nholders);
	else if (h->host)
		snprintf(r->who, sizeof(r->who), "%s:%ld", h->host, h->pid);
	else
		snprintf(r->who, sizeof(r->who), "(not dlock)");
	snprintf(r->since, sizeof(r->since), "-");
	snprintf(r->left, sizeof(r->left), "-");
	if (h->since_ms >= 0)
		span(st->server_now_ms - h->since_ms, r->since,
		     sizeof(r->since));
	if (h->expires_ms >= 0)
		span(h->expires_ms - st->server_now_ms, r->left,
		     sizeof(r->left));
}

static int wider(int width, const char *s)
{
	int len = (int)strlen(s);

	return len > width ? len : width;
}

void print_list(struct dlock_status *const *all, size_t n, bool header)
{
	int name_w = 24, mode_w = 9, who_w = 28;
	struct list_row *rows = calloc(n + 1, sizeof(*rows));

	if (!rows) {
		errorf("out of memory");
		return;
	}
	/* A long name widens its column rather than push the others. */
	for (size_t i = 0; i < n; i++) {
		list_row(all[i], &rows[i]);
		name_w = wider(name_w, all[i]->name);
		mode_w = wider(mode_w, rows[i].mode);
		who_w = wider(who_w, rows[i].who);
	}
	if (header)
		printf("%-*s %-*s %-*s %-8s %-8s %s\n", name_w, "NAME", mode_w,
		       "MODE", who_w, "HOLDER", "HELD", "LEFT", "WAITERS");
	for (size_t i = 0; i < n; i++)
		printf("%-*s %-*s %-*s %-8s %-8s %lld\n", name_w, all[i]->name,
		       mode_w, rows[i].mode, who_w, rows[i].who,
		       rows[i].since, rows[i].left, all[i]->waiters);
	free(rows);
}

void report_eviction(const struct dlock_status *evicted)
{
	openlog("dlock", LOG_PID, LOG_USER);
	if (!evicted->nholders) {
		printf("%s: was free; nothing to evict\n", evicted->name);
		syslog(LOG_NOTICE, "release --force of lock '%s': it was free",
		       evicted->name);
	}
	for (size_t i = 0; i < evicted->nholders; i++) {
		const struct dlock_holder *h = &evicted->holders[i];
		char who[600];

		if (h->host)
			snprintf(who, sizeof(who), "%s, pid %ld, user %s, "
				 "running '%s' (owner %s)", h->host, h->pid,
				 h->user ? h->user : "?",
				 h->command ? h->command : "", h->owner);
		else
			snprintf(who, sizeof(who), "a client that left no "
				 "details (owner %s)", h->owner);
		printf("%s: evicted %s\n", evicted->name, who);
		syslog(LOG_NOTICE, "release --force of lock '%s' evicted %s",
		       evicted->name, who);
	}
	closelog();
}
