/* SPDX-License-Identifier: MIT */
/*
 * A JSON reader into a small tree, and the jbuf writer. The gateway's
 * replies are small objects, so a tree is simpler to use than a
 * streaming reader and costs little; the bounds below keep a hostile or
 * broken reply from costing much more than its own size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd/http.h"
#include "etcd/wire.h"

/* Deeper than any gateway reply (they nest 5 or 6 levels). */
#define JSON_DEPTH_MAX 64
/*
 * Values in one document. A range over a large prefix is the biggest
 * reply we ask for: 8 MiB of keys is well under a million values, and
 * the bound keeps "[[],[],...]" from taking 40 times its size.
 */
#define JSON_VALUES_MAX (1 << 20)

struct json_member {
	char *key;
	size_t keylen;
	struct json *value;
};

struct json {
	enum json_type type;
	size_t len;		/* bytes of a string or number; elements */
	union {
		char *text;	/* JSON_STRING (decoded), JSON_NUMBER */
		struct json **items;
		struct json_member *members;
	} u;
};

struct parser {
	const char *p, *end;
	size_t values;
	struct dlock_error *err;
	int rc;
};

static int fail(struct parser *ps, int code, const char *why)
{
	if (!ps->rc)
		ps->rc = set_error(ps->err, code, code == DLOCK_ENOMEM ?
				   "out of memory" : "not JSON: %s", why);
	return ps->rc;
}

