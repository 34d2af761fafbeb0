/* SPDX-License-Identifier: MIT */
/*
 * The HTTP/1.1 response parser: pure, fed any number of bytes at a time,
 * so that the unit tests and the fuzzer can cut a reply anywhere.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "etcd/http.h"

void http_response_init(struct http_response *r, bool head_request)
{
	memset(r, 0, sizeof(*r));
	r->no_body = head_request;
}

void http_response_free(struct http_response *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = r->body_cap = 0;
}

static int bad(struct dlock_error *err, const char *why)
{
	return set_error(err, DLOCK_ESERVER, "not HTTP: %s", why);
}

static int add_body(struct http_response *r, const char *p, size_t n,
		    struct dlock_error *err)
{
	size_t want;
	char *grown;

	if (n > HTTP_BODY_MAX - r->body_len)
		return set_error(err, DLOCK_ESERVER, "a body of over %d MiB",
				 HTTP_BODY_MAX >> 20);
	if (r->body_len + n >= r->body_cap) {
		want = r->body_cap ? r->body_cap : 1024;
		while (want <= r->body_len + n)
			want *= 2;
		grown = realloc(r->body, want);
		if (!grown)
			return set_error(err, DLOCK_ENOMEM, "out of memory");
		r->body = grown;
		r->body_cap = want;
	}
	memcpy(r->body + r->body_len, p, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return 0;
}

void http_response_consume(struct http_response *r, size_t n)
{
	if (n > r->body_len)
		n = r->body_len;
	memmove(r->body, r->body + n, r->body_len - n);
	r->body_len -= n;
	if (r->body)
		r->body[r->body_len] = '\0';
}

/* "HTTP/1.1 200 OK": the version and a three-digit status. */
static int status_line(struct http_response *r, const char *line,
		       struct dlock_error *err)
{
	if (strncmp(line, "HTTP/1.", 7) || (line[7] != '0' && line[7] != '1') ||
	    line[8] != ' ' || line[9] < '1' || line[9] > '5' ||
	    line[10] < '0' || line[10] > '9' || line[11] < '0' ||
	    line[11] > '9' || (line[12] != ' ' && line[12] != '\0'))
		return bad(err, "no status line");
	r->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
		    (line[11] - '0');
	/* HTTP/1.0 closes unless told otherwise; nobody tells us. */
	r->close = line[7] == '0';
	return 0;
}

/* Whether comma-separated list value has token (case-insensitive). */
static bool has_token(const char *value, const char *token)
{
	size_t n = strlen(token);

	while (*value) {
		size_t len;

		value += strspn(value, " \t,");
		len = strcspn(value, ",");
		while (len && (value[len - 1] == ' ' || value[len - 1] == '\t'))
			len--;
		if (len == n && strncasecmp(value, token, n) == 0)
			return true;
		value += strcspn(value, ",");
	}
	return false;
}

static int header_line(struct http_response *r, char *line,
		       struct dlock_error *err)
{
	char *colon = strchr(line, ':'), *value, *end;

	if (line[0] == ' ' || line[0] == '\t')
		return bad(err, "a folded header line");
	if (!colon || colon == line)
		return bad(err, "a header line without a name");
	for (char *p = line; p < colon; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return bad(err, "a header name with white space");
	*colon = '\0';
	value = colon + 1 + strspn(colon + 1, " \t");
	end = value + strlen(value);
	while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (strcasecmp(line, "Content-Length") == 0) {
		uint64_t n = 0;

		if (!*value)
			return bad(err, "an empty Content-Length");
		for (const char *p = value; *p; p++) {
			if (*p < '0' || *p > '9' || n > UINT64_MAX / 10 - 1)
				return bad(err, "a bad Content-Length");
			n = n * 10 + (uint64_t)(*p - '0');
		}
		/* Two different lengths: which one would a proxy believe? */
		if (r->has_length && r->left != n)
			return bad(err, "two Content-Lengths");
		r->has_length = true;
		r->left = n;
	} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
		/* We send no TE header: chunked is all a server may use. */
		if (strcasecmp(value, "chunked") || r->chunked)
			return bad(err, "a transfer coding other than chunked");
		r->chunked = true;
	} else if (strcasecmp(line, "Connection") == 0) {
		if (has_token(value, "close"))
			r->close = true;
		else if (has_token(value, "keep-alive"))
			r->close = false;
	}
	return 0;
}

