/* SPDX-License-Identifier: MIT */
/*
 * The JSON reader on replies etcd 3.4's gateway gave, on what RFC 8259
 * refuses, at its bounds; json_scan_value() on a stream cut anywhere;
 * and the jbuf writer read back by the reader.
 */
#include <stdlib.h>
#include <string.h>

#include "etcd/http.h"
#include "etcd/wire.h"
#include "tap.h"

/* Taken from etcd 3.4.23 with curl. */
static const char range_reply[] =
	"{\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":"
	"\"13668033151171901709\",\"revision\":\"6\",\"raft_term\":\"2\"},"
	"\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"6\",\"mod_revision\":"
	"\"6\",\"version\":\"1\",\"value\":\"YmFy\"}],\"count\":\"1\"}";

static const char watch_stream[] =
	"{\"result\":{\"header\":{\"revision\":\"6\"},\"created\":true}}\n"
	"{\"result\":{\"header\":{\"revision\":\"7\"},\"events\":[{\"kv\":"
	"{\"key\":\"Zm9v\",\"value\":\"e30=\"}}]}}\n"
	"{\"result\":{\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":"
	"\"Zm9v\",\"mod_revision\":\"8\"}}]}}\n";

static const char *const bad[] = {
	"", " ", "{", "}", "[", "[1,]", "{\"a\":1,}", "{\"a\"}", "{a:1}",
	"{\"a\":1", "01", "1.", ".5", "-", "1e", "+1", "tru", "nul", "True",
	"\"abc", "\"a\\x\"", "\"a\\u12\"", "\"\\ud800\"", "\"\\udc00\"",
	"\"\\ud800\\u0041\"", "\"tab\there\"", "[1] [2]", "{} x", "'a'",
	"[1 2]", "{\"a\" 1}", "\"\\", "NaN", "[\"a\",]",
};

static void test_gateway_replies(void)
{
	struct dlock_error err = { 0 };
	struct json *v = json_parse(range_reply, strlen(range_reply), &err);
	const struct json *kv;
	int64_t rev = 0;
	uint64_t cluster = 0;
	size_t len = 0;
	char *s;

	ok(v != NULL, "a range reply parses");
	is_int(json_type(v), JSON_OBJECT, "it is an object");
	ok(json_int64(json_path(v, "header.revision"), &rev) && rev == 6,
	   "header.revision is 6, from a string");
	ok(json_uint64(json_path(v, "header.cluster_id"), &cluster) &&
	   cluster == 15118495548433857066ULL, "a uint64 over INT64_MAX");
	ok(!json_int64(json_path(v, "header.cluster_id"), &rev),
	   "the same is out of range for int64");
	is_int(json_count(json_get(v, "kvs")), 1, "one kv");
	kv = json_at(json_get(v, "kvs"), 0);
	s = json_bytes(json_get(kv, "value"), &len);
	is_str(s, "bar", "value decoded from base64");
	is_int(len, 3, "its length");
	free(s);
	s = json_bytes(json_get(kv, "lease"), &len);
	is_str(s, "", "an absent bytes member is empty");
	free(s);
	ok(!json_bytes(json_get(kv, "create_revision"), NULL),
	   "\"6\" is not base64");
	ok(json_at(json_get(v, "kvs"), 1) == NULL, "no element 1");
	ok(json_get(v, "nope") == NULL, "no such member");
	ok(json_path(v, "header.nope.deeper") == NULL, "no such path");
	ok(!json_true(json_get(v, "more")), "an absent bool is false");
	ok(json_get(kv, "key") && json_path(kv, "") == kv, "empty path");
	json_free(v);
}

