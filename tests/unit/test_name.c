/* SPDX-License-Identifier: MIT */
/* dlock_check_name() and check_prefix(): lengths, bytes and messages. */
#include <string.h>

#include "internal.h"
#include "tap.h"

static const char *const good_names[] = {
	"deploy",
	"a",
	"Z",
	"0",
	"db-migrate",
	"a-",
	"backup.daily",
	"host_01",
	"ns:job",
	"path/to/thing",
	"user@host",
	"a+b",
	"k=v",
	"._-:/@+=",
	".",
	"/",
	":",
	"@",
	"+",
	"=",
	"_",
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
};

static const char *const bad_names[] = {
	"-",
	"-x",
	"--deploy",
	"a b",
	" a",
	"a ",
	"a\tb",
	"a\nb",
	"a\rb",
	"{a}",
	"a{b",
	"a}b",
	"a*",
	"*",
	"a?",
	"[ab]",
	"a!",
	"a#b",
	"a$b",
	"a%b",
	"a&b",
	"a'b",
	"a\"b",
	"a(b)",
	"a,b",
	"a;b",
	"a<b>",
	"a\\b",
	"a^b",
	"a`b",
	"a|b",
	"a~b",
	"a\x7f",
	"a\x01",
	"caf\xc3\xa9",		/* UTF-8 "café" */
	"\xe2\x9c\x93",		/* U+2713 */
	"\xff",
	"a\x80",
};

static void check_bad_name(const char *name, const char *want_in_msg)
{
	struct dlock_error err = { 0, "" };
	int rc = dlock_check_name(name, &err);

	is_int(rc, DLOCK_EUSAGE, "name '%s' is rejected", name);
	is_int(err.code, DLOCK_EUSAGE, "name '%s': err.code is set", name);
	if (!ok(strstr(err.msg, want_in_msg), "name '%s': message has '%s'",
		name, want_in_msg))
		diag("message: %s", err.msg);
}

static void test_names(void)
{
	struct dlock_error err = { 0, "" };
	char name[DLOCK_NAME_MAX + 2], quoted[64];

	for (size_t i = 0; i < ARRAY_SIZE(good_names); i++)
		if (!is_int(dlock_check_name(good_names[i], &err), 0,
			    "name '%s' is accepted", good_names[i]))
			diag("message: %s", err.msg);
	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) {
		const char *why = bad_names[i][0] == '-' ?
			"it must not start with '-'" :
			"use letters, digits and . _ - : / @ + =";

		snprintf(quoted, sizeof(quoted), "invalid lock name '%s'",
			 bad_names[i]);
		check_bad_name(bad_names[i], quoted);
		check_bad_name(bad_names[i], why);
	}

	check_bad_name("", "the lock name is empty");
	dlock_check_name("", &err);
	is_str(err.msg, "the lock name is empty; give a name such as 'deploy'",
	       "the empty name: the whole message");

	memset(name, 'a', DLOCK_NAME_MAX);
	name[DLOCK_NAME_MAX] = '\0';
	is_int(dlock_check_name(name, &err), 0,
	       "a name of %d bytes is accepted", DLOCK_NAME_MAX);
	name[DLOCK_NAME_MAX - 1] = '-';
	is_int(dlock_check_name(name, &err), 0,
	       "a '-' other than the first byte is fine");
	name[DLOCK_NAME_MAX - 1] = 'a';
	name[DLOCK_NAME_MAX] = 'a';
	name[DLOCK_NAME_MAX + 1] = '\0';
	check_bad_name(name, "the lock name is 201 bytes long; the limit is "
		       "200");
	dlock_check_name(name, &err);
	is_str(err.msg, "the lock name is 201 bytes long; the limit is 200",
	       "201 bytes: the whole message");
	name[DLOCK_NAME_MAX - 1] = '*';
	name[DLOCK_NAME_MAX] = '\0';
	check_bad_name(name, "invalid lock name 'aaaa");
	dlock_check_name(name, &err);
	ok(strstr(err.msg, "a*': use"),
	   "a bad name of %d bytes is quoted whole", DLOCK_NAME_MAX);

	is_int(dlock_check_name("a b", NULL), DLOCK_EUSAGE,
	       "a NULL err is allowed");
	dlock_check_name("a b", &err);
	is_str(err.msg, "invalid lock name 'a b': use letters, digits and "
	       ". _ - : / @ + =", "a bad byte: the whole message");
	dlock_check_name("-x", &err);
	is_str(err.msg, "invalid lock name '-x': it must not start with '-'",
	       "a leading '-': the whole message");
}

static void check_bad_prefix(const char *prefix, const char *want_in_msg)
{
	struct dlock_error err = { 0, "" };
	int rc = check_prefix(prefix, &err);

	is_int(rc, DLOCK_EUSAGE, "prefix '%s' is rejected", prefix);
	is_int(err.code, DLOCK_EUSAGE, "prefix '%s': err.code is set",
	       prefix);
	if (!ok(strstr(err.msg, want_in_msg), "prefix '%s': message has '%s'",
		prefix, want_in_msg))
		diag("message: %s", err.msg);
}

static void test_prefixes(void)
{
	static const char *const good[] = {
		"", "dlock:", "app:", "a", "x/y/", "team@host:", "a.b_c-d+e=",
	};
	static const char *const bad[] = {
		"a b", "dlock: ", "{x}", "x{", "}", "*", "a*:", "a?", "[x]",
		"\t", "a\n", "caf\xc3\xa9:", "\xff", "a#",
	};
	struct dlock_error err = { 0, "" };
	char prefix[DLOCK_PREFIX_MAX + 2], quoted[64];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (!is_int(check_prefix(good[i], &err), 0,
			    "prefix '%s' is accepted", good[i]))
			diag("message: %s", err.msg);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(quoted, sizeof(quoted), "invalid key prefix '%s'",
			 bad[i]);
		check_bad_prefix(bad[i], quoted);
		check_bad_prefix(bad[i], "use letters, digits and "
				 ". _ - : / @ + =");
	}

	memset(prefix, 'p', DLOCK_PREFIX_MAX);
	prefix[DLOCK_PREFIX_MAX] = '\0';
	is_int(check_prefix(prefix, &err), 0,
	       "a prefix of %d bytes is accepted", DLOCK_PREFIX_MAX);
	prefix[DLOCK_PREFIX_MAX] = ':';
	prefix[DLOCK_PREFIX_MAX + 1] = '\0';
	check_bad_prefix(prefix, "the key prefix is 65 bytes long; the limit "
			 "is 64");
	is_int(check_prefix("a b", NULL), DLOCK_EUSAGE,
	       "prefix: a NULL err is allowed");
}

int main(void)
{
	test_names();
	test_prefixes();
	return done_testing();
}
