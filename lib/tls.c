/* SPDX-License-Identifier: MIT */
/*
 * rediss://: a TLS stream on OpenSSL, behind the transport ops of
 * transport.h. libssl is loaded with dlopen(3) on the first TLS
 * connection, so plain connections never pay for loading it. Every step
 * of the handshake runs under the caller's deadline.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "transport.h"

/* The libssl (and, through it, libcrypto) functions we use. */
#define TLS_FUNCTIONS(X) \
	X(TLS_client_method) X(SSL_CTX_new) X(SSL_CTX_free) X(SSL_CTX_ctrl) \
	X(SSL_CTX_set_verify) X(SSL_CTX_set_default_verify_paths) \
	X(SSL_CTX_load_verify_locations) \
	X(SSL_CTX_use_certificate_chain_file) X(SSL_CTX_use_PrivateKey_file) \
	X(SSL_CTX_check_private_key) X(SSL_new) X(SSL_free) X(SSL_set_fd) \
	X(SSL_ctrl) X(SSL_set1_host) X(SSL_connect) X(SSL_get_error) \
	X(SSL_read) X(SSL_write) X(SSL_shutdown) X(SSL_get_verify_result) \
	X(X509_verify_cert_error_string) X(ERR_get_error) \
	X(ERR_error_string_n) X(ERR_clear_error)

static struct {
#define DECLARE(f) __typeof__(f) *f;
	TLS_FUNCTIONS(DECLARE)
#undef DECLARE
} ssl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[256];

static void load_libssl(void)
{
	void *h = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);

	if (!h)
		h = dlopen("libssl.so", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(load_error, sizeof(load_error), "cannot load "
			 "OpenSSL for TLS (%s); install libssl3",
			 dlerror());
		return;
	}
