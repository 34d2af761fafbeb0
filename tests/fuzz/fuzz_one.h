/* SPDX-License-Identifier: MIT */
/*
 * The one fuzzing entry point, shared by the libFuzzer target
 * (fuzz_parsers.c) and the corpus replay of "make unit"
 * (tests/unit/test_fuzz_corpus.c).
 *
 * The input, cut at its first NUL, goes through every pure parser of lib/
 * (the etcd wire layer's JSON reader and HTTP response parser too).
 * Besides the sanitizers, the checks below abort() when a parser breaks its
 * own contract: a value out of range, a failure without a message, fields
 * left allocated after a failure.
 */
#ifndef DLOCK_FUZZ_ONE_H
#define DLOCK_FUZZ_ONE_H

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "etcd/http.h"
#include "etcd/wire.h"
#include "internal.h"

#define FUZZ_YEAR_MS (365LL * 24 * 3600 * 1000)
#define FUZZ_SUN_PATH_SIZE sizeof(((struct sockaddr_un *)0)->sun_path)

#define fuzz_check(cond) \
	do { \
		if (!(cond)) \
			abort(); \
	} while (0)

/* A failure must say what failed, with the code it returned. */
static inline void fuzz_check_error(int rc, int code,
				    const struct dlock_error *err)
{
	fuzz_check(rc == code);
	fuzz_check(err->code == rc);
	fuzz_check(err->msg[0] != '\0');
	fuzz_check(memchr(err->msg, '\0', sizeof(err->msg)));
}

static inline void fuzz_duration(const char *s)
{
	struct dlock_error err;
	int64_t strict = -1, lenient = -1;
	int rc_strict, rc_lenient;

	rc_strict = dlock_parse_duration(s, false, &strict, &err);
	if (rc_strict)
		fuzz_check_error(rc_strict, DLOCK_EUSAGE, &err);
	else
		fuzz_check(strict > 0 && strict <= FUZZ_YEAR_MS);
	rc_lenient = dlock_parse_duration(s, true, &lenient, &err);
	if (rc_lenient)
		fuzz_check_error(rc_lenient, DLOCK_EUSAGE, &err);
	else
		fuzz_check(lenient >= 0 && lenient <= FUZZ_YEAR_MS);
	/* allow_zero changes the verdict on zero only */
	if (!rc_strict)
		fuzz_check(!rc_lenient && lenient == strict);
	if (!rc_lenient && lenient > 0)
		fuzz_check(!rc_strict);
}

static inline void fuzz_uint(const char *s)
{
	static const long maxes[] = { 0, 255, 65535, 2147483647L, LONG_MAX };
	struct dlock_error err;
	bool accepted = false;
	long first = -1;

	for (size_t i = 0; i < ARRAY_SIZE(maxes); i++) {
		long v = -1;
		int rc = dlock_parse_uint(s, maxes[i], &v, &err);

		if (rc) {
			fuzz_check_error(rc, DLOCK_EUSAGE, &err);
			/* what fits under a bound fits under a larger one */
			fuzz_check(!accepted);
			continue;
		}
		fuzz_check(v >= 0 && v <= maxes[i]);
		if (accepted)
			fuzz_check(v == first);
		accepted = true;
		first = v;
	}
}

static inline void fuzz_names(const char *s)
{
	struct dlock_error err;
	size_t len = strlen(s);
	int name_rc = dlock_check_name(s, &err);
	int prefix_rc;

	if (name_rc)
		fuzz_check_error(name_rc, DLOCK_EUSAGE, &err);
	else
		fuzz_check(len >= 1 && len <= DLOCK_NAME_MAX && s[0] != '-');
	prefix_rc = check_prefix(s, &err);
	if (prefix_rc)
		fuzz_check_error(prefix_rc, DLOCK_EUSAGE, &err);
	else
		fuzz_check(len <= DLOCK_PREFIX_MAX);
	/* names and prefixes share their bytes */
	if (!name_rc && len <= DLOCK_PREFIX_MAX)
		fuzz_check(!prefix_rc);
	if (!prefix_rc && len >= 1 && s[0] != '-')
		fuzz_check(!name_rc);
}

static inline void fuzz_url(const char *s)
{
	struct dlock_error err;
	struct url u;
	int rc = url_parse(s, &u, &err);

	if (rc) {
		fuzz_check(rc == DLOCK_ECONFIG || rc == DLOCK_ENOMEM);
		fuzz_check_error(rc, rc, &err);
		fuzz_check(!u.host && !u.path && !u.user && !u.password &&
			   !u.display && !u.sentinels && !u.service);
		url_clear(&u);
		return;
	}
	fuzz_check(u.display);
	fuzz_check(u.db >= 0 && u.db <= 2147483647L);
	if (u.sentinel) {
		fuzz_check(u.kind == URL_TCP && !u.host && !u.path);
		fuzz_check(u.nsentinels >= 1 && u.service && u.service[0]);
		for (size_t i = 0; i < u.nsentinels; i++)
			fuzz_check(u.sentinels[i].host[0] &&
				   u.sentinels[i].port >= 1 &&
				   u.sentinels[i].port <= 65535);
		if (u.password)
			fuzz_check(strstr(u.display, ":***@"));
	} else if (u.kind == URL_TCP) {
		fuzz_check(u.host && u.host[0] && !u.path);
		fuzz_check(u.port >= 1 && u.port <= 65535);
		if (u.password)
			fuzz_check(strstr(u.display, ":***@"));
	} else {
		fuzz_check(u.kind == URL_UNIX && !u.tls);
		fuzz_check(u.path && u.path[0] == '/' && !u.host);
		fuzz_check(strlen(u.path) < FUZZ_SUN_PATH_SIZE);
		fuzz_check(!u.user && !u.password);
	}
	url_clear(&u);
	fuzz_check(!u.host && !u.path && !u.user && !u.password &&
		   !u.display);
}

