/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "transport.h"

struct conn {
	struct transport *t;
	redisReader *reader;
	const struct url *url;
	const char *user;
	const char *password;
	bool broken;
	bool identified;
	void (*tick)(void *arg);
	void *tick_arg;
	int tick_ms;
	/* hiredis's reply builders, with a bound on arrays (bounded_array) */
	redisReplyObjectFunctions builders;
	void *(*create_array)(const redisReadTask *task, int elements);
	bool array_too_long;
	conn_redirect_fn *redirect;
	void *redirect_arg;
	/* A request in flight without blocking (conn_start, conn_advance). */
	char *out;
	size_t out_len, out_sent, in_fed;
	short want;
};

/*
 * More redirections than a slot migration makes (one ASK, then MOVED):
 * two nodes that send us to each other must not keep us for the whole
 * deadline without a word.
 */
#define REDIRECTS_MAX 64

/*
 * More elements than any reply dlock asks for (a semaphore's status has
 * at most DLOCK_LIMIT_MAX holders). hiredis 0.14 would allocate a
 * pointer for each element announced, before any of them arrives.
 */
#define ARRAY_ELEMENTS_MAX 1000000

static void *bounded_array(const redisReadTask *task, int elements)
{
	struct conn *c = task->privdata;

	if (elements > ARRAY_ELEMENTS_MAX) {
		c->array_too_long = true;
		return NULL;	/* the reader fails: "out of memory" */
	}
	return c->create_array(task, elements);
}

void conn_set_tick(struct conn *c, void (*fn)(void *arg), void *arg,
		   int every_ms)
{
	c->tick = fn;
	c->tick_arg = arg;
	c->tick_ms = every_ms;
}

const char *conn_display(const struct conn *c)
{
	return c->url->display;
}

static int io_failed(struct conn *c, struct dlock_error *err, int code,
		     const char *what)
{
	c->broken = true;
	if (code == DLOCK_ETIMEDOUT)
		return set_error(err, DLOCK_ECONN,
				 "%s did not answer in time (%s)%s",
				 c->url->display, what, c->url->tls ? "" :
				 "; if it is a TLS port, use rediss://");
	/* TLS 1.3 refuses a missing client certificate after the handshake. */
	return set_error(err, code, "connection to %s lost (%s): %s%s",
			 c->url->display, what, strerror(errno),
			 c->url->tls ? "; if the server wants a client "
			 "certificate, give --tls-cert and --tls-key" : "");
}

/*
 * Waits for the transport's event or cancel_fd. Returns 0 when the
 * transport is ready, or a DLOCK_E* code.
 */
static int wait_ready(struct conn *c, short want, int64_t deadline,
		      int cancel_fd)
{
	struct pollfd pfd[2] = {
		{ .fd = c->t->fd, .events = want },
		{ .fd = cancel_fd, .events = POLLIN },
	};
	bool ticking = cancel_fd >= 0 && c->tick;
	int rc;

	for (;;) {
		int timeout = ms_until(deadline);

		if (ticking && (timeout < 0 || timeout > c->tick_ms))
			timeout = c->tick_ms;
		rc = poll(pfd, cancel_fd >= 0 ? 2 : 1, timeout);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return DLOCK_ESYS;
		if (rc == 0 && ticking && ms_until(deadline) != 0) {
			c->tick(c->tick_arg);
			continue;
		}
		if (rc == 0)
			return DLOCK_ETIMEDOUT;
		if (cancel_fd >= 0 && (pfd[1].revents & POLLIN))
			return DLOCK_ECANCELED;
		return 0;
	}
}

static int send_all(struct conn *c, const char *buf, size_t len,
		    int64_t deadline, struct dlock_error *err)
{
	while (len) {
		short want = 0;
		ssize_t n = c->t->ops->send(c->t, buf, len, &want);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && want) {
			int rc = wait_ready(c, want, deadline, -1);

			if (rc)
				return io_failed(c, err, rc, "sending");
			continue;
		}
		return io_failed(c, err, DLOCK_ECONN, "sending");
	}
	return 0;
}

