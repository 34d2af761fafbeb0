/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

int dlock_parse_signal(const char *text, int *sig, struct dlock_error *err)
{
	const char *name = text;
	long number;

	if (*text >= '0' && *text <= '9') {
		if (dlock_parse_uint(text, NSIG - 1, &number, NULL) == 0 &&
		    number > 0) {
			*sig = (int)number;
			return 0;
		}
	} else {
		if (strncasecmp(name, "SIG", 3) == 0)
			name += 3;
		for (int i = 1; i < NSIG; i++) {
			const char *abbrev = sigabbrev_np(i);

			if (abbrev && strcasecmp(abbrev, name) == 0) {
				*sig = i;
				return 0;
			}
		}
	}
	return set_error(err, DLOCK_EUSAGE,
			 "invalid signal '%s': use a name such as TERM, INT, "
			 "KILL or HUP, or a number", text);
}
