/* SPDX-License-Identifier: MIT */
/* A kept-alive HTTP/1.1 connection over lib/transport, for the gateway. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/http.h"

struct http_conn {
	struct transport *t;
	const struct url *url;
	char name[300];
	bool broken;
	/* Read from the stream, not yet fed to a response. */
	char in[16384];
	size_t in_off, in_len;
};

int http_open(const struct url *u, const struct tls_settings *ts,
	      int64_t deadline, int cancel_fd, struct http_conn **out,
	      struct dlock_error *err)
{
	struct transport_opts opts = {
		.cancel_fd = cancel_fd,
		.server = "etcd",
		.plain_scheme = "etcd://",
	};
	struct http_conn *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	c->url = u;
	if (strchr(u->host, ':'))
		snprintf(c->name, sizeof(c->name), "[%s]:%d", u->host, u->port);
	else
		snprintf(c->name, sizeof(c->name), "%s:%d", u->host, u->port);
	rc = transport_connect(u, ts, &opts, deadline, &c->t, err);
	if (rc) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void http_close(struct http_conn *c)
{
	if (!c)
		return;
	transport_close(c->t);
	free(c);
}

const char *http_name(const struct http_conn *c)
{
	return c->name;
}

void http_abandon(struct http_conn *c)
{
	c->broken = true;
}

bool http_stale(struct http_conn *c)
{
	struct pollfd pfd = { .fd = c->t->fd, .events = POLLIN };
	int rc;

	if (c->broken || c->in_off < c->in_len)
		return true;
	do
		rc = poll(&pfd, 1, 0);
	while (rc < 0 && errno == EINTR);
	/* Nothing is asked on an idle connection: any event is bad news. */
	return rc != 0;
}

/* Waits for the transport's event or cancel_fd: 0 when it is ready. */
static int wait_ready(struct http_conn *c, short want, int64_t deadline,
		      int cancel_fd)
{
	struct pollfd pfd[2] = {
		{ .fd = c->t->fd, .events = want },
		{ .fd = cancel_fd, .events = POLLIN },
	};
	int rc;

	do
		rc = poll(pfd, cancel_fd >= 0 ? 2 : 1, ms_until(deadline));
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return DLOCK_ESYS;
	if (rc == 0)
		return DLOCK_ETIMEDOUT;
	if (cancel_fd >= 0 && (pfd[1].revents & POLLIN))
		return DLOCK_ECANCELED;
	return 0;
}

static int io_failed(struct http_conn *c, int code, const char *what,
		     int saved_errno, struct dlock_error *err)
{
	c->broken = true;
	if (code == DLOCK_ECANCELED)
		return set_error(err, code, "canceled");
	if (code == DLOCK_ETIMEDOUT)
		return set_error(err, DLOCK_ECONN, "%s did not answer in time "
				 "(%s)", c->name, what);
	if (code == DLOCK_ESYS)
		return set_error(err, code, "poll: %s", strerror(saved_errno));
	return set_error(err, DLOCK_ECONN, "connection to %s lost (%s): %s%s",
			 c->name, what, saved_errno ? strerror(saved_errno) :
			 "closed by the server", c->url->tls ? "; if etcd wants "
			 "a client certificate, give --tls-cert and --tls-key" :
			 "");
}

static int send_all(struct http_conn *c, const char *buf, size_t len,
		    int64_t deadline, int cancel_fd, struct dlock_error *err)
{
	while (len) {
		short want = 0;
		ssize_t n;

		errno = 0;
		n = c->t->ops->send(c->t, buf, len, &want);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && want) {
			int rc = wait_ready(c, want, deadline, cancel_fd);

			if (rc)
				return io_failed(c, rc, "sending", errno, err);
			continue;
		}
		return io_failed(c, DLOCK_ECONN, "sending", errno, err);
	}
	return 0;
}