/*
 * No reply dlock asks for comes near this: a server that sends more is
 * not answering our question, and must not make us hold it all.
 */
#define REPLY_BYTES_MAX (16 << 20)

/*
 * Gives n bytes from the server to the reply parser, bounding what one
 * reply may take: *fed counts the bytes of the reply so far.
 */
static int feed(struct conn *c, const char *buf, size_t n, size_t *fed,
		struct dlock_error *err)
{
	*fed += n;
	if (*fed > REPLY_BYTES_MAX) {
		c->broken = true;
		return set_error(err, DLOCK_ECONN, "%s sent a reply of over "
				 "%d MiB; is it a Redis server?",
				 c->url->display, REPLY_BYTES_MAX >> 20);
	}
	redisReaderFeed(c->reader, buf, n);
	return 0;
}

static int read_reply(struct conn *c, int64_t deadline, int cancel_fd,
		      redisReply **reply, struct dlock_error *err)
{
	char buf[16384];
	size_t fed = 0;

	for (;;) {
		void *r = NULL;
		short want = 0;
		ssize_t n;

		if (redisReaderGetReply(c->reader, &r) != REDIS_OK) {
			c->broken = true;
			if (c->array_too_long)
				return set_error(err, DLOCK_ECONN, "%s sent "
						 "an array of over %d elements; "
						 "is it a Redis server?",
						 c->url->display,
						 ARRAY_ELEMENTS_MAX);
			return set_error(err, DLOCK_ECONN,
					 "%s sent something that is not "
					 "Redis protocol: %s; is it a Redis "
					 "server?", c->url->display,
					 c->reader->errstr);
		}
		if (r) {
			*reply = r;
			return 0;
		}
		/* A server that never stops talking is no answer either. */
		if (fed && deadline != NO_DEADLINE && now_ms() >= deadline)
			return io_failed(c, err, DLOCK_ETIMEDOUT, "reading");
		n = c->t->ops->recv(c->t, buf, sizeof(buf), &want);
		if (n > 0) {
			int rc = feed(c, buf, (size_t)n, &fed, err);

			if (rc)
				return rc;
			continue;
		}
		if (n == 0) {
			errno = ECONNRESET;
			return io_failed(c, err, DLOCK_ECONN, "reading");
		}
		if (!want)
			return io_failed(c, err, DLOCK_ECONN, "reading");
		n = wait_ready(c, want, deadline, cancel_fd);
		if (n == DLOCK_ECANCELED) {
			c->broken = true;
			return set_error(err, DLOCK_ECANCELED, "canceled");
		}
		if (n)
			return io_failed(c, err, (int)n, "reading");
	}
}

bool conn_broken(const struct conn *c)
{
	return c->broken;
}

void conn_set_redirect(struct conn *c, conn_redirect_fn *fn, void *arg)
{
	c->redirect = fn;
	c->redirect_arg = arg;
}

/* ASKING's own reply comes first and must be +OK, or we are out of step. */
static int read_asking(struct conn *c, int64_t deadline,
		       struct dlock_error *err)
{
	redisReply *r = NULL;
	int rc = read_reply(c, deadline, -1, &r, err);
	bool good = !rc && r->type == REDIS_REPLY_STATUS &&
		    strcmp(r->str, "OK") == 0;

	freeReplyObject(r);
	if (rc)
		return rc;
	if (good)
		return 0;
	c->broken = true;
	return set_error(err, DLOCK_ESERVER, "%s did not accept ASKING during "
			 "a slot migration", c->url->display);
}

