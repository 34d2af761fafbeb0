/* SPDX-License-Identifier: MIT */
/*
 * config_split_line(): blank lines, comments, trimming, quotes and bad
 * lines.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "tap.h"

static const struct {
	const char *line;
	const char *key;	/* NULL: a blank line or a comment */
	const char *value;
} good[] = {
	{ "", NULL, NULL },
	{ "\n", NULL, NULL },
	{ "\r\n", NULL, NULL },
	{ "   ", NULL, NULL },
	{ " \t \t\n", NULL, NULL },
	{ "# comment", NULL, NULL },
	{ "#", NULL, NULL },
	{ "#key = value", NULL, NULL },
	{ "   # indented comment\n", NULL, NULL },
	{ "\t# tab-indented comment", NULL, NULL },
	{ "key = value", "key", "value" },
	{ "key=value", "key", "value" },
	{ "key = value\n", "key", "value" },
	{ "key = value\r\n", "key", "value" },
	{ "  key  =  value  ", "key", "value" },
	{ "\tkey\t=\tvalue\t\n", "key", "value" },
	{ "k \t \t= \t v v \t", "k", "v v" },
	{ "connect-timeout = 5s", "connect-timeout", "5s" },
	{ "password-file=/etc/dlock.pw", "password-file", "/etc/dlock.pw" },
	/* only the first '=' splits; '#' after a key is not a comment */
	{ "url = redis://u:p@h/1?x=y", "url", "redis://u:p@h/1?x=y" },
	{ "key = a=b=c", "key", "a=b=c" },
	{ "key==", "key", "=" },
	/* a '#' inside a word is part of the value */
	{ "password = p#ss=w0rd", "password", "p#ss=w0rd" },
	{ "password = a#", "password", "a#" },
	{ "url = redis://h/0#x", "url", "redis://h/0#x" },
	{ "key# = v", "key#", "v" },
	/* an empty value is the caller's business */
	{ "key =", "key", "" },
	{ "key = ", "key", "" },
	{ "key=  \t\r\n", "key", "" },
	/* inner spaces stay; the caller checks the key */
	{ "my key = two  words", "my key", "two  words" },
	/* quotes are removed, and nothing inside them is special */
	{ "password = \"s3cret\"", "password", "s3cret" },
	{ "password = 's3cret'", "password", "s3cret" },
	{ "password = \"a # b\"", "password", "a # b" },
	{ "password = '#x'", "password", "#x" },
	{ "password = \"  spaced  \"  \r\n", "password", "  spaced  " },
	{ "password = \"a\\\"b\"", "password", "a\\\"b" },
	{ "password = \"it's\"", "password", "it's" },
	{ "password = 'say \"hi\"'", "password", "say \"hi\"" },
	{ "prefix = \"\"", "prefix", "" },
	{ "prefix = ''", "prefix", "" },
	/* a quote that does not open the value is an ordinary byte */
	{ "password = a\"b\"", "password", "a\"b\"" },
	{ "password = it's", "password", "it's" },
};

static void test_good(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct dlock_error err = { 0, "" };
		char line[256], *key = line, *value = line;
		size_t len = strlen(good[i].line);
		int rc;

		memcpy(line, good[i].line, len + 1);
		rc = config_split_line(line, &key, &value, &err);
		if (!is_int(rc, 0, "line '%s' is accepted", good[i].line))
			diag("message: %s", err.msg);
		is_str(key, good[i].key, "line '%s': key", good[i].line);
		is_str(value, good[i].value, "line '%s': value", good[i].line);
		if (key)
			ok(key >= line && key < line + len &&
			   value >= line && value <= line + len,
			   "line '%s': key and value point into the line",
			   good[i].line);
	}
}

static void check_bad(const char *text, const char *want)
{
	struct dlock_error err = { 0, "" };
	char line[256], *key = line, *value = line;

	snprintf(line, sizeof(line), "%s", text);
	is_int(config_split_line(line, &key, &value, &err), DLOCK_ECONFIG,
	       "line '%s' is rejected", text);
	is_int(err.code, DLOCK_ECONFIG, "line '%s': err.code is set", text);
	ok(!key && !value, "line '%s': key and value are NULL", text);
	is_str(err.msg, want, "line '%s': the message", text);
}

int main(void)
{
	char text[128];

	test_good();
	check_bad("novalue", "expected 'key = value', found no '=' after "
		  "'novalue'");
	/* only the first word is quoted: the rest may be a password */
	check_bad("  password hunter2  \n", "expected 'key = value', found "
		  "no '=' after 'password'");
	check_bad("password: hunter2", "expected 'key = value', found "
		  "no '=' after 'password'");
	check_bad("= value", "a line has no key before '='");
	check_bad("   =value", "a line has no key before '='");
	check_bad(" \t = ", "a line has no key before '='");
	check_bad("=", "a line has no key before '='");
	/* comments are whole lines: a '#' starting a word is refused */
	check_bad("url = redis://h:6379 # prod", "the value of 'url' has a '#' "
		  "that starts a word; comments go on lines of their own, and "
		  "a value whose '#' belongs to it goes in quotes (\"...\")");
	check_bad("password = p\t#ss", "the value of 'password' has a '#' "
		  "that starts a word; comments go on lines of their own, and "
		  "a value whose '#' belongs to it goes in quotes (\"...\")");
	check_bad("password = #secret", "the value of 'password' has a '#' "
		  "that starts a word; comments go on lines of their own, and "
		  "a value whose '#' belongs to it goes in quotes (\"...\")");
	check_bad("password=#secret", "the value of 'password' has a '#' "
		  "that starts a word; comments go on lines of their own, and "
		  "a value whose '#' belongs to it goes in quotes (\"...\")");
	/* a quote must close at the end of the value */
	check_bad("password = \"s3cret", "the value of 'password' opens a "
		  "quote (\") that does not close at the end of the line; "
		  "nothing may follow the closing quote, and comments go on "
		  "lines of their own");
	check_bad("password = \"s3cret\" # mine", "the value of 'password' "
		  "opens a quote (\") that does not close at the end of the "
		  "line; nothing may follow the closing quote, and comments go "
		  "on lines of their own");
	check_bad("password = 's3cret\"", "the value of 'password' opens a "
		  "quote (') that does not close at the end of the line; "
		  "nothing may follow the closing quote, and comments go on "
		  "lines of their own");
	check_bad("password = \"", "the value of 'password' opens a quote "
		  "(\") that does not close at the end of the line; nothing "
		  "may follow the closing quote, and comments go on lines of "
		  "their own");
	/* a long first word is quoted up to 64 bytes */
	memset(text, 'x', 100);
	text[100] = '\0';
	check_bad(text, "expected 'key = value', found no '=' after "
		  "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'");
	return done_testing();
}