/* Header values must not break the request they go into. */
static bool header_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int http_send(struct http_conn *c, const char *method, const char *path,
	      const char *auth, bool require_leader, const char *body,
	      int64_t deadline, int cancel_fd, struct dlock_error *err)
{
	size_t body_len = body ? strlen(body) : 0;
	char *head;
	int n, rc;

	if (c->broken)
		return set_error(err, DLOCK_ECONN, "connection to %s is broken",
				 c->name);
	if (auth && !header_safe(auth))
		return set_error(err, DLOCK_ESERVER, "%s gave an auth token "
				 "with control characters", c->name);
	/*
	 * One write: one segment for a small request (TCP_NODELAY). The
	 * gateway passes Grpc-Metadata-* headers on as gRPC metadata, and
	 * "hasleader" is the one that etcd's clientv3.WithRequireLeader sets.
	 */
	n = asprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\n"
		     "Content-Type: application/json\r\n"
		     "Content-Length: %zu\r\n%s%s%s%s\r\n%s", method, path,
		     c->name, body_len, auth ? "Authorization: " : "",
		     auth ? auth : "", auth ? "\r\n" : "",
		     require_leader ? "Grpc-Metadata-Hasleader: true\r\n" : "",
		     body ? body : "");
	if (n < 0)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	rc = send_all(c, head, (size_t)n, deadline, cancel_fd, err);
	explicit_bzero(head, (size_t)n);	/* the token, a password */
	free(head);
	return rc;
}

/* Feeds what is buffered; *progress when body bytes came. */
static int feed_buffered(struct http_conn *c, struct http_response *r,
			 bool *progress, struct dlock_error *err)
{
	size_t before = r->body_len, used = 0;
	int rc;

	if (c->in_off == c->in_len || r->state == HTTP_DONE)
		return 0;
	rc = http_response_feed(r, c->in + c->in_off, c->in_len - c->in_off,
				&used, err);
	c->in_off += used;
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	if (r->body_len > before)
		*progress = true;
	if (rc) {
		char why[DLOCK_ERRMSG_MAX];

		c->broken = true;
		if (rc == DLOCK_ENOMEM)
			return rc;
		snprintf(why, sizeof(why), "%s", err->msg);
		return set_error(err, rc, "%s sent a reply that is %s; is it "
				 "an etcd client URL?", c->name, why);
	}
	return 0;
}

int http_read(struct http_conn *c, struct http_response *r, bool partial,
	      int64_t deadline, int cancel_fd, bool *got,
	      struct dlock_error *err)
{
	bool progress = false;
	int rc;

	if (c->broken)
		return set_error(err, DLOCK_ECONN, "connection to %s is broken",
				 c->name);
	for (;;) {
		short want = 0;
		ssize_t n;

		rc = feed_buffered(c, r, &progress, err);
		if (rc)
			return rc;
		if (r->state == HTTP_DONE || (partial && progress))
			break;
		/* A server that never stops talking is no answer either. */
		if (*got && deadline != NO_DEADLINE && now_ms() >= deadline)
			return set_error(err, DLOCK_ETIMEDOUT, "%s did not "
					 "finish its answer in time", c->name);
		errno = 0;
		n = c->t->ops->recv(c->t, c->in, sizeof(c->in), &want);
		if (n > 0) {
			c->in_off = 0;
			c->in_len = (size_t)n;
			*got = true;
			continue;
		}
		if (n == 0) {
			char why[DLOCK_ERRMSG_MAX];

			c->broken = true;
			rc = http_response_eof(r, err);
			if (!rc)
				break;
			snprintf(why, sizeof(why), "%s", err->msg);
			/*
			 * etcd's TLS port closes on a plain request without
			 * a word, as a member going down would.
			 */
			return set_error(err, rc, "%s: %s%s", c->name, why,
					 !*got && !c->url->tls ? "; if it is a "
					 "TLS port, use etcds://" : "");
		}
		if (!want)
			return io_failed(c, DLOCK_ECONN, "reading", errno, err);
		rc = wait_ready(c, want, deadline, cancel_fd);
		if (rc == DLOCK_ETIMEDOUT)
			return set_error(err, rc, "%s did not answer in time",
					 c->name);
		/* As for a time-out: a stream read so far is still in step. */
		if (rc == DLOCK_ECANCELED)
			return set_error(err, rc, "canceled");
		if (rc)
			return io_failed(c, rc, "reading", errno, err);
	}
	if (r->state == HTTP_DONE && r->close)
		c->broken = true;
	return 0;
}
