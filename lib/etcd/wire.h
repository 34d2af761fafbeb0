/* SPDX-License-Identifier: MIT */
/*
 * etcd v3's JSON gateway (grpc-gateway), spoken over HTTP/1.1 on
 * lib/transport: the pieces the etcd backend (lib/etcd/etcd.c) is built
 * from. Our own small client rather than libcurl and json-c: a redis://
 * process must not load them, the gateway needs one method (POST), one
 * content type and a handful of reply shapes, and every call must keep an
 * absolute deadline and a cancel descriptor, which the transport already
 * gives. Nothing here prints or exits.
 *
 * Gateway facts the callers rely on (etcd 3.4 and later):
 *   - keys and values are base64 strings;
 *   - int64 and uint64 fields (revisions, lease IDs, TTLs) come as JSON
 *     strings of digits, and fields holding their default (0, false, "",
 *     empty list) are left out;
 *   - streaming calls (/v3/watch, /v3/lease/keepalive) answer with a
 *     chunked body of objects {"result":{...}} or {"error":{...}};
 *   - a refusal is an HTTP error status with a body
 *     {"error":"...","code":N,"message":"..."}, N a gRPC status code.
 */
#ifndef DLOCK_ETCD_WIRE_H
#define DLOCK_ETCD_WIRE_H

#include <sys/types.h>

#include "internal.h"
#include "transport.h"

/* ---- base64 (RFC 4648 with padding) ---- */

/* Characters base64_encode() writes for n bytes, with the NUL. */
size_t base64_encoded_size(size_t n);
void base64_encode(const void *in, size_t n, char *out);
/*
 * Decodes n characters into out, which has room for n / 4 * 3 bytes.
 * Returns the bytes written, or -1 for input that is not base64.
 */
ssize_t base64_decode(const char *in, size_t n, void *out);

/* ---- JSON reader ---- */

enum json_type {
	JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING,
	JSON_ARRAY, JSON_OBJECT,
};

struct json;

/*
 * Parses exactly one JSON value (RFC 8259) of len bytes, nested at most
 * 64 deep. Returns NULL with DLOCK_ESERVER ("not JSON: ...") or
 * DLOCK_ENOMEM in err.
 */
struct json *json_parse(const char *text, size_t len,
			struct dlock_error *err);
void json_free(struct json *v);

/* All accessors take NULL and return NULL, 0 or false for it. */
enum json_type json_type(const struct json *v);
/* A member of an object; NULL when v is no object or has no such key. */
const struct json *json_get(const struct json *v, const char *key);
/* Members along a dotted path: json_path(r, "header.revision"). */
const struct json *json_path(const struct json *v, const char *path);
/* Elements of an array (0 for anything else) and element i. */
size_t json_count(const struct json *v);
const struct json *json_at(const struct json *v, size_t i);
/* A string's bytes (NUL-terminated; *len may be NULL), or NULL. */
const char *json_string(const struct json *v, size_t *len);
/*
 * An integer given as a JSON number or as a string of decimal digits
 * (the gateway's int64s). False for anything else or out of range.
 */
bool json_int64(const struct json *v, int64_t *out);
bool json_uint64(const struct json *v, uint64_t *out);
/* True only for JSON true: an absent field is the default, false. */
bool json_true(const struct json *v);
/*
 * A base64 string member decoded into a new NUL-terminated buffer (free
 * it); an absent member is "" (the gateway leaves empty bytes out).
 * NULL when v is not a string or not base64, or out of memory.
 */
char *json_bytes(const struct json *v, size_t *len);

/* ---- JSON writer: a growing buffer that remembers a failed growth ---- */

struct jbuf {
	char *data;		/* NUL-terminated while !failed */
	size_t len, cap;
	bool failed;		/* out of memory: data is unusable */
};