static void skip_space(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
				   *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

void json_free(struct json *v)
{
	if (!v)
		return;
	switch (v->type) {
	case JSON_STRING:
	case JSON_NUMBER:
		free(v->u.text);
		break;
	case JSON_ARRAY:
		for (size_t i = 0; i < v->len; i++)
			json_free(v->u.items[i]);
		free(v->u.items);
		break;
	case JSON_OBJECT:
		for (size_t i = 0; i < v->len; i++) {
			free(v->u.members[i].key);
			json_free(v->u.members[i].value);
		}
		free(v->u.members);
		break;
	default:
		break;
	}
	free(v);
}

static struct json *new_value(struct parser *ps, enum json_type type)
{
	struct json *v;

	if (++ps->values > JSON_VALUES_MAX) {
		fail(ps, DLOCK_ESERVER, "too many values");
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		fail(ps, DLOCK_ENOMEM, NULL);
	else
		v->type = type;
	return v;
}

static int hex4(const char *s)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static size_t put_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* One \u escape at s (after the backslash), with a surrogate pair's tail. */
static int unicode_escape(struct parser *ps, const char **s, char *o,
			  size_t *olen)
{
	const char *q = *s;
	int hi, lo;

	if (ps->end - q < 5 || (hi = hex4(q + 1)) < 0)
		return fail(ps, DLOCK_ESERVER, "bad \\u escape");
	q += 5;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return fail(ps, DLOCK_ESERVER, "lone low surrogate");
	if (hi >= 0xd800 && hi <= 0xdbff) {
		if (ps->end - q < 6 || q[0] != '\\' || q[1] != 'u' ||
		    (lo = hex4(q + 2)) < 0 || lo < 0xdc00 || lo > 0xdfff)
			return fail(ps, DLOCK_ESERVER, "lone high surrogate");
		q += 6;
		*olen += put_utf8(o + *olen, 0x10000 +
				  ((unsigned long)(hi - 0xd800) << 10) +
				  (unsigned long)(lo - 0xdc00));
	} else {
		*olen += put_utf8(o + *olen, (unsigned long)hi);
	}
	*s = q;
	return 0;
}

/* A string at ps->p (its opening quote), decoded into a new buffer. */
static char *parse_string(struct parser *ps, size_t *len)
{
	const char *s = ps->p + 1, *q;
	char *out;
	size_t n = 0;

	/* The decoded text is never longer than the quoted one. */
	for (q = s; q < ps->end && *q != '"'; q++)
		if (*q == '\\' && ++q == ps->end)
			break;
	if (q >= ps->end) {
		fail(ps, DLOCK_ESERVER, "unterminated string");
		return NULL;
	}
	out = malloc((size_t)(q - s) + 1);
	if (!out) {
		fail(ps, DLOCK_ENOMEM, NULL);
		return NULL;
	}
	while (*s != '"') {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20) {
			fail(ps, DLOCK_ESERVER, "control character in a string");
			goto fail;
		}
		if (c != '\\') {
			out[n++] = (char)c;
			s++;
			continue;
		}
		s++;
		switch (*s) {
		case '"': case '\\': case '/':
			out[n++] = *s++;
			break;
		case 'b': out[n++] = '\b'; s++; break;
		case 'f': out[n++] = '\f'; s++; break;
		case 'n': out[n++] = '\n'; s++; break;
		case 'r': out[n++] = '\r'; s++; break;
		case 't': out[n++] = '\t'; s++; break;
		case 'u':
			if (unicode_escape(ps, &s, out, &n))
				goto fail;
			break;
		default:
			fail(ps, DLOCK_ESERVER, "bad escape in a string");
			goto fail;
		}
	}
	out[n] = '\0';
	ps->p = s + 1;
	*len = n;
	return out;
fail:
	free(out);
	return NULL;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static struct json *parse_number(struct parser *ps)
{
	const char *s = ps->p, *q = s;
	struct json *v;

	if (q < ps->end && *q == '-')
		q++;
	if (q < ps->end && *q == '0')
		q++;
	else if (q < ps->end && is_digit(*q))
		while (q < ps->end && is_digit(*q))
			q++;
	else
		goto bad;
	if (q < ps->end && *q == '.') {
		if (++q == ps->end || !is_digit(*q))
			goto bad;
		while (q < ps->end && is_digit(*q))
			q++;
	}
	if (q < ps->end && (*q == 'e' || *q == 'E')) {
		if (++q < ps->end && (*q == '+' || *q == '-'))
			q++;
		if (q == ps->end || !is_digit(*q))
			goto bad;
		while (q < ps->end && is_digit(*q))
			q++;
	}
	v = new_value(ps, JSON_NUMBER);
	if (!v)
		return NULL;
	v->len = (size_t)(q - s);
	v->u.text = strndup(s, v->len);
	if (!v->u.text) {
		free(v);
		fail(ps, DLOCK_ENOMEM, NULL);
		return NULL;
	}
	ps->p = q;
	return v;
bad:
	fail(ps, DLOCK_ESERVER, "bad number");
	return NULL;
}

static bool grow(void **items, size_t *cap, size_t n, size_t size)
{
	void *grown;
	size_t want;

	if (n < *cap)
		return true;
	want = *cap ? *cap * 2 : 4;
	grown = realloc(*items, want * size);
	if (!grown)
		return false;
	*items = grown;
	*cap = want;
	return true;
}

static struct json *parse_value(struct parser *ps, int depth);

static struct json *parse_array(struct parser *ps, int depth)
{
	struct json *v = new_value(ps, JSON_ARRAY);
	size_t cap = 0;

	if (!v)
		return NULL;
	ps->p++;
	skip_space(ps);
	if (ps->p < ps->end && *ps->p == ']') {
		ps->p++;
		return v;
	}
	for (;;) {
		struct json *item;

		if (!grow((void **)&v->u.items, &cap, v->len,
			  sizeof(*v->u.items))) {
			fail(ps, DLOCK_ENOMEM, NULL);
			goto fail;
		}
		item = parse_value(ps, depth + 1);
		if (!item)
			goto fail;
		v->u.items[v->len++] = item;
		skip_space(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == ']') {
			ps->p++;
			return v;
		}
		fail(ps, DLOCK_ESERVER, "expected ',' or ']'");
		goto fail;
	}
fail:
	json_free(v);
	return NULL;
}

static struct json *parse_object(struct parser *ps, int depth)
{
	struct json *v = new_value(ps, JSON_OBJECT);
	size_t cap = 0;

	if (!v)
		return NULL;
	ps->p++;
	skip_space(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		return v;
	}
	for (;;) {
		struct json_member *m;

		if (!grow((void **)&v->u.members, &cap, v->len,
			  sizeof(*v->u.members))) {
			fail(ps, DLOCK_ENOMEM, NULL);
			goto fail;
		}
		m = &v->u.members[v->len];
		skip_space(ps);
		if (ps->p == ps->end || *ps->p != '"') {
			fail(ps, DLOCK_ESERVER, "expected a member name");
			goto fail;
		}
		m->key = parse_string(ps, &m->keylen);
		if (!m->key)
			goto fail;
		m->value = NULL;
		v->len++;
		skip_space(ps);
		if (ps->p == ps->end || *ps->p != ':') {
			fail(ps, DLOCK_ESERVER, "expected ':'");
			goto fail;
		}
		ps->p++;
		m->value = parse_value(ps, depth + 1);
		if (!m->value)
			goto fail;
		skip_space(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			return v;
		}
		fail(ps, DLOCK_ESERVER, "expected ',' or '}'");
		goto fail;
	}
fail:
	json_free(v);
	return NULL;
}

static struct json *parse_word(struct parser *ps, const char *word,
			       enum json_type type)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n)) {
		fail(ps, DLOCK_ESERVER, "unexpected character");
		return NULL;
	}
	ps->p += n;
	return new_value(ps, type);
}