#define LOAD(f) \
	if (!load_error[0] && !(ssl.f = (__typeof__(f) *)dlsym(h, #f))) \
		snprintf(load_error, sizeof(load_error), "OpenSSL lacks %s; " \
			 "dlock needs OpenSSL 1.1 or later", #f);
	TLS_FUNCTIONS(LOAD)
#undef LOAD
}

/*
 * OpenSSL writes with write(2), so a server that went away would kill us
 * with SIGPIPE. The signal's disposition is the program's to choose, and
 * the command's to inherit, so instead the calling thread blocks SIGPIPE
 * around each OpenSSL call that may write, and takes a SIGPIPE it caused
 * off its pending set before unblocking (a write's SIGPIPE goes to the
 * thread that wrote).
 */
struct pipe_guard {
	sigset_t old_mask;
	bool was_pending;
};

static void pipe_guard_begin(struct pipe_guard *g)
{
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &g->old_mask);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE);
}

static void pipe_guard_end(struct pipe_guard *g)
{
	static const struct timespec no_wait = { 0, 0 };
	sigset_t pipe, pending;
	int saved = errno;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigpending(&pending);
	if (!g->was_pending && sigismember(&pending, SIGPIPE))
		sigtimedwait(&pipe, NULL, &no_wait);
	pthread_sigmask(SIG_SETMASK, &g->old_mask, NULL);
	errno = saved;
}

struct tls {
	struct transport t;	/* first: the ops see a struct transport */
	SSL_CTX *ctx;
	SSL *ssl;
};

/* The reason of OpenSSL's last failure, for messages. */
static void ssl_reason(char *buf, size_t size)
{
	unsigned long e = ssl.ERR_get_error();

	if (e)
		ssl.ERR_error_string_n(e, buf, size);
	else
		snprintf(buf, size, "%s", errno ? strerror(errno) :
			 "connection closed");
}

/* Maps an SSL_read/SSL_write/SSL_connect failure to errno and *want. */
static ssize_t io_result(struct tls *s, int n, short *want)
{
	switch (ssl.SSL_get_error(s->ssl, n)) {
	case SSL_ERROR_WANT_READ:
		*want = POLLIN;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*want = POLLOUT;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		if (!errno)
			errno = ECONNRESET;
		return -1;
	}
}

static ssize_t tls_recv(struct transport *t, void *buf, size_t len,
			short *want)
{
	struct tls *s = (struct tls *)t;
	struct pipe_guard g;
	int n;

	ssl.ERR_clear_error();
	errno = 0;
	pipe_guard_begin(&g);
	n = ssl.SSL_read(s->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	pipe_guard_end(&g);
	return n > 0 ? n : io_result(s, n, want);
}

static ssize_t tls_send(struct transport *t, const void *buf, size_t len,
			short *want)
{
	struct tls *s = (struct tls *)t;
	struct pipe_guard g;
	int n;

	ssl.ERR_clear_error();
	errno = 0;
	pipe_guard_begin(&g);
	n = ssl.SSL_write(s->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	pipe_guard_end(&g);
	return n > 0 ? n : io_result(s, n, want);
}

static void tls_close(struct transport *t)
{
	struct tls *s = (struct tls *)t;

	if (s->ssl) {
		struct pipe_guard g;

		/* One try, without waiting: the socket is non-blocking. */
		pipe_guard_begin(&g);
		ssl.SSL_shutdown(s->ssl);
		pipe_guard_end(&g);
		ssl.SSL_free(s->ssl);
	}
	if (s->ctx)
		ssl.SSL_CTX_free(s->ctx);
	if (t->fd >= 0)
		close(t->fd);
	free(s);
}

static const struct transport_ops tls_ops = {
	.recv = tls_recv,
	.send = tls_send,
	.close = tls_close,
};

static int setup_context(struct tls *s, const struct tls_settings *ts,
			 const char *url, struct dlock_error *err)
{
	char why[256];

	s->ctx = ssl.SSL_CTX_new(ssl.TLS_client_method());
	if (!s->ctx)
		goto fail;
	ssl.SSL_CTX_ctrl(s->ctx, SSL_CTRL_SET_MIN_PROTO_VERSION,
			 TLS1_2_VERSION, NULL);
	ssl.SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, NULL);
	if (ts->ca) {
		if (ssl.SSL_CTX_load_verify_locations(s->ctx, ts->ca, NULL) != 1) {
			ssl_reason(why, sizeof(why));
			return set_error(err, DLOCK_ECONFIG,
					 "cannot use --tls-ca %s: %s", ts->ca,
					 why);
		}
	} else if (ssl.SSL_CTX_set_default_verify_paths(s->ctx) != 1) {
		goto fail;
	}
	if (!ts->cert != !ts->key)
		return set_error(err, DLOCK_ECONFIG,
				 "--tls-cert and --tls-key go together (the "
				 "same file for both if it holds both)");
	if (ts->cert) {
		const char *cert = ts->cert, *key = ts->key;

		if (ssl.SSL_CTX_use_certificate_chain_file(s->ctx, cert) != 1 ||
		    ssl.SSL_CTX_use_PrivateKey_file(s->ctx, key,
						    SSL_FILETYPE_PEM) != 1 ||
		    ssl.SSL_CTX_check_private_key(s->ctx) != 1) {
			ssl_reason(why, sizeof(why));
			return set_error(err, DLOCK_ECONFIG,
					 "cannot use the client certificate "
					 "%s and key %s: %s", cert, key, why);
		}
	}
	return 0;
fail:
	ssl_reason(why, sizeof(why));
	return set_error(err, DLOCK_ECONN, "%s: cannot set up TLS: %s", url,
			 why);
}

/* Explains a failed handshake, which is mostly a certificate matter. */
static int handshake_failed(struct tls *s, const struct url *u,
			    const char *name, const struct transport_opts *opts,
			    struct dlock_error *err)
{
	long verify = ssl.SSL_get_verify_result(s->ssl);
	char why[256];

	if (verify != X509_V_OK) {
		if (verify == X509_V_ERR_HOSTNAME_MISMATCH ||
		    verify == X509_V_ERR_IP_ADDRESS_MISMATCH)
			return set_error(err, DLOCK_ECONN,
					 "%s: the server's certificate is not "
					 "for the name '%s'; give the name it "
					 "has with --tls-server-name", u->display,
					 name);
		return set_error(err, DLOCK_ECONN,
				 "%s: the server's certificate is not "
				 "trusted: %s; give its CA with --tls-ca",
				 u->display,
				 ssl.X509_verify_cert_error_string(verify));
	}
	ssl_reason(why, sizeof(why));
	/*
	 * etcd's plain port closes on a ClientHello without a word: a
	 * mismatch, or a server going down, which only a retry tells.
	 */
	if (opts->plain_scheme && strstr(why, "unexpected eof"))
		return set_error(err, DLOCK_ECONN, "%s closed the connection "
				 "during the TLS handshake (%s); if it is a "
				 "plain port, use %s", u->display, why,
				 opts->plain_scheme);
	if (strstr(why, "wrong version number") ||
	    strstr(why, "packet length too long") ||
	    strstr(why, "record layer failure")) {
		if (opts->plain_scheme)
			return set_error(err, DLOCK_ECONFIG,
					 "%s does not speak TLS (%s); use %s "
					 "for a plain port", u->display, why,
					 opts->plain_scheme);
		return set_error(err, DLOCK_ECONN,
				 "%s does not speak TLS (%s); is it a plain "
				 "redis:// port?", u->display, why);
	}
	return set_error(err, DLOCK_ECONN, "%s: TLS handshake failed: %s; "
			 "does the server want a client certificate "
			 "(--tls-cert, --tls-key)?", u->display, why);
}

static bool is_address(const char *name)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, buf) == 1 ||
	       inet_pton(AF_INET6, name, buf) == 1;
}

