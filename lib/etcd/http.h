/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 for the etcd gateway, below wire.h: a pure, incremental
 * response parser (Content-Length, chunked with extensions and trailers,
 * or until close), and a keep-alive connection over lib/transport that
 * sends requests and feeds the parser under a deadline and a cancel
 * descriptor. Internal to lib/etcd/.
 */
#ifndef DLOCK_ETCD_HTTP_H
#define DLOCK_ETCD_HTTP_H

#include <sys/types.h>

#include "internal.h"
#include "transport.h"

/*
 * Bounds on what a server may send. The header section (with the
 * trailers) of a gateway reply is under 400 bytes; a body is at most
 * HTTP_BODY_MAX, enough for a range over a prefix with thousands of
 * holders, and a stream keeps at most that much unread.
 */
#define HTTP_LINE_MAX 8192
#define HTTP_HEAD_MAX 65536
#define HTTP_BODY_MAX (8 << 20)

enum http_state {
	HTTP_STATUS_LINE,
	HTTP_HEADERS,
	HTTP_BODY,		/* Content-Length bytes, or until close */
	HTTP_CHUNK_SIZE,
	HTTP_CHUNK_DATA,
	HTTP_CHUNK_END,		/* the CRLF after a chunk's data */
	HTTP_TRAILERS,
	HTTP_DONE,
};

struct http_response {
	enum http_state state;
	int status;
	bool chunked;
	bool until_close;	/* no length: the body ends with the stream */
	bool close;		/* the server will not take another request */
	bool no_body;		/* the answer to a HEAD, 1xx, 204 or 304 */
	bool has_length;
	uint64_t left;		/* of the body or of the current chunk */
	size_t head_bytes;	/* header lines and trailers so far */
	char line[HTTP_LINE_MAX];
	size_t line_len;
	/* The body so far, NUL-terminated; a stream's reader may take
	 * bytes off its front with http_response_consume(). */
	char *body;
	size_t body_len, body_cap;
};

/* Sets up r, zeroed or freed, for the answer to one request. */
void http_response_init(struct http_response *r, bool head_request);
void http_response_free(struct http_response *r);

/*
 * Feeds n bytes of the server's stream. Takes bytes up to the end of the
 * response and no further: *used says how many. Returns 0 (the response
 * is complete when r->state is HTTP_DONE), DLOCK_ESERVER with what was
 * wrong ("not HTTP: ..."), or DLOCK_ENOMEM. Pure.
 */
int http_response_feed(struct http_response *r, const char *in, size_t n,
		       size_t *used, struct dlock_error *err);

/*
 * The server closed the stream: completes a body that runs until close,
 * or returns DLOCK_ECONN for a response cut short.
 */
int http_response_eof(struct http_response *r, struct dlock_error *err);

/* Drops n bytes from the front of the body. */
void http_response_consume(struct http_response *r, size_t n);

/*
 * The length of the first complete JSON object or array at the start of
 * text (after white space), 0 when it is not all there yet, -1 when the
 * text starts with anything else or nests deeper than json_parse() takes.
 * For splitting a stream of objects; json_parse() then checks the value.
 */
ssize_t json_scan_value(const char *text, size_t len);

struct json;

/* Takes member key out of object v: the caller owns it. NULL if none. */
struct json *json_take(struct json *v, const char *key);

/* ---- the connection ---- */

struct http_conn;

/*
 * Connects to u, which must outlive the connection (and shakes hands,
 * for TLS, with ts, which may not be NULL) before deadline; cancel_fd
 * readable (-1: none) ends it with DLOCK_ECANCELED. Returns 0,
 * DLOCK_ECONN, DLOCK_ECONFIG or DLOCK_ENOMEM.
 */
int http_open(const struct url *u, const struct tls_settings *ts,
	      int64_t deadline, int cancel_fd, struct http_conn **out,
	      struct dlock_error *err);
void http_close(struct http_conn *c);

/* "host:port", for messages. */
const char *http_name(const struct http_conn *c);

/*
 * Whether an idle connection is of no use: closed by the server, broken
 * by a failed request, or holding bytes nobody asked for. No blocking.
 */
bool http_stale(struct http_conn *c);

/*
 * Sends one request; auth (NULL: none) goes in the Authorization header.
 * With require_leader, etcd refuses at once ("no leader", UNAVAILABLE)
 * what a member cut off from its leader would otherwise sit on for 7 s
 * (and cancels a watch when the member loses its leader). Returns 0,
 * DLOCK_ECONN (the connection is broken), DLOCK_ECANCELED or
 * DLOCK_ENOMEM.
 */
int http_send(struct http_conn *c, const char *method, const char *path,
	      const char *auth, bool require_leader, const char *body,
	      int64_t deadline, int cancel_fd, struct dlock_error *err);

/*
 * Reads into r until it is complete (HTTP_DONE) or, with partial set,
 * until some body has come; either way before deadline. Returns 0,
 * DLOCK_ETIMEDOUT or DLOCK_ECANCELED (nothing broken: r keeps what came,
 * and the caller decides), DLOCK_ECONN (the stream broke), DLOCK_ESERVER
 * (not HTTP, or over a bound: the connection is unusable) or
 * DLOCK_ENOMEM. *got says whether any byte of the response has arrived.
 */
int http_read(struct http_conn *c, struct http_response *r, bool partial,
	      int64_t deadline, int cancel_fd, bool *got,
	      struct dlock_error *err);

/* Marks the connection unusable (a request given up half-way). */
void http_abandon(struct http_conn *c);

#endif
