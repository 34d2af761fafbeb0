/* SPDX-License-Identifier: MIT */
/* dlock_check_glob(): name characters and * ? [ ], brackets well formed. */
#include <string.h>

#include "internal.h"
#include "tap.h"

static const char *const good[] = {
	"*", "deploy/*", "db-?", "job[0-9]", "job[^0-9]*", "a[bc]d",
	"[a-z]*[0-9]", "x-[.]", "a:b@c+d=e",
};

static const struct {
	const char *glob;
	const char *why;
} bad[] = {
	{ "", "give 1 to" },
	{ "job[0-9", "a [ is not closed by ]" },
	{ "[", "a [ is not closed by ]" },
	{ "job]", "a ] has no [ before it" },
	{ "a[]b", "a [ ] class is empty" },
	{ "a[^]b", "a [ ] class is empty" },
	{ "a[[b]]", "a [ inside [ ] has no meaning" },
	{ "^job", "^ may only open a class" },
	{ "a[b^c]", "^ may only open a class" },
	{ "a b", "use name characters" },
	{ "a{b}", "use name characters" },
	{ "a\\*", "use name characters" },
};

int main(void)
{
	struct dlock_error err;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		is_int(dlock_check_glob(good[i], &err), 0, "'%s' is a pattern",
		       good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err.msg[0] = '\0';
		is_int(dlock_check_glob(bad[i].glob, &err), DLOCK_EUSAGE,
		       "'%s' is refused", bad[i].glob);
		ok(strstr(err.msg, bad[i].why), "... saying '%s': %s",
		   bad[i].why, err.msg);
	}
	return done_testing();
}