int tls_open(int fd, const struct url *u, const struct tls_settings *ts,
	     const struct transport_opts *opts, int64_t deadline,
	     struct transport **out, struct dlock_error *err)
{
	const char *name = ts->server_name ? ts->server_name : u->host;
	struct tls *s;
	int rc;

	pthread_once(&load_once, load_libssl);
	if (load_error[0]) {
		close(fd);
		return set_error(err, DLOCK_ECONFIG, "%s", load_error);
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return set_error(err, DLOCK_ENOMEM, "out of memory");
	}
	s->t.ops = &tls_ops;
	s->t.fd = fd;
	ssl.ERR_clear_error();
	rc = setup_context(s, ts, u->display, err);
	if (rc)
		goto fail;
	s->ssl = ssl.SSL_new(s->ctx);
	if (!s->ssl || ssl.SSL_set_fd(s->ssl, fd) != 1 ||
	    ssl.SSL_set1_host(s->ssl, name) != 1) {
		rc = set_error(err, DLOCK_ENOMEM, "cannot set up TLS");
		goto fail;
	}
	/* SNI, for proxies that route on it; never an address (RFC 6066). */
	if (!is_address(name))
		ssl.SSL_ctrl(s->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME,
			     TLSEXT_NAMETYPE_host_name, (void *)name);
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = fd },
			{ .fd = opts->cancel_fd, .events = POLLIN },
		};
		struct pipe_guard g;
		short want = 0;
		int n;

		ssl.ERR_clear_error();
		errno = 0;
		pipe_guard_begin(&g);
		n = ssl.SSL_connect(s->ssl);
		pipe_guard_end(&g);
		if (n == 1)
			break;
		if (io_result(s, n, &want) != -1 || errno != EAGAIN) {
			rc = handshake_failed(s, u, name, opts, err);
			goto fail;
		}
		pfd[0].events = want;
		do
			n = poll(pfd, opts->cancel_fd >= 0 ? 2 : 1,
				 ms_until(deadline));
		while (n < 0 && errno == EINTR);
		if (n > 0 && opts->cancel_fd >= 0 &&
		    (pfd[1].revents & POLLIN)) {
			rc = set_error(err, DLOCK_ECANCELED, "canceled");
			goto fail;
		}
		if (n == 0) {
			rc = set_error(err, DLOCK_ECONN,
				       "%s: the TLS handshake did not finish "
				       "in time (--connect-timeout); is it a "
				       "TLS port?", u->display);
			goto fail;
		}
	}
	*out = &s->t;
	return 0;
fail:
	tls_close(&s->t);
	return rc;
}
