/* SPDX-License-Identifier: MIT */
/* dlock_parse_uint(): digits only, bounded by max, never overflowing. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "tap.h"

#define UNTOUCHED (-12345L)

static const struct {
	const char *text;
	long max;
	long value;
} good[] = {
	{ "0", 0, 0 },
	{ "0", 255, 0 },
	{ "1", 1, 1 },
	{ "7", 255, 7 },
	{ "255", 255, 255 },
	{ "007", 255, 7 },
	{ "0000000000000000000000000000042", 255, 42 },
	{ "65535", 65535, 65535 },
	{ "6379", 65535, 6379 },
	{ "2147483647", 2147483647L, 2147483647L },
	{ "1000000", 1000000, 1000000 },
};

#define DIGITS "use digits only"
#define LARGEST "the largest allowed is"

static const struct {
	const char *text;
	long max;
	const char *why;
} bad[] = {
	{ "-1", 255, DIGITS },
	{ "-0", 255, DIGITS },
	{ "+1", 255, DIGITS },
	{ " 1", 255, DIGITS },
	{ "1 ", 255, DIGITS },
	{ "1a", 255, DIGITS },
	{ "abc", 255, DIGITS },
	{ "0x10", 255, DIGITS },
	{ "1.0", 255, DIGITS },
	{ "1e3", 255, DIGITS },
	{ "1\n", 255, DIGITS },
	{ "\xd9\xa1", 255, DIGITS },
	{ "256", 255, LARGEST " 255" },
	{ "1000", 255, LARGEST " 255" },
	{ "1", 0, LARGEST " 0" },
	{ "65536", 65535, LARGEST " 65535" },
	{ "2147483648", 2147483647L, LARGEST " 2147483647" },
	{ "99999999999999999999", 255, LARGEST " 255" },
	{ "99999999999999999999", 2147483647L, LARGEST " 2147483647" },
	/* the bound is checked digit by digit, before junk further on */
	{ "9999x", 255, LARGEST " 255" },
};

static void check_bad(const char *text, long max, const char *why)
{
	struct dlock_error err = { 0, "" };
	long value = UNTOUCHED;
	char quoted[256];
	bool named;
	int rc;

	rc = dlock_parse_uint(text, max, &value, &err);
	is_int(rc, DLOCK_EUSAGE, "'%s' (max %ld) is rejected", text, max);
	is_int(err.code, DLOCK_EUSAGE, "'%s': err.code is set", text);
	is_int(value, UNTOUCHED, "'%s': *value is left alone", text);
	snprintf(quoted, sizeof(quoted), "invalid number '%s': ", text);
	named = ok(strncmp(err.msg, quoted, strlen(quoted)) == 0,
		   "'%s': the message names the value", text);
	if (!ok(strstr(err.msg, why), "'%s': the message says '%s'", text,
		why) || !named)
		diag("message: %s", err.msg);
}

int main(void)
{
	struct dlock_error err = { 0, "" };
	char max[32], past[32], tenfold[40];
	long value;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		value = UNTOUCHED;
		is_int(dlock_parse_uint(good[i].text, good[i].max, &value,
					&err), 0, "'%s' (max %ld) is accepted",
		       good[i].text, good[i].max);
		is_int(value, good[i].value, "'%s' is %ld", good[i].text,
		       good[i].value);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		check_bad(bad[i].text, bad[i].max, bad[i].why);

	value = UNTOUCHED;
	is_int(dlock_parse_uint("", 255, &value, &err), DLOCK_EUSAGE,
	       "the empty string is rejected");
	is_str(err.msg, "invalid number '': it is empty",
	       "the empty string: the message");
	is_int(value, UNTOUCHED, "the empty string: *value is left alone");
	is_int(dlock_parse_uint("x", 255, &value, NULL), DLOCK_EUSAGE,
	       "a NULL err is allowed");

	/*
	 * At LONG_MAX the next digit must be refused before it is added:
	 * "v * 10 + digit" may not overflow, which is undefined behaviour.
	 * Last, so that a sanitizer stopping here loses nothing else.
	 */
	snprintf(max, sizeof(max), "%ld", LONG_MAX);
	snprintf(past, sizeof(past), "%s", max);
	past[strlen(past) - 1]++;	/* LONG_MAX ends in 7 */
	snprintf(tenfold, sizeof(tenfold), "%s0", max);
	value = UNTOUCHED;
	is_int(dlock_parse_uint(max, LONG_MAX, &value, &err), 0,
	       "LONG_MAX itself is accepted with max LONG_MAX");
	is_int(value, LONG_MAX, "LONG_MAX is LONG_MAX");
	check_bad(past, LONG_MAX, LARGEST);
	check_bad(tenfold, LONG_MAX, LARGEST);
	check_bad("99999999999999999999", LONG_MAX, LARGEST);
	check_bad("18446744073709551616", LONG_MAX, LARGEST);
	return done_testing();
}