static void test_accessors(void)
{
	static const char text[] =
		" {\"t\":true,\"f\":false,\"n\":null,\"i\":-42,\"d\":1.5e3,"
		"\"big\":\"9223372036854775807\",\"over\":\"9223372036854775808\","
		"\"neg\":\"-9223372036854775808\",\"minus\":\"-1\","
		"\"sp\":\" 1\",\"e\":\"\",\"u\":\"\\u00e9\\ud83d\\ude00\\n\\\"/\","
		"\"arr\":[1,[2,{}],\"x\"],\"nul\":\"a\\u0000b\",\"dup\":1,"
		"\"dup\":2} \r\n";
	struct dlock_error err = { 0 };
	struct json *v = json_parse(text, strlen(text), &err);
	int64_t i = 0;
	uint64_t u = 0;
	size_t len = 0;
	const char *s;
	struct json *taken;

	ok(v != NULL, "the accessor document parses");
	ok(json_true(json_get(v, "t")), "true");
	ok(!json_true(json_get(v, "f")), "false");
	is_int(json_type(json_get(v, "n")), JSON_NULL, "null");
	is_int(json_type(json_get(v, "f")), JSON_FALSE, "false's type");
	ok(json_int64(json_get(v, "i"), &i) && i == -42, "a number");
	ok(!json_int64(json_get(v, "d"), &i), "1.5e3 is no integer");
	ok(json_int64(json_get(v, "big"), &i) && i == INT64_MAX, "INT64_MAX");
	ok(!json_int64(json_get(v, "over"), &i), "INT64_MAX + 1 refused");
	ok(json_int64(json_get(v, "neg"), &i) && i == INT64_MIN, "INT64_MIN");
	ok(!json_uint64(json_get(v, "minus"), &u), "uint64 refuses -1");
	ok(!json_int64(json_get(v, "sp"), &i), "\" 1\" is no integer");
	ok(!json_int64(json_get(v, "e"), &i), "\"\" is no integer");
	ok(!json_int64(json_get(v, "t"), &i), "true is no integer");
	s = json_string(json_get(v, "u"), &len);
	is_str(s, "\xc3\xa9\xf0\x9f\x98\x80\n\"/", "escapes decoded to UTF-8");
	is_int(len, 9, "decoded length");
	s = json_string(json_get(v, "nul"), &len);
	ok(s && len == 3 && s[1] == '\0', "an escaped NUL keeps the length");
	ok(json_string(json_get(v, "i"), NULL) == NULL, "a number is no string");
	is_int(json_count(json_get(v, "arr")), 3, "array count");
	is_int(json_count(json_get(v, "t")), 0, "count of a non-array");
	is_int(json_type(json_at(json_at(json_get(v, "arr"), 1), 1)),
	       JSON_OBJECT, "nested element");
	ok(json_int64(json_get(v, "dup"), &i) && i == 1,
	   "a repeated member: the first");
	ok(json_bytes(json_get(v, "u"), NULL) == NULL, "not base64: NULL");
	ok(json_bytes(json_get(v, "i"), NULL) == NULL, "not a string: NULL");
	taken = json_take(v, "arr");
	is_int(json_count(taken), 3, "json_take returns the member");
	ok(json_get(v, "arr") == NULL, "and removes it");
	ok(json_get(v, "nul") != NULL, "the members after it stay");
	json_free(taken);
	json_free(v);
	ok(json_get(NULL, "a") == NULL && json_type(NULL) == JSON_NULL &&
	   json_count(NULL) == 0 && !json_int64(NULL, &i) &&
	   json_string(NULL, NULL) == NULL, "NULL in, NULL out");
}

static void test_refusals(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct dlock_error err = { 0 };
		struct json *v = json_parse(bad[i], strlen(bad[i]), &err);

		ok(!v && err.code == DLOCK_ESERVER &&
		   strncmp(err.msg, "not JSON: ", 10) == 0,
		   "refuses '%s' (%s)", bad[i], err.msg);
		json_free(v);
	}
	{
		struct dlock_error err = { 0 };
		/* A byte after the given length must not be read. */
		ok(json_parse("[1]", 2, &err) == NULL, "length is honoured");
	}
}

static char *nested(int depth)
{
	char *s = malloc((size_t)depth * 2 + 1);

	for (int i = 0; i < depth; i++) {
		s[i] = '[';
		s[depth * 2 - 1 - i] = ']';
	}
	s[depth * 2] = '\0';
	return s;
}

