/* SPDX-License-Identifier: MIT */
/*
 * redis_parse_run_id(): the server's run_id from the text of INFO server,
 * which the lease thread compares across reconnects to tell a restart.
 * Anything but one well-formed line gives no run_id, never a wrong one.
 */
#include <string.h>

#include "redis.h"
#include "tap.h"

#define ID "5e6c4fcd1b6e0a6ba1b6e3c1c2a3ee1d9f1c9a70"

static bool parse(const char *text, char *out)
{
	return redis_parse_run_id(text, strlen(text), out);
}

static void test_found(void)
{
	char id[RUN_ID_LEN + 1];

	ok(parse("# Server\r\nredis_version:7.0.15\r\nrun_id:" ID
		 "\r\ntcp_port:0\r\n", id), "found among other fields");
	is_str(id, ID, "... the 40 hex digits");
	ok(parse("run_id:" ID "\r\n", id), "the first line");
	ok(parse("a:b\nrun_id:" ID, id), "the last line, \\n only, no end");
	is_str(id, ID, "... the same digits");
}

static void test_refused(void)
{
	char id[RUN_ID_LEN + 1] = "untouched";

	ok(!parse("# Server\r\nredis_version:7.0.15\r\n", id), "no run_id");
	ok(!parse("run_id:" ID "0\r\n", id), "41 digits");
	ok(!parse("run_id:5e6c4fcd\r\n", id), "8 digits");
	ok(!parse("run_id:\r\n", id), "empty");
	ok(!parse("run_id:" "5E6C4FCD1B6E0A6BA1B6E3C1C2A3EE1D9F1C9A70\r\n", id),
	   "upper case: not what Redis writes");
	ok(!parse("run_id:5e6c4fcd1b6e0a6ba1b6e3c1c2a3ee1d9f1c9a7z\r\n", id),
	   "a letter past f");
	ok(!parse("run_id:" ID " \r\n", id), "trailing text");
	ok(!parse("master_run_id:" ID "\r\n", id),
	   "another field that ends in run_id");
	ok(!parse("", id), "an empty reply");
	is_str(id, "untouched", "nothing written when refused");
	ok(!redis_parse_run_id("run_id:" ID, 20, id),
	   "cut short by the reply's length");
}

int main(void)
{
	test_found();
	test_refused();
	return done_testing();
}
