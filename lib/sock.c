/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "transport.h"

static ssize_t sock_recv(struct transport *t, void *buf, size_t len,
			 short *want)
{
	ssize_t n;

	do
		n = recv(t->fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		*want = POLLIN;
	return n;
}

static ssize_t sock_send(struct transport *t, const void *buf, size_t len,
			 short *want)
{
	ssize_t n;

	/* MSG_NOSIGNAL: a dead server must not kill us with SIGPIPE. */
	do
		n = send(t->fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		*want = POLLOUT;
	return n;
}

static void sock_close(struct transport *t)
{
	close(t->fd);
	free(t);
}

static const struct transport_ops sock_ops = {
	.recv = sock_recv,
	.send = sock_send,
	.close = sock_close,
};

/*
 * Waits for a non-blocking connect(2) to finish. Returns 0 or an errno,
 * ECANCELED when cancel_fd (-1: none) became readable.
 */
static int finish_connect(int fd, int64_t deadline, int cancel_fd)
{
	struct pollfd pfd[2] = {
		{ .fd = fd, .events = POLLOUT },
		{ .fd = cancel_fd, .events = POLLIN },
	};
	int rc, soerr = 0;
	socklen_t len = sizeof(soerr);

	do
		rc = poll(pfd, cancel_fd >= 0 ? 2 : 1, ms_until(deadline));
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return errno;
	if (rc == 0)
		return ETIMEDOUT;
	if (cancel_fd >= 0 && (pfd[1].revents & POLLIN))
		return ECANCELED;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return errno;
	return soerr;
}

static int connect_addr(const struct sockaddr *sa, socklen_t salen,
			int family, int64_t deadline, int cancel_fd, int *out)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int rc = 0, one = 1;

	if (fd < 0)
		return errno;
	if (connect(fd, sa, salen) < 0) {
		rc = errno;
		if (rc == EINPROGRESS || rc == EAGAIN)
			rc = finish_connect(fd, deadline, cancel_fd);
	}
	if (rc) {
		close(fd);
		return rc;
	}
	/* Every lock request is one small write waiting for its answer. */
	if (family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*out = fd;
	return 0;
}

/*
 * getaddrinfo(3) has no deadline, so a name is looked up on a thread of its
 * own that we wait for until the deadline. On a time-out the thread is
 * left to finish alone; whoever lets go of the job last frees it.
 */
struct lookup {
	pthread_mutex_t mu;
	pthread_cond_t done_cv;
	int refs;
	bool done;
	int rc;
	struct addrinfo *result;
	char service[8];
	char host[];
};

static void lookup_put(struct lookup *job)
{
	bool last;

	pthread_mutex_lock(&job->mu);
	last = --job->refs == 0;
	pthread_mutex_unlock(&job->mu);
	if (!last)
		return;
	if (job->result)
		freeaddrinfo(job->result);
	pthread_cond_destroy(&job->done_cv);
	pthread_mutex_destroy(&job->mu);
	free(job);
}

static void *lookup_main(void *arg)
{
	struct lookup *job = arg;
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG,
	};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(job->host, job->service, &hints, &res);

	pthread_mutex_lock(&job->mu);
	job->rc = rc;
	job->result = res;
	job->done = true;
	pthread_cond_signal(&job->done_cv);
	pthread_mutex_unlock(&job->mu);
	lookup_put(job);
	return NULL;
}

static bool readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return fd >= 0 && poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN);
}

/*
 * A condition variable cannot wait for a descriptor too, so with one to
 * watch the wait goes in slices this long.
 */
#define CANCEL_SLICE_MS 50

