/* SPDX-License-Identifier: MIT */
/*
 * A tiny TAP producer for the unit tests, header-only.
 *
 *	ok(cond, "what %s", ...);
 *	is_int(got, want, "what");
 *	is_str(got, want, "what");	(either may be NULL)
 *	diag("a note");
 *	return done_testing();
 *
 * Each check prints "ok N - what" or "not ok N - what" and, on failure, what
 * was got and what was expected as "# " lines. done_testing() prints the
 * plan and returns the exit status: 0 when every check passed.
 * Everything goes to stdout, flushed at once, so that diagnostics stay next
 * to their test and nothing is lost when a sanitizer aborts the program.
 */
#ifndef DLOCK_TAP_H
#define DLOCK_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__)
#define TAP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TAP_PRINTF(f, a)
#endif

static int tap_run;
static int tap_failed;

/* Prints s on one line: '#', '\' and bytes that are not printable escaped. */
static inline void tap_put_escaped(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '#' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static inline void tap_vresult(bool pass, const char *file, int line,
			       const char *fmt, va_list ap)
{
	char what[1024];

	vsnprintf(what, sizeof(what), fmt, ap);
	tap_run++;
	if (!pass)
		tap_failed++;
	printf("%sok %d - ", pass ? "" : "not ", tap_run);
	tap_put_escaped(what);
	putchar('\n');
	if (!pass)
		printf("#   Failed test at %s line %d.\n", file, line);
	fflush(stdout);
}

static inline TAP_PRINTF(4, 5)
bool tap_ok(bool pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vresult(pass, file, line, fmt, ap);
	va_end(ap);
	return pass;
}

static inline TAP_PRINTF(5, 6)
bool tap_is_int(intmax_t got, intmax_t want, const char *file, int line,
		const char *fmt, ...)
{
	bool pass = got == want;
	va_list ap;

	va_start(ap, fmt);
	tap_vresult(pass, file, line, fmt, ap);
	va_end(ap);
	if (!pass)
		printf("#          got: %" PRIdMAX "\n"
		       "#     expected: %" PRIdMAX "\n", got, want);
	fflush(stdout);
	return pass;
}

static inline void tap_diag_str(const char *label, const char *s)
{
	printf("#     %8s: ", label);
	if (s) {
		putchar('\'');
		tap_put_escaped(s);
		putchar('\'');
	} else {
		fputs("NULL", stdout);
	}
	putchar('\n');
}

static inline TAP_PRINTF(5, 6)
bool tap_is_str(const char *got, const char *want, const char *file,
		int line, const char *fmt, ...)
{
	bool pass = got && want ? strcmp(got, want) == 0 : got == want;
	va_list ap;

	va_start(ap, fmt);
	tap_vresult(pass, file, line, fmt, ap);
	va_end(ap);
	if (!pass) {
		tap_diag_str("got", got);
		tap_diag_str("expected", want);
		fflush(stdout);
	}
	return pass;
}

static inline TAP_PRINTF(1, 2) void diag(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fputs("# ", stdout);
	tap_put_escaped(msg);
	putchar('\n');
	fflush(stdout);
}

/* Prints the plan; returns 0 when at least one check ran and none failed. */
static inline int done_testing(void)
{
	printf("1..%d\n", tap_run);
	if (tap_failed)
		printf("# failed %d of %d checks\n", tap_failed, tap_run);
	fflush(stdout);
	return tap_failed || !tap_run ? 1 : 0;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) \
	tap_is_int((intmax_t)(got), (intmax_t)(want), __FILE__, __LINE__, \
		   __VA_ARGS__)
#define is_str(got, want, ...) \
	tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)

#endif
