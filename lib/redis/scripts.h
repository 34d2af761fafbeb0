/* SPDX-License-Identifier: MIT */
/*
 * The Lua scripts: every read-modify-write of a lock is one of them, so it
 * is atomic on the server. Their texts are in lib/redis/scripts/, each with
 * its KEYS and ARGV, embedded at build time.
 *
 * Keys of lock NAME share the hash tag {NAME}, so Redis Cluster keeps them
 * in one slot:
 *   <prefix>{NAME}                 exclusive holder: owner token, with PX
 *   <prefix>{NAME}:fence           fencing counter
 *   <prefix>{NAME}:holder:<owner>  holder metadata (hash), expires with it
 *   <prefix>{NAME}:queue           waiters' owner tokens in arrival order
 *   <prefix>{NAME}:waiters         waiter -> heartbeat deadline, server ms
 *   <prefix>{NAME}:w:<owner>       a waiter's wake-up list (BLPOP)
 *
 * The queue is a list and the deadlines a hash, so a handoff costs the
 * same whatever the number of waiters: the releasing script drops dead
 * waiters at the head, then hands the lock to the first live one (or
 * pushes it a wake-up, for a waiter that takes no grants).
 */
#ifndef DLOCK_SCRIPTS_H
#define DLOCK_SCRIPTS_H

#include "conn.h"

/*
 * A waiter shows it is alive every HEARTBEAT_MS, with one script call and
 * one BLPOP (issue 16: an idle waiter sends at most one request every 2
 * s); one that stops, killed with -9 say, holds up the queue for the
 * heartbeat window at most, plus its lock-delay if a release handed it
 * the lock in that time. The scripts take the window as text.
 */
#define HEARTBEAT_MS 4000
#define HEARTBEAT_WINDOW_MS 6000
#define TEXT_OF(x) #x
#define NUMBER_TEXT(x) TEXT_OF(x)
#define HEARTBEAT_WINDOW_TEXT NUMBER_TEXT(HEARTBEAT_WINDOW_MS)

struct script;

extern struct script script_acquire;
extern struct script script_renew;
extern struct script script_release;
extern struct script script_leave;
extern struct script script_inspect;
extern struct script script_force_release;
extern struct script script_fence_raise;

/* The script's SHA-1, for pipelining EVALSHA calls. */
const char *script_sha(struct script *s);

/* The script's text, for EVAL where the server surely lacks it. */
const char *script_body(struct script *s);

/*
 * The command line of a script call into argv (room for max entries):
 * EVALSHA, or EVAL with the script's text when eval. numkeys is the
 * caller's buffer for the key count. Returns argc, or -1 when it does not
 * fit.
 */
int script_argv(struct script *s, bool eval, int nkeys,
		const char *const *keys, int nargs, const char *const *args,
		const char **argv, int max, char numkeys[12]);

/* Whether r is the NOSCRIPT error: the server lacks the script's text. */
bool script_missing(const redisReply *r);

/*
 * Runs a script by EVALSHA, falling back to EVAL when the server does not
 * have it cached. Returns 0 with the reply, which may be an error reply;
 * cancel_fd is as for conn_call().
 */
int script_run(struct conn *c, struct script *s, int nkeys,
	       const char **keys, int nargs, const char **args,
	       int64_t deadline, int cancel_fd, redisReply **reply,
	       struct dlock_error *err);

/*
 * The same, followed in the same round trip by WAIT for that many
 * replicas (none: script_run()), whose reply goes to *wait_reply. A wait
 * for replicas cannot be cancelled: its time-out ends it within deadline.
 */
int script_run_wait(struct conn *c, struct script *s, int nkeys,
		    const char **keys, int nargs, const char **args,
		    long replicas, int64_t deadline, int cancel_fd,
		    redisReply **reply, redisReply **wait_reply,
		    struct dlock_error *err);

#endif
