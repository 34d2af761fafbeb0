/* SPDX-License-Identifier: MIT */
/*
 * random_hex(). The SHA-1s of the Lua scripts are made at build time and
 * checked against a real server in tests/integration/scripts.sh.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tap.h"

static bool all_hex(const char *s)
{
	return strspn(s, "0123456789abcdef") == strlen(s);
}

static void test_random_hex(void)
{
	struct dlock_error err = { 0, "" };
	char a[34], b[34], big[130], small[4];

	memset(a, 'X', sizeof(a));
	is_int(random_hex(a, 16, &err), 0, "random_hex(16) succeeds");
	is_int(strlen(a), 32, "16 bytes are 32 hex digits");
	ok(all_hex(a), "in lower-case hex: %s", a);
	is_int(a[33], 'X', "nothing is written past the NUL");
	is_int(random_hex(b, 16, &err), 0, "a second call succeeds");
	ok(strcmp(a, b) != 0, "two calls differ: %s %s", a, b);

	is_int(random_hex(big, 64, &err), 0, "random_hex(64), the most");
	is_int(strlen(big), 128, "64 bytes are 128 hex digits");
	ok(all_hex(big), "in lower-case hex");
	is_int(random_hex(small, 1, &err), 0, "random_hex(1)");
	is_int(strlen(small), 2, "1 byte is 2 hex digits");
	is_int(random_hex(small, 0, &err), 0, "random_hex(0)");
	is_str(small, "", "0 bytes are the empty string");

	memset(big, 'X', sizeof(big));
	is_int(random_hex(big, 65, &err), DLOCK_EUSAGE,
	       "more than 64 bytes is refused");
	is_int(big[0], 'X', "and nothing is written");
}

int main(void)
{
	test_random_hex();
	return done_testing();
}
