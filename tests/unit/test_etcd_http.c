/* SPDX-License-Identifier: MIT */
/*
 * The HTTP response parser on answers etcd 3.4's gateway gave (taken with
 * curl --raw), fed whole, byte by byte and cut in two at every place, and
 * on what a broken or hostile server might send.
 */
#include <stdlib.h>
#include <string.h>

#include "etcd/http.h"
#include "tap.h"

struct outcome {
	int rc;
	enum http_state state;
	int status;
	bool close;
	size_t used;
	char *body;
	size_t body_len;
	char msg[DLOCK_ERRMSG_MAX];
};

/* Feeds text in pieces of at most step bytes (0: cut once, at cut). */
static void run(const char *text, size_t len, size_t step, size_t cut,
		bool head, struct outcome *o)
{
	struct http_response r;
	struct dlock_error err = { 0 };
	size_t off = 0;

	http_response_init(&r, head);
	o->rc = 0;
	while (off < len && r.state != HTTP_DONE) {
		size_t n = step ? step : (off < cut ? cut - off : len - off);
		size_t used = 0;

		if (n > len - off)
			n = len - off;
		o->rc = http_response_feed(&r, text + off, n, &used, &err);
		off += used;
		if (o->rc || used < n)
			break;
	}
	o->state = r.state;
	o->status = r.status;
	o->close = r.close;
	o->used = off;
	o->body_len = r.body_len;
	o->body = r.body_len ? malloc(r.body_len + 1) : NULL;
	if (o->body) {
		memcpy(o->body, r.body, r.body_len);
		o->body[r.body_len] = '\0';
	}
	snprintf(o->msg, sizeof(o->msg), "%s", o->rc ? err.msg : "");
	http_response_free(&r);
}

static bool same(const struct outcome *a, const struct outcome *b)
{
	return a->rc == b->rc && a->state == b->state &&
	       a->status == b->status && a->close == b->close &&
	       a->used == b->used && a->body_len == b->body_len &&
	       (!a->body_len || memcmp(a->body, b->body, a->body_len) == 0);
}

/*
 * Checks one answer: whole, byte by byte and at every cut, with what
 * follows it (the next answer on a kept-alive connection) left unread.
 */
static void check(const char *what, const char *text, int status,
		  const char *body, bool close)
{
	static const char next[] = "HTTP/1.1 200 OK\r\n";
	size_t len = strlen(text);
	char *both = malloc(len + sizeof(next));
	struct outcome whole, o;
	int differ = 0;

	memcpy(both, text, len);
	memcpy(both + len, next, sizeof(next));
	run(both, len + sizeof(next) - 1, len + sizeof(next), 0, false,
	    &whole);
	ok(whole.rc == 0 && whole.state == HTTP_DONE, "%s: complete (%s)",
	   what, whole.msg);
	is_int(whole.status, status, "%s: status", what);
	is_str(whole.body ? whole.body : "", body, "%s: body", what);
	is_int(whole.used, len, "%s: stops at its end", what);
	is_int(whole.close, close, "%s: connection %s", what,
	       close ? "closes" : "stays open");
	run(both, len + sizeof(next) - 1, 1, 0, false, &o);
	ok(same(&whole, &o), "%s: byte by byte, the same", what);
	free(o.body);
	for (size_t cut = 1; cut < len; cut++) {
		run(both, len + sizeof(next) - 1, 0, cut, false, &o);
		differ += !same(&whole, &o);
		free(o.body);
	}
	is_int(differ, 0, "%s: cut anywhere, the same", what);
	free(whole.body);
	free(both);
}

static void refuse(const char *what, const char *text, const char *why)
{
	struct outcome whole, o;
	int differ = 0;
	size_t len = strlen(text);

	run(text, len, len, 0, false, &whole);
	ok(whole.rc == DLOCK_ESERVER && strstr(whole.msg, why),
	   "refuses %s: %s", what, whole.msg);
	run(text, len, 1, 0, false, &o);
	differ += o.rc != whole.rc || strcmp(o.msg, whole.msg);
	free(o.body);
	for (size_t cut = 1; cut < len; cut++) {
		run(text, len, 0, cut, false, &o);
		differ += o.rc != whole.rc || strcmp(o.msg, whole.msg);
		free(o.body);
	}
	is_int(differ, 0, "%s: refused the same however cut", what);
	free(whole.body);
}

