/* SPDX-License-Identifier: MIT */
/*
 * What the lease thread watches between renewals: the connection the
 * lease is renewed on, and which instance of the server is on the other
 * end. A server picks a new run_id at each start, so a run_id that changed
 * across a reconnect tells a restart (which may have lost the lock) from a
 * connection that merely broke. It is asked on the lease thread, never on
 * the acquire path: once when the lease starts, then along with the first
 * renewal on each new connection (calls.c: call_renew_identify).
 */
#include <string.h>

#include "redis.h"

static bool is_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

bool redis_parse_run_id(const char *text, size_t len,
			char out[RUN_ID_LEN + 1])
{
	static const char key[] = "run_id:";
	const size_t klen = sizeof(key) - 1;

	for (size_t i = 0; i + klen <= len; i++) {
		const char *v = text + i + klen;
		size_t n = 0;

		/* A field starts a line: "xrun_id:" would be another field. */
		if ((i > 0 && text[i - 1] != '\n') ||
		    memcmp(text + i, key, klen) != 0)
			continue;
		while (i + klen + n < len && n <= RUN_ID_LEN && is_hex(v[n]))
			n++;
		if (n != RUN_ID_LEN || (i + klen + n < len &&
					v[n] != '\r' && v[n] != '\n'))
			return false;
		memcpy(out, v, RUN_ID_LEN);
		out[RUN_ID_LEN] = '\0';
		return true;
	}
	return false;
}

bool session_wants_run_id(const struct session *s, const struct conn *c)
{
	return s->watching && !s->no_run_id && !conn_identified(c);
}

void session_learn_run_id(struct session *s, struct conn *c,
			  const redisReply *r)
{
	char id[RUN_ID_LEN + 1];

	conn_set_identified(c);
	/*
	 * NOPERM (an ACL without INFO), a renamed INFO, a proxy or a
	 * Redis-like server without run_id: no comparison, ever. A restart
	 * that lost the lock is still found, by the lock being gone.
	 */
	if (r->type != REDIS_REPLY_STRING ||
	    !redis_parse_run_id(r->str, r->len, id)) {
		s->no_run_id = true;
		s->run_id[0] = '\0';
		return;
	}
	if (s->run_id[0] && strcmp(s->run_id, id) != 0)
		s->restarted = true;
	memcpy(s->run_id, id, sizeof(id));
}

int redis_lease_watch(struct session *s, struct dlock_lock *lock,
		      int64_t deadline, int cancel_fd, struct lease_watch *w,
		      struct dlock_error *err)
{
	const char *argv[] = { "INFO", "server" };
	redisReply *r = NULL;
	struct conn *c;
	int rc;

	w->fd = -1;
	w->restarted = false;
	s->watching = true;
	rc = session_node(s, lock->impl->keys.lock, deadline, &c, err);
	if (rc)
		return rc;
	if (session_wants_run_id(s, c)) {
		rc = conn_call(c, deadline, cancel_fd, (int)ARRAY_SIZE(argv),
			       argv, NULL, &r, err);
		if (rc) {
			session_drop(s, c);
			return rc;
		}
		s->reached = true;
		session_learn_run_id(s, c, r);
		freeReplyObject(r);
	}
	w->fd = conn_fd(c);
	w->restarted = s->restarted;
	s->restarted = false;
	return 0;
}
