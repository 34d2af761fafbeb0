/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "scripts.h"

/*
 * Each script is common.lua followed by its own file in lib/redis/scripts/,
 * where its KEYS and ARGV are written down. The Makefile embeds the texts
 * with their SHA-1s, computed at build time, in lua_scripts.c: lua_NAME and
 * lua_NAME_sha for scripts/NAME.lua.
 */
#include "lua_scripts.c"

struct script {
	const char *body;
	const char *sha;
};

struct script script_acquire = { lua_acquire, lua_acquire_sha };
struct script script_renew = { lua_renew, lua_renew_sha };
struct script script_release = { lua_release, lua_release_sha };
struct script script_leave = { lua_leave, lua_leave_sha };
struct script script_inspect = { lua_inspect, lua_inspect_sha };
struct script script_force_release = { lua_force_release,
				       lua_force_release_sha };
struct script script_fence_raise = { lua_fence_raise, lua_fence_raise_sha };

#define SCRIPT_ARGV_MAX 32

/* Fills argv with an EVAL or EVALSHA command line; returns its argc. */
static int command_argv(const char *argv[SCRIPT_ARGV_MAX], char numkeys[12],
			const char *verb, const char *first, int nkeys,
			const char **keys, int nargs, const char **args)
{
	int argc = 0;

	snprintf(numkeys, 12, "%d", nkeys);
	argv[argc++] = verb;
	argv[argc++] = first;
	argv[argc++] = numkeys;
	for (int i = 0; i < nkeys; i++)
		argv[argc++] = keys[i];
	for (int i = 0; i < nargs; i++)
		argv[argc++] = args[i];
	return argc;
}

static int run_once(struct conn *c, const char *verb, const char *first,
		    int nkeys, const char **keys, int nargs, const char **args,
		    int64_t deadline, int cancel_fd, redisReply **reply,
		    struct dlock_error *err)
{
	const char *argv[SCRIPT_ARGV_MAX];
	char numkeys[12];
	int argc;

	if (3 + nkeys + nargs > (int)ARRAY_SIZE(argv))
		return set_error(err, DLOCK_EUSAGE, "too many script arguments");
	argc = command_argv(argv, numkeys, verb, first, nkeys, keys, nargs,
			   args);
	return conn_call(c, deadline, cancel_fd, argc, argv, NULL, reply, err);
}

const char *script_sha(struct script *s)
{
	return s->sha;
}

const char *script_body(struct script *s)
{
	return s->body;
}

int script_run(struct conn *c, struct script *s, int nkeys,
	       const char **keys, int nargs, const char **args,
	       int64_t deadline, int cancel_fd, redisReply **reply,
	       struct dlock_error *err)
{
	int rc;

	rc = run_once(c, "EVALSHA", script_sha(s), nkeys, keys, nargs, args,
		      deadline, cancel_fd, reply, err);
	if (rc || (*reply)->type != REDIS_REPLY_ERROR ||
	    strncmp((*reply)->str, "NOSCRIPT", 8) != 0)
		return rc;
	freeReplyObject(*reply);
	*reply = NULL;
	return run_once(c, "EVAL", s->body, nkeys, keys, nargs, args,
			deadline, cancel_fd, reply, err);
}

int script_argv(struct script *s, bool eval, int nkeys,
		const char *const *keys, int nargs, const char *const *args,
		const char **argv, int max, char numkeys[12])
{
	int argc = 0;

	if (3 + nkeys + nargs > max)
		return -1;
	snprintf(numkeys, 12, "%d", nkeys);
	argv[argc++] = eval ? "EVAL" : "EVALSHA";
	argv[argc++] = eval ? s->body : s->sha;
	argv[argc++] = numkeys;
	for (int i = 0; i < nkeys; i++)
		argv[argc++] = keys[i];
	for (int i = 0; i < nargs; i++)
		argv[argc++] = args[i];
	return argc;
}

bool script_missing(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR &&
	       strncmp(r->str, "NOSCRIPT", 8) == 0;
}

#define WAIT_MIN_MS 150

/*
 * The script and WAIT in one pipeline, so that WAIT asks for the replicas
 * of this very write. WAIT's time-out is within the deadline, with room
 * left for its answer to arrive.
 */
static int run_then_wait(struct conn *c, const char *verb, const char *first,
			 int nkeys, const char **keys, int nargs,
			 const char **args, long replicas, int64_t deadline,
			 redisReply **reply, redisReply **wait_reply,
			 struct dlock_error *err)
{
	const char *script[SCRIPT_ARGV_MAX];
	char numkeys[12], n[24], timeout[24];
	const char *wait[] = { "WAIT", n, timeout };
	const char **argvs[] = { script, wait };
	int argcs[2], left = ms_until(deadline), wait_ms, rc;
	redisReply *r[2];

	if (3 + nkeys + nargs > SCRIPT_ARGV_MAX)
		return set_error(err, DLOCK_EUSAGE, "too many script arguments");
	/* Without the time for WAIT, the write would count for nothing. */
	if (left >= 0 && left < WAIT_MIN_MS)
		return set_error(err, DLOCK_ECONN, "%s: %d ms left, too little "
				 "for replicas to confirm a write",
				 conn_display(c), left);
	argcs[0] = command_argv(script, numkeys, verb, first, nkeys, keys,
				nargs, args);
	argcs[1] = 3;
	snprintf(n, sizeof(n), "%ld", replicas);
	/*
	 * The server looks at WAIT's time-out on its cron tick (100 ms at
	 * the default hz 10), then the answer travels: a quarter and 110 ms
	 * are left for both. WAIT 0 would wait forever.
	 */
	wait_ms = left < 0 ? 1000 : left - left / 4 - 110;
	snprintf(timeout, sizeof(timeout), "%d", wait_ms > 0 ? wait_ms : 1);
	rc = conn_pipeline(c, deadline, 2, argcs, argvs, r, err);
	if (rc) {
		/*
		 * Said first, as the reason most likely: WAIT holds the
		 * answer back until replicas confirm or its time-out ends.
		 */
		char cause[DLOCK_ERRMSG_MAX];

		snprintf(cause, sizeof(cause), "%s", err->msg);
		return set_error(err, rc, "waiting for replicas to confirm "
				 "(WAIT %ld %s): %s", replicas, timeout, cause);
	}
	*reply = r[0];
	*wait_reply = r[1];
	return 0;
}

int script_run_wait(struct conn *c, struct script *s, int nkeys,
		    const char **keys, int nargs, const char **args,
		    long replicas, int64_t deadline, int cancel_fd,
		    redisReply **reply, redisReply **wait_reply,
		    struct dlock_error *err)
{
	int rc;

	*wait_reply = NULL;
	if (replicas <= 0)
		return script_run(c, s, nkeys, keys, nargs, args, deadline,
				  cancel_fd, reply, err);
	rc = run_then_wait(c, "EVALSHA", script_sha(s), nkeys, keys, nargs,
			   args, replicas, deadline, reply, wait_reply, err);
	if (rc || (*reply)->type != REDIS_REPLY_ERROR ||
	    strncmp((*reply)->str, "NOSCRIPT", 8) != 0)
		return rc;
	/* Nothing was written, so that WAIT returned at once. */
	freeReplyObject(*reply);
	freeReplyObject(*wait_reply);
	*reply = *wait_reply = NULL;
	return run_then_wait(c, "EVAL", s->body, nkeys, keys, nargs, args,
			     replicas, deadline, reply, wait_reply, err);
}