static const char put_reply[] =
	"HTTP/1.1 200 OK\r\n"
	"Access-Control-Allow-Headers: accept, content-type, authorization\r\n"
	"Content-Type: application/json\r\n"
	"Grpc-Metadata-Content-Type: application/grpc\r\n"
	"Date: Thu, 03 Dec 2026 09:47:37 GMT\r\n"
	"Content-Length: 27\r\n"
	"\r\n"
	"{\"header\":{\"revision\":\"6\"}}";

static const char revoke_unknown[] =
	"HTTP/1.1 404 Not Found\r\n"
	"Content-Type: application/json\r\n"
	"Trailer: Grpc-Trailer-Content-Type\r\n"
	"Transfer-Encoding: chunked\r\n"
	"\r\n"
	"6c\r\n"
	"{\"error\":\"etcdserver: requested lease not found\",\"message\":"
	"\"etcdserver: requested lease not found\",\"code\":5}\r\n"
	"0\r\n"
	"Grpc-Trailer-Content-Type: application/grpc\r\n"
	"\r\n";

static const char keepalive[] =
	"HTTP/1.1 200 OK\r\n"
	"Content-Type: application/json\r\n"
	"Transfer-Encoding: chunked\r\n"
	"\r\n"
	"20;name=value;x=\"q\"\r\n"
	"{\"result\":{\"ID\":\"1\",\"TTL\":\"5\"}}\n\r\n"
	"2\r\n"
	"{}\r\n"
	"000\r\n"
	"\r\n";

static void test_good(void)
{
	check("a put's answer", put_reply, 200,
	      "{\"header\":{\"revision\":\"6\"}}", false);
	check("a chunked error with a trailer", revoke_unknown, 404,
	      "{\"error\":\"etcdserver: requested lease not found\","
	      "\"message\":\"etcdserver: requested lease not found\","
	      "\"code\":5}", false);
	check("chunks with extensions", keepalive, 200,
	      "{\"result\":{\"ID\":\"1\",\"TTL\":\"5\"}}\n{}", false);
	check("100 Continue first",
	      "HTTP/1.1 100 Continue\r\n\r\n"
	      "HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}", 201, "{}",
	      false);
	check("bare LF lines",
	      "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n1\nx\n0\n\n",
	      200, "x", false);
	check("no body for 204", "HTTP/1.1 204 No Content\r\n\r\n", 204, "",
	      false);
	check("an empty body", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	      200, "", false);
	check("Connection: close",
	      "HTTP/1.1 503 Service Unavailable\r\nConnection: keep-alive, "
	      "Close\r\nContent-Length: 1\r\n\r\nx", 503, "x", true);
	check("HTTP/1.0 closes",
	      "HTTP/1.0 400 Bad Request\r\nContent-Length: 3\r\n\r\nabc", 400,
	      "abc", true);
	check("upper-case hex and a repeated equal length",
	      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Length: 10"
	      "\r\n\r\n0123456789", 200, "0123456789", false);
	check("chunked hex A-F",
	      "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n"
	      "0123456789\r\n0 \r\n\r\n", 200, "0123456789", false);
}

static void test_until_close(void)
{
	static const char text[] =
		"HTTP/1.0 400 Bad Request\r\n\r\n"
		"Client sent an HTTP request to an HTTPS server.\n";
	struct http_response r;
	struct dlock_error err = { 0 };
	size_t used = 0;

	http_response_init(&r, false);
	is_int(http_response_feed(&r, text, strlen(text), &used, &err), 0,
	       "a body until close: fed");
	is_int(r.state, HTTP_BODY, "not done before the end of the stream");
	is_int(http_response_eof(&r, &err), 0, "done at the end of it");
	ok(r.state == HTTP_DONE && r.close && strstr(r.body, "HTTPS server"),
	   "Go's answer to plain HTTP on a TLS port");
	http_response_free(&r);

	http_response_init(&r, false);
	http_response_feed(&r, put_reply, strlen(put_reply) - 3, &used, &err);
	is_int(http_response_eof(&r, &err), DLOCK_ECONN,
	       "a body cut short is a broken connection");
	ok(strstr(err.msg, "middle"), "which the message says: %s", err.msg);
	http_response_free(&r);

	http_response_init(&r, false);
	is_int(http_response_eof(&r, &err), DLOCK_ECONN, "nothing at all");
	ok(strstr(err.msg, "before answering"), "%s", err.msg);
	http_response_free(&r);

	http_response_init(&r, true);
	http_response_feed(&r, put_reply, strlen(put_reply), &used, &err);
	ok(r.state == HTTP_DONE && used == strlen(put_reply) - 27,
	   "a HEAD's answer has no body whatever its length says");
	http_response_free(&r);
}