static int call_once(struct conn *c, int64_t deadline, int cancel_fd,
		     bool asking, const char *cmd, size_t len,
		     redisReply **reply, struct dlock_error *err)
{
	static const char asking_cmd[] = "*1\r\n$6\r\nASKING\r\n";
	int rc;

	if (c->broken)
		return set_error(err, DLOCK_ECONN, "connection to %s is broken",
				 c->url->display);
	/* ASKING and the command in one round trip. */
	if (asking) {
		rc = send_all(c, asking_cmd, sizeof(asking_cmd) - 1, deadline,
			      err);
		if (rc)
			return rc;
	}
	rc = send_all(c, cmd, len, deadline, err);
	if (!rc && asking)
		rc = read_asking(c, deadline, err);
	if (rc)
		return rc;
	return read_reply(c, deadline, cancel_fd, reply, err);
}

/*
 * Follows the redirect hook: the same command on the connection it names,
 * with c's tick lent for a blocking command, until a reply needs none.
 */
static int call_redirected(struct conn *c, int64_t deadline, int cancel_fd,
			   const char *cmd, size_t len, redisReply **reply,
			   struct dlock_error *err)
{
	struct conn *at = c;
	bool asking = false;
	int rc;

	for (int hops = 0;;) {
		struct conn *next = NULL;

		if (at != c)
			conn_set_tick(at, c->tick, c->tick_arg, c->tick_ms);
		rc = call_once(at, deadline, cancel_fd, asking, cmd, len,
			       reply, err);
		if (at != c)
			conn_set_tick(at, NULL, NULL, 0);
		if (rc || !at->redirect || hops >= REDIRECTS_MAX ||
		    (*reply)->type != REDIS_REPLY_ERROR)
			return rc;
		/* A retry on the same node keeps its ASKING: see conn.h. */
		rc = at->redirect(at->redirect_arg, at, *reply, deadline,
				  &next, &asking, err);
		if (!rc && !next)
			return 0;
		freeReplyObject(*reply);
		*reply = NULL;
		if (rc)
			return rc;
		/* Waits on one node are bounded by the deadline instead. */
		if (next != at)
			hops++;
		at = next;
	}
}

int conn_call(struct conn *c, int64_t deadline, int cancel_fd, int argc,
	      const char **argv, const size_t *lens, redisReply **reply,
	      struct dlock_error *err)
{
	char *cmd = NULL;
	int len, rc;

	*reply = NULL;
	if (c->broken)
		return set_error(err, DLOCK_ECONN, "connection to %s is broken",
				 c->url->display);
	len = redisFormatCommandArgv(&cmd, argc, argv, lens);
	if (len < 0)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	rc = call_redirected(c, deadline, cancel_fd, cmd, (size_t)len, reply,
			     err);
	/* AUTH carries a password: do not leave it in freed memory. */
	explicit_bzero(cmd, (size_t)len);
	redisFreeCommand(cmd);
	return rc;
}

int conn_pipeline(struct conn *c, int64_t deadline, size_t n,
		  const int *argcs, const char ***argvs,
		  redisReply **replies, struct dlock_error *err)
{
	return conn_pipeline_cancel(c, deadline, -1, n, argcs, argvs, replies,
				    err);
}

int conn_pipeline_cancel(struct conn *c, int64_t deadline, int cancel_fd,
			 size_t n, const int *argcs, const char ***argvs,
			 redisReply **replies, struct dlock_error *err)
{
	char *buf = NULL;
	size_t len = 0, i;
	int rc = 0;

	for (i = 0; i < n; i++)
		replies[i] = NULL;
	if (c->broken)
		return set_error(err, DLOCK_ECONN, "connection to %s is broken",
				 c->url->display);
	for (i = 0; i < n; i++) {
		char *cmd = NULL, *grown;
		int clen = redisFormatCommandArgv(&cmd, argcs[i], argvs[i],
						  NULL);

		if (clen < 0 || !(grown = realloc(buf, len + (size_t)clen))) {
			redisFreeCommand(cmd);
			free(buf);
			return set_error(err, DLOCK_ENOMEM, "out of memory");
		}
		buf = grown;
		memcpy(buf + len, cmd, (size_t)clen);
		len += (size_t)clen;
		redisFreeCommand(cmd);
	}
	rc = send_all(c, buf, len, deadline, err);
	free(buf);
	for (i = 0; i < n && !rc; i++)
		rc = read_reply(c, deadline, cancel_fd, &replies[i], err);
	if (rc)
		for (i = 0; i < n; i++) {
			freeReplyObject(replies[i]);
			replies[i] = NULL;
		}
	return rc;
}