static struct json *parse_value(struct parser *ps, int depth)
{
	struct json *v;

	if (depth > JSON_DEPTH_MAX) {
		fail(ps, DLOCK_ESERVER, "nested too deep");
		return NULL;
	}
	skip_space(ps);
	if (ps->p == ps->end) {
		fail(ps, DLOCK_ESERVER, "unexpected end");
		return NULL;
	}
	switch (*ps->p) {
	case '{':
		return parse_object(ps, depth);
	case '[':
		return parse_array(ps, depth);
	case '"':
		v = new_value(ps, JSON_STRING);
		if (v && !(v->u.text = parse_string(ps, &v->len))) {
			free(v);
			v = NULL;
		}
		return v;
	case 't':
		return parse_word(ps, "true", JSON_TRUE);
	case 'f':
		return parse_word(ps, "false", JSON_FALSE);
	case 'n':
		return parse_word(ps, "null", JSON_NULL);
	default:
		return parse_number(ps);
	}
}

struct json *json_parse(const char *text, size_t len,
			struct dlock_error *err)
{
	struct parser ps = { .p = text, .end = text + len, .err = err };
	struct json *v = parse_value(&ps, 1);

	if (!v)
		return NULL;
	skip_space(&ps);
	if (ps.p != ps.end) {
		json_free(v);
		fail(&ps, DLOCK_ESERVER, "text after the value");
		return NULL;
	}
	return v;
}

ssize_t json_scan_value(const char *text, size_t len)
{
	size_t i = 0, depth = 0;
	bool in_string = false;

	while (i < len && (text[i] == ' ' || text[i] == '\t' ||
			   text[i] == '\n' || text[i] == '\r'))
		i++;
	if (i == len)
		return 0;
	if (text[i] != '{' && text[i] != '[')
		return -1;
	for (; i < len; i++) {
		char c = text[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			if (++depth > JSON_DEPTH_MAX)
				return -1;
		} else if (c == '}' || c == ']') {
			if (--depth == 0)
				return (ssize_t)(i + 1);
		}
	}
	return 0;
}

struct json *json_take(struct json *v, const char *key)
{
	size_t n = strlen(key);

	if (!v || v->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < v->len; i++) {
		struct json_member *m = &v->u.members[i];
		struct json *taken = m->value;

		if (m->keylen != n || memcmp(m->key, key, n))
			continue;
		free(m->key);
		memmove(m, m + 1, (v->len - i - 1) * sizeof(*m));
		v->len--;
		return taken;
	}
	return NULL;
}

enum json_type json_type(const struct json *v)
{
	return v ? v->type : JSON_NULL;
}

const struct json *json_get(const struct json *v, const char *key)
{
	size_t n = strlen(key);

	if (!v || v->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < v->len; i++)
		if (v->u.members[i].keylen == n &&
		    memcmp(v->u.members[i].key, key, n) == 0)
			return v->u.members[i].value;
	return NULL;
}