/* The header section ended: how does the body come? */
static int headers_done(struct http_response *r, struct dlock_error *err)
{
	if (r->status >= 100 && r->status < 200) {
		/* Interim (100 Continue): the real answer follows. */
		bool head = r->no_body;

		if (r->status == 101)
			return bad(err, "101 Switching Protocols unasked");
		http_response_free(r);
		http_response_init(r, head);
		return 0;
	}
	if (r->chunked && r->has_length)
		return bad(err, "both chunked and a Content-Length");
	if (r->no_body || r->status == 204 || r->status == 304) {
		r->state = HTTP_DONE;
		return 0;
	}
	if (r->chunked) {
		r->state = HTTP_CHUNK_SIZE;
		return 0;
	}
	if (r->has_length) {
		if (r->left > HTTP_BODY_MAX)
			return set_error(err, DLOCK_ESERVER, "a body of over "
					 "%d MiB", HTTP_BODY_MAX >> 20);
		r->state = r->left ? HTTP_BODY : HTTP_DONE;
		return 0;
	}
	r->until_close = true;
	r->close = true;
	r->state = HTTP_BODY;
	return 0;
}

/* "1a3;name=value": the size in hex, then extensions that we ignore. */
static int chunk_size_line(struct http_response *r, const char *line,
			   struct dlock_error *err)
{
	const char *p = line;
	uint64_t n = 0;

	if (!*p)
		return bad(err, "an empty chunk size");
	for (; *p && *p != ';' && *p != ' ' && *p != '\t'; p++) {
		int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			return bad(err, "a bad chunk size");
		if (n > HTTP_BODY_MAX)
			return set_error(err, DLOCK_ESERVER, "a chunk of over "
					 "%d MiB", HTTP_BODY_MAX >> 20);
		n = n << 4 | (uint64_t)d;
	}
	if (p == line)
		return bad(err, "a bad chunk size");
	p += strspn(p, " \t");
	if (*p && *p != ';')
		return bad(err, "a bad chunk size");
	if (n > HTTP_BODY_MAX)
		return set_error(err, DLOCK_ESERVER, "a chunk of over %d MiB",
				 HTTP_BODY_MAX >> 20);
	r->left = n;
	r->state = n ? HTTP_CHUNK_DATA : HTTP_TRAILERS;
	return 0;
}

/* One line of the header section, the chunk framing or the trailers. */
static int line_done(struct http_response *r, struct dlock_error *err)
{
	char *line = r->line;

	r->line[r->line_len] = '\0';
	if (memchr(line, '\0', r->line_len))
		return bad(err, "a NUL in a line");
	r->line_len = 0;
	switch (r->state) {
	case HTTP_STATUS_LINE:
		r->state = HTTP_HEADERS;
		return status_line(r, line, err);
	case HTTP_HEADERS:
		if (!*line)
			return headers_done(r, err);
		return header_line(r, line, err);
	case HTTP_CHUNK_SIZE:
		return chunk_size_line(r, line, err);
	case HTTP_CHUNK_END:
		if (*line)
			return bad(err, "chunk data longer than its size");
		r->state = HTTP_CHUNK_SIZE;
		return 0;
	case HTTP_TRAILERS:
		/* Trailers say nothing we need (grpc-gateway's name a type). */
		if (!*line)
			r->state = HTTP_DONE;
		else if (!strchr(line, ':'))
			return bad(err, "a bad trailer");
		return 0;
	default:
		return bad(err, "a line where data was due");
	}
}

static bool in_head(enum http_state s)
{
	return s == HTTP_STATUS_LINE || s == HTTP_HEADERS ||
	       s == HTTP_TRAILERS;
}

int http_response_feed(struct http_response *r, const char *in, size_t n,
		       size_t *used, struct dlock_error *err)
{
	size_t i = 0;
	int rc = 0;

	while (i < n && r->state != HTTP_DONE && !rc) {
		if (r->state == HTTP_BODY || r->state == HTTP_CHUNK_DATA) {
			size_t take = n - i;

			if (!r->until_close && take > r->left)
				take = (size_t)r->left;
			rc = add_body(r, in + i, take, err);
			i += take;
			if (r->until_close)
				continue;
			r->left -= take;
			if (!r->left)
				r->state = r->state == HTTP_BODY ? HTTP_DONE :
					   HTTP_CHUNK_END;
			continue;
		}
		/* Lines end with CRLF; a bare LF is taken too (RFC 9112 2.2). */
		if (in[i] == '\n') {
			if (r->line_len && r->line[r->line_len - 1] == '\r')
				r->line_len--;
			i++;
			rc = line_done(r, err);
			continue;
		}
		if (r->line_len + 1 >= sizeof(r->line))
			return bad(err, "a line too long");
		if (in_head(r->state) && ++r->head_bytes > HTTP_HEAD_MAX)
			return bad(err, "a header section too long");
		r->line[r->line_len++] = in[i++];
	}
	*used = i;
	return rc;
}

int http_response_eof(struct http_response *r, struct dlock_error *err)
{
	if (r->state == HTTP_DONE)
		return 0;
	if (r->until_close) {
		r->state = HTTP_DONE;
		return 0;
	}
	return set_error(err, DLOCK_ECONN, "the server closed the connection "
			 "%s", r->state == HTTP_STATUS_LINE && !r->line_len ?
			 "before answering" : "in the middle of its answer");
}
