/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

int set_error(struct dlock_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ms_until(int64_t deadline)
{
	int64_t left;

	if (deadline == NO_DEADLINE)
		return -1;
	left = deadline - now_ms();
	if (left < 0)
		return 0;
	if (left > 1000 * 1000 * 1000)
		return 1000 * 1000 * 1000;
	return (int)left;
}

void free_secret(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

int random_hex(char *buf, size_t len, struct dlock_error *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[64];
	size_t got = 0;

	if (len > sizeof(raw))
		return set_error(err, DLOCK_EUSAGE, "random_hex: %zu bytes", len);
	while (got < len) {
		ssize_t n = getrandom(raw + got, len - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return set_error(err, DLOCK_ESYS, "getrandom: %s",
					 strerror(errno));
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < len; i++) {
		buf[2 * i] = hex[raw[i] >> 4];
		buf[2 * i + 1] = hex[raw[i] & 15];
	}
	buf[2 * len] = '\0';
	return 0;
}

const char *dlock_strerror(int code)
{
	switch (code) {
	case DLOCK_OK:
		return "success";
	case DLOCK_EUSAGE:
		return "invalid argument";
	case DLOCK_ECONFIG:
		return "configuration error";
	case DLOCK_ECONN:
		return "cannot reach the server";
	case DLOCK_EAUTH:
		return "authentication refused";
	case DLOCK_EBUSY:
		return "lock is held";
	case DLOCK_ETIMEDOUT:
		return "timed out";
	case DLOCK_ECANCELED:
		return "canceled";
	case DLOCK_ELOST:
		return "lock lost";
	case DLOCK_ESERVER:
		return "server refused";
	case DLOCK_ESYS:
		return "system error";
	case DLOCK_ENOMEM:
		return "out of memory";
	}
	return "unknown error";
}

bool passwd_name(const char *path, unsigned long uid, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *end;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		char *name = line, *uid_field;
		unsigned long u;

		/* NIS compat entries: which user they bring in is NSS's say. */
		if (line[0] == '+' || line[0] == '-')
			break;
		uid_field = strchr(line, ':');
		if (uid_field)
			uid_field = strchr(uid_field + 1, ':');
		if (!uid_field || uid_field[1] < '0' || uid_field[1] > '9')
			continue;
		errno = 0;
		u = strtoul(uid_field + 1, &end, 10);
		if (errno || *end != ':' || u != uid || name[0] == ':')
			continue;
		*strchr(name, ':') = '\0';
		found = strlen(name) < size;
		if (found)
			memcpy(buf, name, strlen(name) + 1);
		break;
	}
	free(line);
	fclose(f);
	return found;
}

void user_name(char *buf, size_t size)
{
	struct passwd pwd, *pw = NULL;
	char pwbuf[1024];

	if (passwd_name("/etc/passwd", (unsigned long)geteuid(), buf, size))
		return;
	if (getpwuid_r(geteuid(), &pwd, pwbuf, sizeof(pwbuf), &pw) != 0)
		pw = NULL;
	snprintf(buf, size, "%s", pw ? pw->pw_name : "?");
}
