/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "internal.h"

/* A year: longer leases and waits are typos, not plans. */
#define DURATION_MAX_MS (365LL * 24 * 3600 * 1000)

#define DURATION_HINT "use a number and an optional unit: 250ms, 1.5 " \
	"(seconds), 30s, 5m, 2h"

static int bad_duration(struct dlock_error *err, const char *text,
			const char *why)
{
	return set_error(err, DLOCK_EUSAGE, "invalid duration '%s': %s; "
			 DURATION_HINT, text, why);
}

int dlock_parse_duration(const char *text, bool allow_zero, int64_t *ms,
			 struct dlock_error *err)
{
	static const struct {
		const char *suffix;
		int64_t ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "", 1000 },
	};
	const char *p = text;
	int64_t whole = 0, frac = 0, frac_scale = 1, unit = 0, total;
	bool below_ns = false;

	if (*p < '0' || *p > '9')
		return bad_duration(err, text, *p == '-' ? "negative" :
				    "it must start with a digit");
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (*p - '0');
		if (whole > DURATION_MAX_MS)
			return bad_duration(err, text, "longer than a year");
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return bad_duration(err, text,
					    "a digit must follow the point");
		for (; *p >= '0' && *p <= '9'; p++) {
			if (frac_scale >= 1000000000) {
				below_ns |= *p != '0';
				continue;
			}
			frac = frac * 10 + (*p - '0');
			frac_scale *= 10;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(p, units[i].suffix) == 0) {
			unit = units[i].ms;
			break;
		}
	}
	if (!unit)
		return bad_duration(err, text, "unknown unit");
	if (whole > DURATION_MAX_MS / unit)
		return bad_duration(err, text, "longer than a year");
	/*
	 * Round a fraction of a millisecond up, so "0.0001" is not zero; so
	 * are digits below a nanosecond, which only count as "more than 0".
	 */
	if (below_ns)
		frac++;
	total = whole * unit + (frac * unit + frac_scale - 1) / frac_scale;
	if (total > DURATION_MAX_MS)
		return bad_duration(err, text, "longer than a year");
	if (total == 0 && !allow_zero)
		return bad_duration(err, text, "it must be more than zero");
	*ms = total;
	return 0;
}

int dlock_parse_uint(const char *text, long max, long *value,
		     struct dlock_error *err)
{
	long v = 0;
	const char *p = text;

	if (!*p)
		return set_error(err, DLOCK_EUSAGE,
				 "invalid number '': it is empty");
	for (; *p; p++) {
		int digit = *p - '0';

		if (*p < '0' || *p > '9')
			return set_error(err, DLOCK_EUSAGE,
					 "invalid number '%s': use digits only",
					 text);
		if (v > max / 10 || v * 10 > max - digit)
			return set_error(err, DLOCK_EUSAGE,
					 "invalid number '%s': the largest "
					 "allowed is %ld", text, max);
		v = v * 10 + digit;
	}
	*value = v;
	return 0;
}