int conn_fd(const struct conn *c)
{
	return c->t->fd;
}

bool conn_stale(const struct conn *c)
{
	struct pollfd pfd = { .fd = c->t->fd, .events = POLLIN };
	int rc;

	if (c->broken)
		return true;
	do
		rc = poll(&pfd, 1, 0);
	while (rc < 0 && errno == EINTR);
	/* Nothing is asked on an idle connection: any event is bad news. */
	return rc != 0;
}

bool conn_identified(const struct conn *c)
{
	return c->identified;
}

void conn_set_identified(struct conn *c)
{
	c->identified = true;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int reply_error(const struct conn *c, const redisReply *r, const char *what,
		struct dlock_error *err)
{
	const char *m, *url = c->url->display;
	const char *user = c->user ? c->user : "default";

	if (r->type != REDIS_REPLY_ERROR)
		return 0;
	m = r->str;
	/* Redis 7 cuts unauthenticated clients off at the protocol level. */
	if (starts_with(m, "NOAUTH") ||
	    starts_with(m, "ERR Protocol error: unauthenticated"))
		return set_error(err, DLOCK_EAUTH,
				 "%s requires a password; set DLOCK_PASSWORD "
				 "or --password-file", url);
	if (starts_with(m, "WRONGPASS") || starts_with(m, "ERR invalid password") ||
	    starts_with(m, "ERR invalid username-password"))
		return set_error(err, DLOCK_EAUTH,
				 "%s refused user '%s': wrong user name or "
				 "password", url, user);
	if (strstr(m, "without any password configured") ||
	    starts_with(m, "ERR Client sent AUTH, but no password is set"))
		return set_error(err, DLOCK_EAUTH,
				 "a password was given but %s has none set; "
				 "remove the password setting", url);
	/* Inside a script, Redis 7 words a refusal this way. */
	if (starts_with(m, "NOPERM") ||
	    strstr(m, "user executing the script can't") ||
	    strstr(m, "No permissions to access"))
		return set_error(err, DLOCK_EAUTH,
				 "%s: user '%s' may not %s: %s; see the ACL "
				 "rule in dlock(1)", url, user, what, m);
	if (starts_with(m, "ERR DB index is out of range") ||
	    starts_with(m, "ERR invalid DB index"))
		return set_error(err, DLOCK_ECONFIG,
				 "%s: no such database; use a smaller number "
				 "in the URL", url);
	if (starts_with(m, "READONLY"))
		return set_error(err, DLOCK_ESERVER,
				 "%s is a read-only replica; point --url at "
				 "the primary", url);
	if (starts_with(m, "OOM"))
		return set_error(err, DLOCK_ESERVER,
				 "%s is out of memory (maxmemory) and refuses "
				 "writes; free memory or raise maxmemory", url);
	if (starts_with(m, "LOADING") || starts_with(m, "BUSY") ||
	    starts_with(m, "MASTERDOWN") || starts_with(m, "TRYAGAIN") ||
	    starts_with(m, "CLUSTERDOWN"))
		return set_error(err, DLOCK_ECONN,
				 "%s cannot serve requests yet: %s", url, m);
	/* Followed by the cluster router; left over, they went in circles. */
	if (starts_with(m, "MOVED") || starts_with(m, "ASK"))
		return set_error(err, DLOCK_ESERVER,
				 "%s is a Redis Cluster node that does not own "
				 "this lock (%s), and the cluster's "
				 "redirections led nowhere; check CLUSTER "
				 "SLOTS on its nodes", url, m);
	return set_error(err, DLOCK_ESERVER, "%s refused to %s: %s", url,
			 what, m);
}

/*
 * The reply to our AUTH: a user given without a password that the server
 * refuses needs one (or does not exist, or is off), which WRONGPASS alone
 * does not tell.
 */
static int auth_error(const struct conn *c, const redisReply *r,
		      bool no_password, struct dlock_error *err)
{
	if (no_password && r->type == REDIS_REPLY_ERROR &&
	    starts_with(r->str, "WRONGPASS"))
		return set_error(err, DLOCK_EAUTH,
				 "%s refused user '%s' without a password; "
				 "give its password with DLOCK_PASSWORD or "
				 "--password-file, or check that the user "
				 "exists and is on (ACL LIST)",
				 c->url->display, c->user);
	return reply_error(c, r, "authenticate", err);
}

/*
 * AUTH and SELECT, pipelined: one round trip for both. A user without a
 * password may be an ACL "nopass" user, which takes any password; AUTH
 * needs one, so it gets an empty one and the server decides.
 */
static int handshake(struct conn *c, int64_t deadline,
		     struct dlock_error *err)
{
	const char *password = c->password;
	bool auth = password || c->user;
	char db[24], *cmds[2];
	int lens[2], n = 0, rc = 0;

	if (c->user)
		lens[n] = redisFormatCommand(&cmds[n], "AUTH %s %s", c->user,
					     password ? password : "");
	else if (password)
		lens[n] = redisFormatCommand(&cmds[n], "AUTH %s", password);
	if (auth && lens[n++] < 0)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	if (c->url->db) {
		snprintf(db, sizeof(db), "%ld", c->url->db);
		lens[n] = redisFormatCommand(&cmds[n], "SELECT %s", db);
		if (lens[n++] < 0) {
			rc = set_error(err, DLOCK_ENOMEM, "out of memory");
			n--;
			goto out_free;
		}
	}
	for (int i = 0; i < n && !rc; i++)
		rc = send_all(c, cmds[i], (size_t)lens[i], deadline, err);
	for (int i = 0; i < n && !rc; i++) {
		redisReply *r = NULL;

		rc = read_reply(c, deadline, -1, &r, err);
		if (!rc && i == 0 && auth)
			rc = auth_error(c, r, !password, err);
		else if (!rc)
			rc = reply_error(c, r, "select a database", err);
		freeReplyObject(r);
	}
out_free:
	for (int i = 0; i < n; i++) {
		explicit_bzero(cmds[i], (size_t)lens[i]);
		redisFreeCommand(cmds[i]);
	}
	return rc;
}

int conn_open(const struct dlock_config *cfg, size_t index, int64_t deadline,
	      struct conn **out, struct dlock_error *err)
{
	return conn_open_url(cfg, &cfg->urls[index], deadline, out, err);
}

int conn_open_url(const struct dlock_config *cfg, const struct url *url,
		  int64_t deadline, struct conn **out,
		  struct dlock_error *err)
{
	return conn_open_at(cfg, url, cfg->user ? cfg->user : url->user,
			    cfg->password ? cfg->password : url->password,
			    deadline, out, err);
}

int conn_open_at(const struct dlock_config *cfg, const struct url *url,
		 const char *user, const char *password, int64_t deadline,
		 struct conn **out, struct dlock_error *err)
{
	struct conn *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	c->url = url;
	c->user = user;
	c->password = password;
	c->reader = redisReaderCreate();
	if (!c->reader) {
		rc = set_error(err, DLOCK_ENOMEM, "out of memory");
		goto out_free;
	}
	c->builders = *c->reader->fn;
	c->create_array = c->builders.createArray;
	c->builders.createArray = bounded_array;
	c->reader->fn = &c->builders;
	redisReaderSetPrivdata(c->reader, c);
	{
		struct tls_settings ts = {
			.ca = cfg->tls_ca,
			.cert = cfg->tls_cert,
			.key = cfg->tls_key,
			.server_name = cfg->tls_server_name,
		};

		rc = transport_open(c->url, &ts, deadline, &c->t, err);
	}
	if (rc)
		goto out_free;
	rc = handshake(c, deadline, err);
	if (rc)
		goto out_free;
	*out = c;
	return 0;
out_free:
	conn_close(c);
	return rc;
}

void conn_close(struct conn *c)
{
	if (!c)
		return;
	if (c->out) {
		explicit_bzero(c->out, c->out_len);
		free(c->out);
	}
	transport_close(c->t);
	if (c->reader)
		redisReaderFree(c->reader);
	free(c);
}

int conn_start(struct conn *c, int argc, const char **argv,
	       const size_t *lens, struct dlock_error *err)
{
	char *cmd = NULL;
	int len;

	if (c->broken || c->out)
		return set_error(err, DLOCK_ECONN, "connection to %s is %s",
				 c->url->display,
				 c->broken ? "broken" : "busy");
	len = redisFormatCommandArgv(&cmd, argc, argv, lens);
	if (len < 0)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	/* Ours to free with free(): redisFreeCommand() is free() in 0.14. */
	c->out = malloc((size_t)len);
	if (!c->out) {
		redisFreeCommand(cmd);
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	}
	memcpy(c->out, cmd, (size_t)len);
	redisFreeCommand(cmd);
	c->out_len = (size_t)len;
	c->out_sent = 0;
	c->in_fed = 0;
	c->want = POLLOUT;
	return 0;
}

short conn_events(const struct conn *c)
{
	return c->want;
}

static void finish_out(struct conn *c)
{
	explicit_bzero(c->out, c->out_len);
	free(c->out);
	c->out = NULL;
}

/* Sends what the socket takes now; 0 also when some is left to send. */
static int send_some(struct conn *c, struct dlock_error *err)
{
	while (c->out_sent < c->out_len) {
		short want = 0;
		ssize_t n = c->t->ops->send(c->t, c->out + c->out_sent,
					    c->out_len - c->out_sent, &want);

		if (n > 0) {
			c->out_sent += (size_t)n;
			continue;
		}
		if (n < 0 && want) {
			c->want = want;
			return 0;
		}
		return io_failed(c, err, DLOCK_ECONN, "sending");
	}
	c->want = POLLIN;
	return 0;
}

/* Reads what has come; *reply stays NULL until a whole reply is in. */
static int read_some(struct conn *c, redisReply **reply,
		     struct dlock_error *err)
{
	char buf[16384];

	for (;;) {
		void *r = NULL;
		short want = 0;
		ssize_t n;

		if (redisReaderGetReply(c->reader, &r) != REDIS_OK) {
			c->broken = true;
			return set_error(err, DLOCK_ECONN, "%s sent something "
					 "that is not Redis protocol%s; is it "
					 "a Redis server?", c->url->display,
					 c->array_too_long ?
					 " (an array too long)" : "");
		}
		if (r) {
			*reply = r;
			return 0;
		}
		n = c->t->ops->recv(c->t, buf, sizeof(buf), &want);
		if (n > 0) {
			int rc = feed(c, buf, (size_t)n, &c->in_fed, err);

			if (rc)
				return rc;
			continue;
		}
		if (n == 0)
			errno = ECONNRESET;
		if (n == 0 || !want)
			return io_failed(c, err, DLOCK_ECONN, "reading");
		c->want = want;
		return 0;
	}
}

int conn_advance(struct conn *c, redisReply **reply, struct dlock_error *err)
{
	int rc;

	*reply = NULL;
	if (c->broken || !c->out)
		return set_error(err, DLOCK_ECONN, "connection to %s has no "
				 "request in flight", c->url->display);
	if (c->out_sent < c->out_len) {
		rc = send_some(c, err);
		if (rc || c->out_sent < c->out_len)
			return rc;
	}
	rc = read_some(c, reply, err);
	if (rc || *reply)
		finish_out(c);
	return rc;
}

void conn_abandon(struct conn *c)
{
	c->broken = true;
}