static inline bool fuzz_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* line is modified. */
static inline void fuzz_config_line(char *line, size_t len)
{
	struct dlock_error err;
	char *key, *value;
	int rc = config_split_line(line, &key, &value, &err);

	if (rc) {
		fuzz_check_error(rc, DLOCK_ECONFIG, &err);
		fuzz_check(!key && !value);
		return;
	}
	if (!key) {
		fuzz_check(!value);
		return;
	}
	fuzz_check(value);
	fuzz_check(key >= line && key < line + len);
	fuzz_check(value >= line && value <= line + len);
	fuzz_check(key[0] && key[0] != '#' && !strchr(key, '='));
	fuzz_check(key[0] != ' ' && key[0] != '\t');
	fuzz_check(!fuzz_blank(key[strlen(key) - 1]));
	fuzz_check(value[0] != ' ' && value[0] != '\t');
	fuzz_check(!value[0] || !fuzz_blank(value[strlen(value) - 1]));
}

static inline bool fuzz_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Every accessor on every value: none may crash or read past the end. */
static inline void fuzz_json_walk(const struct json *v)
{
	int64_t i;
	uint64_t u;
	size_t len = 0;
	char *bytes;

	fuzz_check(json_type(v) <= JSON_OBJECT);
	if (json_int64(v, &i) && i > 0)
		fuzz_check(json_uint64(v, &u) && (int64_t)u == i);
	if (json_string(v, &len))
		fuzz_check(json_string(v, NULL)[len] == '\0');
	/* An absent member is empty bytes; anything else must be a string. */
	bytes = json_bytes(v, &len);
	if (bytes)
		fuzz_check((!v || json_type(v) == JSON_STRING) &&
			   bytes[len] == '\0');
	free(bytes);
	for (size_t k = 0; k < json_count(v); k++)
		fuzz_json_walk(json_at(v, k));
	fuzz_check(!json_at(v, json_count(v)));
	if (json_type(v) == JSON_OBJECT) {
		fuzz_json_walk(json_get(v, "result"));
		fuzz_json_walk(json_path(v, "header.revision"));
	}
}

static inline void fuzz_json(const char *s, size_t len)
{
	struct dlock_error err = { 0 };
	struct json *v = json_parse(s, len, &err);
	ssize_t scan = json_scan_value(s, len);

	fuzz_check(scan >= -1 && scan <= (ssize_t)len);
	if (!v) {
		fuzz_check(err.code == DLOCK_ESERVER ||
			   err.code == DLOCK_ENOMEM);
		fuzz_check_error(err.code, err.code, &err);
	} else {
		enum json_type t = json_type(v);

		/* The stream splitter ends a valid container where it ends. */
		if (t == JSON_OBJECT || t == JSON_ARRAY) {
			fuzz_check(scan > 0);
			for (size_t k = (size_t)scan; k < len; k++)
				fuzz_check(fuzz_json_space(s[k]));
		}
		fuzz_json_walk(v);
		json_free(v);
	}
	if (scan > 0)
		json_free(json_parse(s, (size_t)scan, &err));
}

struct fuzz_http_outcome {
	int rc;
	enum http_state state;
	int status;
	size_t used, body_len;
	char *body;
};

static inline void fuzz_http_feed(const char *s, size_t len, size_t step,
				  struct fuzz_http_outcome *o)
{
	struct http_response r;
	struct dlock_error err = { 0 };
	size_t off = 0;

	http_response_init(&r, false);
	o->rc = 0;
	while (off < len && r.state != HTTP_DONE && !o->rc) {
		size_t n = len - off < step ? len - off : step, used = 0;

		o->rc = http_response_feed(&r, s + off, n, &used, &err);
		fuzz_check(used <= n);
		off += used;
		if (!o->rc && used < n)
			fuzz_check(r.state == HTTP_DONE);
	}
	if (o->rc) {
		fuzz_check(o->rc == DLOCK_ESERVER || o->rc == DLOCK_ENOMEM);
		fuzz_check_error(o->rc, o->rc, &err);
	}
	fuzz_check(r.body_len <= HTTP_BODY_MAX);
	fuzz_check(!r.body || r.body[r.body_len] == '\0');
	o->state = r.state;
	o->status = r.status;
	o->used = off;
	o->body_len = r.body_len;
	o->body = r.body;
	r.body = NULL;
	if (!o->rc && r.state != HTTP_DONE) {
		int eof = http_response_eof(&r, &err);

		fuzz_check(eof == 0 || eof == DLOCK_ECONN);
	}
	http_response_free(&r);
}

/* Fed whole or a byte at a time, a response parses the same. */
static inline void fuzz_http(const char *s, size_t len)
{
	struct fuzz_http_outcome whole, bytes;

	fuzz_http_feed(s, len, len ? len : 1, &whole);
	fuzz_http_feed(s, len, 1, &bytes);
	fuzz_check(whole.rc == bytes.rc && whole.state == bytes.state &&
		   whole.status == bytes.status && whole.used == bytes.used &&
		   whole.body_len == bytes.body_len);
	fuzz_check(!whole.body_len ||
		   memcmp(whole.body, bytes.body, whole.body_len) == 0);
	free(whole.body);
	free(bytes.body);
}

static inline int fuzz_one(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_duration(s);
	fuzz_uint(s);
	fuzz_names(s);
	fuzz_url(s);
	fuzz_json(s, strlen(s));
	fuzz_http(s, strlen(s));
	fuzz_config_line(s, strlen(s));	/* last: it writes into s */
	free(s);
	return 0;
}

#endif
