/* SPDX-License-Identifier: MIT */
/*
 * dlock_parse_duration(): units, combinations, fractions, rounding, bounds
 * and messages.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "tap.h"

#define YEAR_MS (365LL * 24 * 3600 * 1000)
#define UNTOUCHED (-12345)

static const struct {
	const char *text;
	bool allow_zero;
	int64_t ms;
} good[] = {
	/* the forms of the documentation */
	{ "250ms", false, 250 },
	{ "1.5", false, 1500 },
	{ "30s", false, 30000 },
	{ "5m", false, 300000 },
	{ "2h", false, 7200000 },
	/* no unit means seconds, as flock(1) */
	{ "1", false, 1000 },
	{ "10", false, 10000 },
	{ "1ms", false, 1 },
	{ "1s", false, 1000 },
	{ "1m", false, 60000 },
	{ "1h", false, 3600000 },
	/* fractions in every unit */
	{ "1.25s", false, 1250 },
	{ "2.5m", false, 150000 },
	{ "0.5h", false, 1800000 },
	{ "0.001", false, 1 },
	{ "0.25", false, 250 },
	/* a fraction of a millisecond rounds up, never down to zero */
	{ "0.5ms", false, 1 },
	{ "0.1ms", false, 1 },
	{ "1.9ms", false, 2 },
	{ "1.1ms", false, 2 },
	{ "1.0ms", false, 1 },
	{ "1.0001", false, 1001 },
	{ "0.0001", false, 1 },
	{ "0.0015", false, 2 },
	{ "1.000000001", false, 1001 },
	{ "0.000000001h", false, 1 },
	/* digits past the ninth are below a nanosecond: they only round up */
	{ "1.12345678901234567890", false, 1124 },
	{ "1.000000000999", false, 1001 },
	{ "1.000000000000", false, 1000 },
	{ "0.0000000001", false, 1 },
	/* leading zeros are not an overflow */
	{ "007s", false, 7000 },
	{ "0000000000000000000000001", false, 1000 },
	{ "00000000000000000000000000000000000250ms", false, 250 },
	/* exactly a year is the longest allowed */
	{ "8760h", false, YEAR_MS },
	{ "525600m", false, YEAR_MS },
	{ "31536000s", false, YEAR_MS },
	{ "31536000", false, YEAR_MS },
	{ "31536000000ms", false, YEAR_MS },
	{ "8759.9999999h", false, YEAR_MS },
	{ "31535999.999", false, YEAR_MS - 1 },
	/* zero only when allowed, in any spelling */
	{ "0", true, 0 },
	{ "0ms", true, 0 },
	{ "0s", true, 0 },
	{ "0m", true, 0 },
	{ "0h", true, 0 },
	{ "0.0", true, 0 },
	{ "00", true, 0 },
	{ "0.000", true, 0 },
	{ "1ms", true, 1 },
	{ "1.5", true, 1500 },
	/* days, and combinations from the largest unit down, as Go/systemd */
	{ "1d", false, 86400000 },
	{ "2d", false, 172800000 },
	{ "1h30m", false, 5400000 },
	{ "1d12h", false, 129600000 },
	{ "1m30.5s", false, 90500 },
	{ "1m30s", false, 90000 },
	{ "1h30.5m", false, 5430000 },
	{ "2h15m30s250ms", false, 8130250 },
	{ "1d1h1m1s1ms", false, 90061001 },
	{ "1s500ms", false, 1500 },
	{ "1h0.5ms", false, 3600001 },
	{ "1m0.0001s", false, 60001 },
	{ "0h30m", false, 1800000 },
	{ "0d0h0m0s0ms", true, 0 },
	{ "1d0h", false, 86400000 },
	{ "365d", false, YEAR_MS },
	{ "364d24h", false, YEAR_MS },
	{ "364d23h59m59s999ms", false, YEAR_MS - 1 },
	{ "364.99999999d", false, YEAR_MS },
};

#define START "it must start with a digit"
#define POINT "a digit must follow the point"
#define UNIT "unknown unit"
#define YEAR "longer than a year"
#define ZERO "it must be more than zero"
#define NEG "negative"
#define NOUNIT "in a combination, every number needs a unit"
#define ORDER "units must go from the largest to the smallest, each once"
#define FRAC "only the last number may have a decimal part"