const struct json *json_path(const struct json *v, const char *path)
{
	char key[128];

	while (v && *path) {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		v = json_get(v, key);
		path += n;
		if (*path == '.')
			path++;
	}
	return v;
}

size_t json_count(const struct json *v)
{
	return v && v->type == JSON_ARRAY ? v->len : 0;
}

const struct json *json_at(const struct json *v, size_t i)
{
	return v && v->type == JSON_ARRAY && i < v->len ? v->u.items[i] : NULL;
}

const char *json_string(const struct json *v, size_t *len)
{
	if (!v || v->type != JSON_STRING)
		return NULL;
	if (len)
		*len = v->len;
	return v->u.text;
}

/* Decimal digits with an optional '-', as Go writes an int64 or uint64. */
static bool integer_text(const struct json *v, const char **text)
{
	const char *s;

	if (!v || (v->type != JSON_NUMBER && v->type != JSON_STRING))
		return false;
	s = v->u.text;
	if (*s == '-')
		s++;
	if (!is_digit(*s))
		return false;
	for (const char *q = s; *q; q++)
		if (!is_digit(*q))
			return false;
	*text = v->u.text;
	return true;
}

bool json_int64(const struct json *v, int64_t *out)
{
	const char *text;
	long long n;
	char *end;

	if (!integer_text(v, &text))
		return false;
	errno = 0;
	n = strtoll(text, &end, 10);
	if (errno || *end)
		return false;
	*out = n;
	return true;
}

bool json_uint64(const struct json *v, uint64_t *out)
{
	const char *text;
	unsigned long long n;
	char *end;

	if (!integer_text(v, &text) || *text == '-')
		return false;
	errno = 0;
	n = strtoull(text, &end, 10);
	if (errno || *end)
		return false;
	*out = n;
	return true;
}

bool json_true(const struct json *v)
{
	return v && v->type == JSON_TRUE;
}

char *json_bytes(const struct json *v, size_t *len)
{
	const char *s = "";
	size_t n = 0;
	char *out;
	ssize_t got;

	if (v) {
		s = json_string(v, &n);
		if (!s)
			return NULL;
	}
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return NULL;
	got = base64_decode(s, n, out);
	if (got < 0) {
		free(out);
		return NULL;
	}
	out[got] = '\0';
	if (len)
		*len = (size_t)got;
	return out;
}

/* ---- writer ---- */

void jbuf_init(struct jbuf *b)
{
	b->len = 0;
	b->cap = 256;
	b->data = malloc(b->cap);
	b->failed = !b->data;
	if (b->data)
		b->data[0] = '\0';
}

void jbuf_free(struct jbuf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Room for n more bytes and the NUL. */
static bool reserve(struct jbuf *b, size_t n)
{
	size_t want;
	char *grown;

	if (b->failed)
		return false;
	if (b->len + n < b->cap)
		return true;
	want = b->cap;
	while (want <= b->len + n)
		want *= 2;
	grown = realloc(b->data, want);
	if (!grown) {
		b->failed = true;
		return false;
	}
	b->data = grown;
	b->cap = want;
	return true;
}

static void append(struct jbuf *b, const char *p, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void jbuf_raw(struct jbuf *b, const char *text)
{
	append(b, text, strlen(text));
}

void jbuf_printf(struct jbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (!reserve(b, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void jbuf_string(struct jbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	append(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			append(b, esc, 2);
		} else if (c < 0x20) {
			append(b, esc, 6);
		} else {
			append(b, s + i, 1);
		}
	}
	append(b, "\"", 1);
}

void jbuf_base64(struct jbuf *b, const void *p, size_t n)
{
	size_t size = base64_encoded_size(n);

	if (!reserve(b, size + 2))
		return;
	b->data[b->len++] = '"';
	base64_encode(p, n, b->data + b->len);
	b->len += size - 1;
	b->data[b->len++] = '"';
	b->data[b->len] = '\0';
}