static void test_bounds(void)
{
	struct dlock_error err = { 0 };
	char *s64 = nested(64), *s65 = nested(65);
	struct json *v = json_parse(s64, strlen(s64), &err);
	size_t n = 1100000;
	char *wide = malloc(n * 2 + 2);

	ok(v != NULL, "64 levels deep parses");
	json_free(v);
	v = json_parse(s65, strlen(s65), &err);
	ok(!v && strstr(err.msg, "deep"), "65 levels: %s", err.msg);
	is_int(json_scan_value(s64, strlen(s64)), 128, "scan: 64 levels");
	is_int(json_scan_value(s65, strlen(s65)), -1, "scan: 65 levels");
	/* A million and more values, in 2.2 MB: refused, not built. */
	wide[0] = '[';
	for (size_t i = 0; i < n; i++) {
		wide[1 + i * 2] = '0';
		wide[2 + i * 2] = ',';
	}
	wide[n * 2] = ']';
	wide[n * 2 + 1] = '\0';
	v = json_parse(wide, strlen(wide), &err);
	ok(!v && strstr(err.msg, "too many"), "too many values: %s", err.msg);
	free(wide);
	free(s64);
	free(s65);
}

static void test_scan(void)
{
	size_t total = strlen(watch_stream);
	size_t first = strchr(watch_stream, '\n') - watch_stream;
	int wrong = 0;

	is_int(json_scan_value(watch_stream, total), first,
	       "scan finds the first object");
	for (size_t cut = 0; cut < first; cut++)
		if (json_scan_value(watch_stream, cut) != 0)
			wrong++;
	is_int(wrong, 0, "every cut short of it is incomplete");
	is_int(json_scan_value("  \n", 3), 0, "white space: incomplete");
	is_int(json_scan_value("x{}", 3), -1, "garbage: -1");
	is_int(json_scan_value("\"{\"", 3), -1, "a string is not a stream value");
	is_int(json_scan_value("{\"}\\\"}\"}", 8), 8,
	       "braces and escaped quotes in strings");
	{
		/* Split the whole stream into its values and parse each. */
		const char *p = watch_stream;
		size_t left = total;
		int values = 0, events = 0;
		ssize_t n;

		while ((n = json_scan_value(p, left)) > 0) {
			struct dlock_error err = { 0 };
			struct json *v = json_parse(p, (size_t)n, &err);

			values += v != NULL;
			events += (int)json_count(json_path(v, "result.events"));
			json_free(v);
			p += n;
			left -= (size_t)n;
		}
		is_int(values, 3, "three values in the watch stream");
		is_int(events, 2, "two events");
	}
}

static void test_writer(void)
{
	static const char raw[] = "a\"b\\c\n\x01\x1f\xc3\xa9/";
	struct dlock_error err = { 0 };
	struct jbuf b;
	struct json *v;
	size_t len = 0;
	const char *s;
	char *bytes;

	jbuf_init(&b);
	jbuf_raw(&b, "{\"s\":");
	jbuf_string(&b, raw, sizeof(raw) - 1);
	jbuf_printf(&b, ",\"n\":\"%d\",\"k\":", 12345);
	jbuf_base64(&b, "dlock/x\0y", 9);
	for (int i = 0; i < 200; i++)
		jbuf_printf(&b, ",\"pad%d\":\"%0100d\"", i, i);
	jbuf_raw(&b, "}");
	ok(!b.failed && b.len == strlen(b.data), "the buffer grew");
	v = json_parse(b.data, b.len, &err);
	ok(v != NULL, "what jbuf wrote parses (%s)", err.msg);
	s = json_string(json_get(v, "s"), &len);
	ok(s && len == sizeof(raw) - 1 && memcmp(s, raw, len) == 0,
	   "a string with quotes and control bytes comes back");
	ok(strstr(b.data, "\\u0001\\u001f"), "control bytes as \\u00XX");
	bytes = json_bytes(json_get(v, "k"), &len);
	ok(bytes && len == 9 && memcmp(bytes, "dlock/x\0y", 9) == 0,
	   "base64 with a NUL comes back");
	ok(json_get(v, "pad199") != NULL, "the last member is there");
	free(bytes);
	json_free(v);
	jbuf_free(&b);
	ok(b.data == NULL, "jbuf_free lets go");
}

int main(void)
{
	test_gateway_replies();
	test_accessors();
	test_refusals();
	test_bounds();
	test_scan();
	test_writer();
	return done_testing();
}