static const struct {
	const char *text;
	bool allow_zero;
	const char *why;
} bad[] = {
	/* zero, unless allowed */
	{ "0", false, ZERO },
	{ "0ms", false, ZERO },
	{ "0s", false, ZERO },
	{ "0h", false, ZERO },
	{ "0.0", false, ZERO },
	{ "000", false, ZERO },
	/* negative, even when zero is allowed */
	{ "-1", false, NEG },
	{ "-1", true, NEG },
	{ "-0", true, NEG },
	{ "-1ms", false, NEG },
	{ "-0.5", false, NEG },
	/* not a number */
	{ "", false, START },
	{ "", true, START },
	{ "abc", false, START },
	{ "abc", true, START },
	{ "ms", false, START },
	{ "s", false, START },
	{ ".5", false, START },
	{ ".", false, START },
	{ "+1", false, START },
	{ " 1", false, START },
	{ "\t1", false, START },
	{ "x1", false, START },
	/* a point with nothing after it */
	{ "1.", false, POINT },
	{ "1.s", false, POINT },
	{ "1.ms", false, POINT },
	{ "0.", true, POINT },
	{ "1..5", false, POINT },
	/* units */
	{ "1x", false, UNIT },
	{ "1 s", false, UNIT },
	{ "1 ", false, UNIT },
	{ "1\n", false, UNIT },
	{ "1S", false, UNIT },
	{ "1MS", false, UNIT },
	{ "1H", false, UNIT },
	{ "1sec", false, UNIT },
	{ "1min", false, UNIT },
	{ "1D", false, UNIT },
	{ "1w", false, UNIT },
	{ "1y", false, UNIT },
	{ "1h 30m", false, UNIT },
	{ "1h-30m", false, UNIT },
	{ "1h+30m", false, UNIT },
	{ "1h.5m", false, UNIT },
	{ "1h30mx", false, UNIT },
	{ "1us", false, UNIT },
	{ "1e3", false, UNIT },
	{ "1,5", false, UNIT },
	{ "1.5.5", false, UNIT },
	/* combinations: a unit for every number, in order, each once */
	{ "1ms5", false, NOUNIT },
	{ "1h30", false, NOUNIT },
	{ "1m30.5", false, NOUNIT },
	{ "30m1h", false, ORDER },
	{ "1ms1s", false, ORDER },
	{ "1h1h", false, ORDER },
	{ "1s1s", false, ORDER },
	{ "1d2d", false, ORDER },
	{ "1h30m1h", false, ORDER },
	{ "1.5h30m", false, FRAC },
	{ "0.5d1ms", false, FRAC },
	{ "1h30m.", false, UNIT },
	{ "1h30.m", false, POINT },
	{ "0h0m", false, ZERO },
	{ "1msms", false, UNIT },
	{ "0x10", false, UNIT },
	{ "1\xc2\xb5s", false, UNIT },
	/* more than a year, and numbers that would overflow */
	{ "99999999999999999999", false, YEAR },
	{ "99999999999999999999ms", false, YEAR },
	{ "99999999999999999999.5h", false, YEAR },
	{ "9223372036854775807ms", false, YEAR },
	{ "9223372036854775808", false, YEAR },
	{ "8761h", false, YEAR },
	{ "525601m", false, YEAR },
	{ "31536001s", false, YEAR },
	{ "31536001", false, YEAR },
	{ "31536000001ms", false, YEAR },
	{ "31536000.001", false, YEAR },
	{ "8760.0001h", false, YEAR },
	{ "525600.5m", false, YEAR },
	{ "2562047788015216h", false, YEAR },
	{ "153722867280912931m", false, YEAR },
	{ "366d", false, YEAR },
	{ "365d1ms", false, YEAR },
	{ "364d24h0.001s", false, YEAR },
	{ "364d23h61m", false, YEAR },
	{ "106751991167300d", false, YEAR },
	{ "1d99999999999999999999h", false, YEAR },
	{ "365d0.0000000001ms", false, YEAR },
};

static void test_good(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct dlock_error err = { 0, "" };
		int64_t ms = UNTOUCHED;
		int rc;

		rc = dlock_parse_duration(good[i].text, good[i].allow_zero,
					  &ms, &err);
		if (!is_int(rc, 0, "'%s'%s is accepted", good[i].text,
			    good[i].allow_zero ? " (zero allowed)" : ""))
			diag("message: %s", err.msg);
		is_int(ms, good[i].ms, "'%s' is %lld ms", good[i].text,
		       (long long)good[i].ms);
	}
}

static void test_bad(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct dlock_error err = { 0, "" };
		char quoted[256];
		int64_t ms = UNTOUCHED;
		bool named;
		int rc;

		rc = dlock_parse_duration(bad[i].text, bad[i].allow_zero, &ms,
					  &err);
		is_int(rc, DLOCK_EUSAGE, "'%s'%s is rejected", bad[i].text,
		       bad[i].allow_zero ? " (zero allowed)" : "");
		is_int(err.code, DLOCK_EUSAGE, "'%s': err.code is set",
		       bad[i].text);
		is_int(ms, UNTOUCHED, "'%s': *ms is left alone", bad[i].text);
		snprintf(quoted, sizeof(quoted), "invalid duration '%s': ",
			 bad[i].text);
		named = ok(strncmp(err.msg, quoted, strlen(quoted)) == 0,
			   "'%s': the message names the value", bad[i].text);
		if (!ok(strstr(err.msg, bad[i].why),
			"'%s': the message says '%s'", bad[i].text,
			bad[i].why) || !named)
			diag("message: %s", err.msg);
	}
}

static void test_messages(void)
{
	struct dlock_error err = { 0, "" };
	int64_t ms;

	dlock_parse_duration("1x", false, &ms, &err);
	is_str(err.msg, "invalid duration '1x': unknown unit; use a number "
	       "and an optional unit (ms, s, m, h, d), or a combination such "
	       "as 1h30m: 250ms, 1.5 (seconds), 30s, 5m, 2h",
	       "the whole message, with its hint");
	is_int(dlock_parse_duration("abc", false, &ms, NULL), DLOCK_EUSAGE,
	       "a NULL err is allowed");
	is_int(dlock_parse_duration("1s", false, &ms, NULL), 0,
	       "a NULL err is allowed on success");
}

int main(void)
{
	test_good();
	test_bad();
	test_messages();
	return done_testing();
}
