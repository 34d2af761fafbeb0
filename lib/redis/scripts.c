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

static int run_once(struct conn *c, const char *verb, const char *first,
		    int nkeys, const char **keys, int nargs, const char **args,
		    int64_t deadline, int cancel_fd, redisReply **reply,
		    struct dlock_error *err)
{
	const char *argv[32];
	char numkeys[12];
	int argc = 0;

	if (3 + nkeys + nargs > (int)ARRAY_SIZE(argv))
		return set_error(err, DLOCK_EUSAGE, "too many script arguments");
	snprintf(numkeys, sizeof(numkeys), "%d", nkeys);
	argv[argc++] = verb;
	argv[argc++] = first;
	argv[argc++] = numkeys;
	for (int i = 0; i < nkeys; i++)
		argv[argc++] = keys[i];
	for (int i = 0; i < nargs; i++)
		argv[argc++] = args[i];
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