static void test_consume(void)
{
	struct http_response r;
	struct dlock_error err = { 0 };
	size_t used = 0;

	http_response_init(&r, false);
	http_response_feed(&r, keepalive, strlen(keepalive), &used, &err);
	http_response_consume(&r, 32);
	is_str(r.body, "{}", "consume drops the front of the body");
	http_response_consume(&r, 10);
	ok(r.body_len == 0 && r.body[0] == '\0', "and no more than it has");
	http_response_free(&r);
}

static void test_bad(void)
{
	char *big;

	refuse("garbage", "SSH-2.0-OpenSSH_9.2\r\n", "no status line");
	refuse("a RESP error", "-ERR unknown command\r\n", "no status line");
	refuse("HTTP/2", "HTTP/2 200\r\n", "no status line");
	refuse("a status of two digits", "HTTP/1.1 20 OK\r\n",
	       "no status line");
	refuse("a status of 600", "HTTP/1.1 600 X\r\n", "no status line");
	refuse("a folded header", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n",
	       "folded");
	refuse("a header without a name", "HTTP/1.1 200 OK\r\n: b\r\n",
	       "without a name");
	refuse("a header name with a space",
	       "HTTP/1.1 200 OK\r\nContent Length: 1\r\n", "white space");
	refuse("two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
	       "Content-Length: 2\r\n", "two Content-Lengths");
	refuse("a negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n",
	       "bad Content-Length");
	refuse("a huge length", "HTTP/1.1 200 OK\r\nContent-Length: "
	       "99999999999999999999999\r\n", "bad Content-Length");
	refuse("a length over the bound", "HTTP/1.1 200 OK\r\nContent-Length: "
	       "8388609\r\n\r\n", "over 8 MiB");
	refuse("gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n",
	       "other than chunked");
	refuse("chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
	       "\r\nTransfer-Encoding: chunked\r\n", "other than chunked");
	refuse("chunked and a length", "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	       "chunked\r\nContent-Length: 3\r\n\r\n", "both");
	refuse("a bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	       "chunked\r\n\r\nzz\r\n", "bad chunk size");
	refuse("an empty chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	       "chunked\r\n\r\n\r\n", "empty chunk size");
	refuse("a chunk size then junk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	       "chunked\r\n\r\n1 x\r\n", "bad chunk size");
	refuse("a chunk over the bound", "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	       "chunked\r\n\r\n800001\r\n", "over 8 MiB");
	refuse("a chunk size that overflows", "HTTP/1.1 200 OK\r\n"
	       "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff1\r\n",
	       "over 8 MiB");
	refuse("chunk data longer than its size", "HTTP/1.1 200 OK\r\n"
	       "Transfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n", "longer");
	refuse("a bad trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
	       "\r\n\r\n0\r\nno colon\r\n", "bad trailer");
	refuse("101", "HTTP/1.1 101 Switching Protocols\r\n\r\n", "101");
	big = malloc(HTTP_LINE_MAX + 64);
	snprintf(big, HTTP_LINE_MAX + 64, "HTTP/1.1 200 OK\r\nX: %0*d\r\n",
		 HTTP_LINE_MAX, 0);
	refuse("a header line over the bound", big, "line too long");
	free(big);
	{
		/* Many short headers: the section's bound, not the line's. */
		size_t n = HTTP_HEAD_MAX / 8 + 2;
		char *many = malloc(n * 9 + 32);
		struct outcome o;

		strcpy(many, "HTTP/1.1 200 OK\r\n");
		for (size_t i = 0; i < n; i++)
			memcpy(many + 17 + i * 9, "X: 1234\r\n", 10);
		run(many, strlen(many), strlen(many), 0, false, &o);
		ok(o.rc == DLOCK_ESERVER && strstr(o.msg, "header section"),
		   "a header section over the bound: %s", o.msg);
		free(o.body);
		free(many);
	}
	{
		/* A NUL inside a header value gets past strchr: caught. */
		static const char text[] = "HTTP/1.1 200 OK\r\nA: b\0c\r\n";
		struct outcome o;

		run(text, sizeof(text) - 1, sizeof(text), 0, false, &o);
		ok(o.rc == DLOCK_ESERVER && strstr(o.msg, "NUL"),
		   "a NUL in a header line: %s", o.msg);
		free(o.body);
	}
}

int main(void)
{
	test_good();
	test_until_close();
	test_consume();
	test_bad();
	return done_testing();
}
