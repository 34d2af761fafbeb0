/* SPDX-License-Identifier: MIT */
/*
 * A byte stream to one server, with non-blocking I/O that tells the caller
 * which poll(2) event to wait for. Plain TCP and unix sockets live in
 * sock.c; a TLS stream only has to provide another transport_ops.
 */
#ifndef DLOCK_TRANSPORT_H
#define DLOCK_TRANSPORT_H

#include <sys/types.h>

#include "internal.h"

struct transport;

struct transport_ops {
	/*
	 * Both return the bytes moved, 0 for end of stream (recv only), or
	 * -1 with errno; EAGAIN sets *want to POLLIN or POLLOUT.
	 */
	ssize_t (*recv)(struct transport *t, void *buf, size_t len,
			short *want);
	ssize_t (*send)(struct transport *t, const void *buf, size_t len,
			short *want);
	void (*close)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
	int fd;
};

/* What a rediss:// connection verifies and presents; NULL: the default. */
struct tls_settings {
	const char *ca;		/* CA bundle; default: the system store */
	const char *cert;	/* client certificate chain */
	const char *key;	/* client key */
	const char *server_name;	/* to verify and send; default: host */
};

/*
 * What else ends transport_connect()'s waits, and how its messages name
 * the server, for a protocol other than Redis.
 */
struct transport_opts {
	int cancel_fd;		/* readable: DLOCK_ECANCELED; -1: none */
	const char *server;	/* what should listen there: "redis-server" */
	/*
	 * Set: a TLS handshake with a port that does not speak TLS is
	 * DLOCK_ECONFIG, and the message says to use this scheme instead
	 * ("etcd://"). NULL: DLOCK_ECONN, as for rediss://.
	 */
	const char *plain_scheme;
};

/*
 * Connects to u before deadline (CLOCK_MONOTONIC milliseconds), over TLS
 * for rediss://. The socket is non-blocking and close-on-exec. Returns 0,
 * DLOCK_ECONN or DLOCK_ECONFIG.
 */
int transport_open(const struct url *u, const struct tls_settings *ts,
		   int64_t deadline, struct transport **out,
		   struct dlock_error *err);

/* The same with opts; also DLOCK_ECANCELED. */
int transport_connect(const struct url *u, const struct tls_settings *ts,
		      const struct transport_opts *opts, int64_t deadline,
		      struct transport **out, struct dlock_error *err);

/*
 * Runs the TLS handshake on connected socket fd, which it takes over (and
 * closes on failure), before deadline. Loads OpenSSL on first use.
 */
int tls_open(int fd, const struct url *u, const struct tls_settings *ts,
	     const struct transport_opts *opts, int64_t deadline,
	     struct transport **out, struct dlock_error *err);

static inline void transport_close(struct transport *t)
{
	if (t)
		t->ops->close(t);
}

#endif
