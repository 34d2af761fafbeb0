/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "internal.h"

/* A year: longer leases and waits are typos, not plans. */
#define DURATION_MAX_MS (365LL * 24 * 3600 * 1000)

#define DURATION_HINT "use a number and an optional unit (ms, s, m, h, d), " \
	"or a combination such as 1h30m: 250ms, 1.5 (seconds), 30s, 5m, 2h"

static int bad_duration(struct dlock_error *err, const char *text,
			const char *why)
{
	return set_error(err, DLOCK_EUSAGE, "invalid duration '%s': %s; "
			 DURATION_HINT, text, why);
}

/* Largest first: a combination must name its units in this order. */
static const struct {
	const char *name;
	int64_t ms;
} units[] = {
	{ "d", 24 * 3600000 }, { "h", 3600000 }, { "m", 60000 },
	{ "s", 1000 }, { "ms", 1 },
};

/*
 * Finds the unit of len bytes at p: returns its index in units[], or -1.
 * The unit is every byte up to the next digit, so "1msms" and "1.5.5"
 * name units that do not exist rather than being read in pieces.
 */
static int find_unit(const char *p, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (strlen(units[i].name) == len &&
		    memcmp(p, units[i].name, len) == 0)
			return (int)i;
	return -1;
}

/*
 * A duration is either one number without a unit (seconds, as flock) or
 * numbers each with a unit, from the largest unit to the smallest, each
 * at most once, as Go and systemd write them ("1h30m", "1m30.5s"). Going
 * back up ("30m1h") or repeating a unit is refused: it is more likely a
 * typo than a sum. Only the last number may have a decimal part, so that
 * a fraction of a millisecond is rounded once, up.
 */
int dlock_parse_duration(const char *text, bool allow_zero, int64_t *ms,
			 struct dlock_error *err)
{
	const char *p = text;
	int64_t total = 0;
	int last = -1;		/* index in units[] of the previous unit */

	if (*p < '0' || *p > '9')
		return bad_duration(err, text, *p == '-' ? "negative" :
				    "it must start with a digit");
	while (*p) {
		int64_t whole = 0, frac = 0, frac_scale = 1, unit;
		bool below_ns = false, has_frac = false;
		size_t len;
		int u;

		for (; *p >= '0' && *p <= '9'; p++) {
			whole = whole * 10 + (*p - '0');
			if (whole > DURATION_MAX_MS)
				return bad_duration(err, text,
						    "longer than a year");
		}
		if (*p == '.') {
			p++;
			has_frac = true;
			if (*p < '0' || *p > '9')
				return bad_duration(err, text, "a digit must "
						    "follow the point");
			for (; *p >= '0' && *p <= '9'; p++) {
				if (frac_scale >= 1000000000) {
					below_ns |= *p != '0';
					continue;
				}
				frac = frac * 10 + (*p - '0');
				frac_scale *= 10;
			}
		}
		/* Each unit ends at a digit: the loop starts at one. */
		len = strcspn(p, "0123456789");
		if (len == 0 && last < 0) {
			unit = 1000;	/* the whole text is one number */
		} else if (len == 0) {
			return bad_duration(err, text, "in a combination, "
					    "every number needs a unit");
		} else if ((u = find_unit(p, len)) < 0) {
			return bad_duration(err, text, "unknown unit");
		} else if (u <= last) {
			return bad_duration(err, text, "units must go from "
					    "the largest to the smallest, "
					    "each once");
		} else {
			unit = units[u].ms;
			last = u;
		}
		p += len;
		if (has_frac && *p)
			return bad_duration(err, text, "only the last number "
					    "may have a decimal part");
		if (whole > (DURATION_MAX_MS - total) / unit)
			return bad_duration(err, text, "longer than a year");
		/*
		 * Round a fraction of a millisecond up, so "0.0001" is not
		 * zero; so are digits below a nanosecond, which only count
		 * as "more than 0".
		 */
		if (below_ns)
			frac++;
		total += whole * unit + (frac * unit + frac_scale - 1) /
			 frac_scale;
		if (total > DURATION_MAX_MS)
			return bad_duration(err, text, "longer than a year");
	}
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