static int resolve(const char *host, int port, int64_t deadline,
		   int cancel_fd, struct addrinfo **res,
		   struct dlock_error *err)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	};
	struct lookup *job;
	pthread_condattr_t ca;
	pthread_attr_t attr;
	pthread_t thread;
	char service[8];
	int rc;

	snprintf(service, sizeof(service), "%d", port);
	if (getaddrinfo(host, service, &hints, res) == 0)
		return 0;	/* an address: nothing to wait for */
	job = calloc(1, sizeof(*job) + strlen(host) + 1);
	if (!job)
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	strcpy(job->host, host);
	memcpy(job->service, service, sizeof(service));
	job->refs = 2;
	pthread_mutex_init(&job->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&job->done_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&thread, &attr, lookup_main, job);
	pthread_attr_destroy(&attr);
	if (rc) {
		job->refs = 1;
		lookup_put(job);
		return set_error(err, DLOCK_ESYS, "cannot start a thread to "
				 "resolve '%s': %s", host, strerror(rc));
	}
	pthread_mutex_lock(&job->mu);
	while (!job->done && now_ms() < deadline && !readable(cancel_fd)) {
		int64_t until = deadline;
		struct timespec ts;

		if (cancel_fd >= 0 && until - now_ms() > CANCEL_SLICE_MS)
			until = now_ms() + CANCEL_SLICE_MS;
		ts.tv_sec = until / 1000;
		ts.tv_nsec = (until % 1000) * 1000000L;
		pthread_cond_timedwait(&job->done_cv, &job->mu, &ts);
	}
	rc = job->done ? job->rc : EAI_AGAIN;
	if (job->done && !rc) {
		*res = job->result;
		job->result = NULL;
	}
	pthread_mutex_unlock(&job->mu);
	lookup_put(job);
	if (rc == EAI_AGAIN && readable(cancel_fd))
		return set_error(err, DLOCK_ECANCELED, "canceled");
	if (rc == EAI_AGAIN)
		return set_error(err, DLOCK_ECONN,
				 "host '%s' could not be resolved in time "
				 "(slow or failing DNS); try again or use an "
				 "address", host);
	if (rc)
		return set_error(err, DLOCK_ECONN,
				 "cannot resolve host '%s': %s; check the URL",
				 host, gai_strerror(rc));
	return 0;
}

static int connect_tcp(const struct url *u, int64_t deadline, int cancel_fd,
		       int *fd, struct dlock_error *err)
{
	struct addrinfo *res = NULL;
	int rc, last = ECONNREFUSED;

	rc = resolve(u->host, u->port, deadline, cancel_fd, &res, err);
	if (rc)
		return rc;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		last = connect_addr(ai->ai_addr, ai->ai_addrlen, ai->ai_family,
				    deadline, cancel_fd, fd);
		if (last == 0 || last == ETIMEDOUT || last == ECANCELED)
			break;
	}
	freeaddrinfo(res);
	return last;
}

static int connect_unix(const struct url *u, int64_t deadline, int cancel_fd,
			int *fd)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", u->path);
	return connect_addr((struct sockaddr *)&sun, sizeof(sun), AF_UNIX,
			    deadline, cancel_fd, fd);
}

static const struct transport_opts redis_opts = {
	.cancel_fd = -1,
	.server = "redis-server",
};

int transport_open(const struct url *u, const struct tls_settings *ts,
		   int64_t deadline, struct transport **out,
		   struct dlock_error *err)
{
	return transport_connect(u, ts, &redis_opts, deadline, out, err);
}

int transport_connect(const struct url *u, const struct tls_settings *ts,
		      const struct transport_opts *opts, int64_t deadline,
		      struct transport **out, struct dlock_error *err)
{
	struct transport *t;
	int fd = -1, rc;

	err->code = 0;
	if (u->kind == URL_UNIX)
		rc = connect_unix(u, deadline, opts->cancel_fd, &fd);
	else
		rc = connect_tcp(u, deadline, opts->cancel_fd, &fd, err);
	if (rc < 0)
		return rc;	/* resolve() said why */
	if (rc == ECANCELED)
		return set_error(err, DLOCK_ECANCELED, "canceled");
	if (rc == ETIMEDOUT)
		return set_error(err, DLOCK_ECONN,
				 "connecting to %s timed out; is the server "
				 "up and reachable? (--connect-timeout)",
				 u->display);
	if (rc)
		return set_error(err, DLOCK_ECONN,
				 "cannot connect to %s: %s; is %s running "
				 "there? (set --url or DLOCK_URL)",
				 u->display, strerror(rc), opts->server);
	if (u->tls)
		return tls_open(fd, u, ts, opts, deadline, out, err);
	t = malloc(sizeof(*t));
	if (!t) {
		close(fd);
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	}
	t->ops = &sock_ops;
	t->fd = fd;
	*out = t;
	return 0;
}
