/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "internal.h"

/*
 * Names end up inside a Redis hash tag "{NAME}" and in "dlock list" globs,
 * so braces and glob characters are out; so are spaces and control bytes,
 * which make names unreadable in logs.
 */
static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("._-:/@+=", c);
}

int dlock_check_name(const char *name, struct dlock_error *err)
{
	size_t len = strlen(name);

	if (len == 0)
		return set_error(err, DLOCK_EUSAGE,
				 "the lock name is empty; give a name such as "
				 "'deploy'");
	if (len > DLOCK_NAME_MAX)
		return set_error(err, DLOCK_EUSAGE,
				 "the lock name is %zu bytes long; the limit "
				 "is %d", len, DLOCK_NAME_MAX);
	if (name[0] == '-')
		return set_error(err, DLOCK_EUSAGE,
				 "invalid lock name '%s': it must not start "
				 "with '-'", name);
	for (size_t i = 0; i < len; i++) {
		if (!name_char(name[i]))
			return set_error(err, DLOCK_EUSAGE,
					 "invalid lock name '%.*s': use letters, "
					 "digits and . _ - : / @ + =",
					 DLOCK_NAME_MAX, name);
	}
	return 0;
}

/*
 * Checks the brackets of a glob: each [ closed by a later ], with
 * something inside, and ^ only to negate a class (no name has a ^).
 */
static const char *glob_brackets(const char *glob)
{
	const char *open = NULL;

	for (const char *p = glob; *p; p++) {
		if (open && *p == ']') {
			if (p == open + 1 || (p == open + 2 && open[1] == '^'))
				return "a [ ] class is empty";
			open = NULL;
		} else if (open && *p == '[') {
			return "a [ inside [ ] has no meaning";
		} else if (!open && *p == '[') {
			open = p;
		} else if (!open && *p == ']') {
			return "a ] has no [ before it";
		} else if (*p == '^' && p != open + 1) {
			return "^ may only open a class, as in [^a-c]";
		}
	}
	return open ? "a [ is not closed by ]" : NULL;
}

int dlock_check_glob(const char *glob, struct dlock_error *err)
{
	size_t len = strlen(glob);
	const char *why;

	if (len == 0 || len > DLOCK_NAME_MAX)
		return set_error(err, DLOCK_EUSAGE, "invalid pattern '%.*s': "
				 "give 1 to %d characters", DLOCK_NAME_MAX,
				 glob, DLOCK_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		char c = glob[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("._-:/@+=*?[]^", c)))
			return set_error(err, DLOCK_EUSAGE,
					 "invalid pattern '%s': use name "
					 "characters and * ? [ ]", glob);
	}
	why = glob_brackets(glob);
	if (why)
		return set_error(err, DLOCK_EUSAGE, "invalid pattern '%s': %s",
				 glob, why);
	return 0;
}

int check_prefix(const char *prefix, struct dlock_error *err)
{
	size_t len = strlen(prefix);

	if (len > DLOCK_PREFIX_MAX)
		return set_error(err, DLOCK_EUSAGE,
				 "the key prefix is %zu bytes long; the limit "
				 "is %d", len, DLOCK_PREFIX_MAX);
	for (size_t i = 0; i < len; i++) {
		if (!name_char(prefix[i]))
			return set_error(err, DLOCK_EUSAGE,
					 "invalid key prefix '%.*s': use "
					 "letters, digits and . _ - : / @ + =",
					 DLOCK_PREFIX_MAX, prefix);
	}
	return 0;
}