void jbuf_init(struct jbuf *b);
void jbuf_free(struct jbuf *b);
void jbuf_raw(struct jbuf *b, const char *text);
void jbuf_printf(struct jbuf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* s, n bytes of UTF-8, as a quoted and escaped JSON string. */
void jbuf_string(struct jbuf *b, const char *s, size_t n);
/* n bytes as a quoted base64 string, as the gateway wants keys. */
void jbuf_base64(struct jbuf *b, const void *p, size_t n);

/* ---- etcd client: endpoints of one cluster, auth, fail-over ---- */

struct etcd_client_settings {
	/* URL_TCP endpoints of one cluster (tls set for etcds://). */
	const struct url *endpoints;
	size_t nendpoints;
	const char *user;	/* NULL: no auth */
	const char *password;
	const struct tls_settings *tls;
};

struct etcd_client;

/* Copies the settings; no I/O. Returns 0 or DLOCK_ENOMEM. */
int etcd_client_new(const struct etcd_client_settings *settings,
		    struct etcd_client **out, struct dlock_error *err);
void etcd_client_free(struct etcd_client *c);

/*
 * POSTs body (a JSON object) to path ("/v3/kv/txn", ...) and parses the
 * answer; for a streaming path, the first {"result":...} object's result.
 * Keeps one connection open between calls. A connection that fails, an
 * endpoint that says it cannot serve (no leader, not started, timed out:
 * gRPC UNAVAILABLE or DEADLINE_EXCEEDED) sends the call to the next
 * endpoint, round the list, until deadline (CLOCK_MONOTONIC ms); with a
 * user, authenticates first and once more when the token has expired.
 *
 * Returns 0 with *reply (json_free it), or
 *   DLOCK_ECONN	no endpoint answered before deadline (err names the
 *			last endpoint and why);
 *   DLOCK_EAUTH	wrong user or password, or permission denied;
 *   DLOCK_ECONFIG	TLS misconfigured (CA file unreadable, a plain
 *			endpoint that speaks TLS or the reverse);
 *   DLOCK_ESERVER	etcd refused: err has its message, and
 *			etcd_last_code() the gRPC code;
 *   DLOCK_ECANCELED	cancel_fd (-1: none) became readable;
 *   DLOCK_ENOMEM.
 */
int etcd_call(struct etcd_client *c, const char *path, const char *body,
	      int64_t deadline, int cancel_fd, struct json **reply,
	      struct dlock_error *err);

/*
 * The same on endpoint number index only, with no fail-over, and any
 * method: doctor's GET /version and /health, its per-member status.
 */
int etcd_call_endpoint(struct etcd_client *c, size_t index,
		       const char *method, const char *path,
		       const char *body, int64_t deadline, int cancel_fd,
		       struct json **reply, struct dlock_error *err);

/* gRPC status codes the callers tell apart. */
enum {
	GRPC_OK = 0,
	GRPC_UNKNOWN = 2,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_NOT_FOUND = 5,
	GRPC_FAILED_PRECONDITION = 9,
	GRPC_UNAVAILABLE = 14,
	GRPC_UNAUTHENTICATED = 16,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_INVALID_ARGUMENT = 3,
};

/* The gRPC code of the last DLOCK_ESERVER from c (0 after a success). */
int etcd_last_code(const struct etcd_client *c);

/*
 * Whether a member has been reached since etcd_client_new(): it sent a
 * whole HTTP answer, a refusal ("no leader") too, or it took a request
 * and did not answer in time, as a follower does while the members elect
 * a leader. The cluster exists, so a failure may be waited out. Nothing
 * listening, a closed connection or a TLS mismatch reaches nobody.
 */
bool etcd_client_reached(const struct etcd_client *c);

/* The endpoint that answered last, for messages ("h1:2379"). */
const char *etcd_endpoint_name(const struct etcd_client *c);

/* ---- watch: one key's changes, on a connection of its own ---- */

struct etcd_watch;

/*
 * Starts watching key (keylen bytes) for changes after revision
 * start_revision - 1 (0: from now), and returns once etcd has confirmed
 * the watch, before deadline. Fails over and authenticates as
 * etcd_call() does, with the same codes.
 */
int etcd_watch_open(struct etcd_client *c, const char *key, size_t keylen,
		    int64_t start_revision, int64_t deadline,
		    struct etcd_watch **out, struct dlock_error *err);
/*
 * The same for the keys from key up to range_end (excluded), as etcd's
 * WatchCreateRequest takes them: a prefix's range_end is the prefix with
 * its last byte plus one ("\0" alone: every key from key on).
 */
int etcd_watch_open_range(struct etcd_client *c, const char *key,
			  size_t keylen, const char *range_end,
			  size_t range_end_len, int64_t start_revision,
			  int64_t deadline, struct etcd_watch **out,
			  struct dlock_error *err);
/*
 * Waits until an event on the key arrives (*changed = true), or until
 * (*changed = false, returns 0). A watch etcd cancelled or compacted
 * also reports *changed = true: the caller looks again. Returns
 * DLOCK_ECONN when the stream broke, DLOCK_ECANCELED when cancel_fd
 * became readable.
 */
int etcd_watch_wait(struct etcd_watch *w, int64_t until, int cancel_fd,
		    bool *changed, struct dlock_error *err);
void etcd_watch_close(struct etcd_watch *w);

#endif
