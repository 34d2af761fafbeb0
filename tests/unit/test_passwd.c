/* SPDX-License-Identifier: MIT */
/* passwd_name() on passwd files written here, and user_name() against NSS. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "tap.h"

static char path[] = "/tmp/dlock-test-passwd.XXXXXX";

static void write_passwd(const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* The name passwd_name() finds for uid in text, or "(none)". */
static const char *lookup(const char *text, unsigned long uid, size_t size)
{
	static char name[64];

	write_passwd(text);
	memset(name, 'X', sizeof(name));
	if (!passwd_name(path, uid, name, size))
		return "(none)";
	return name;
}

static void test_passwd_name(void)
{
	const char *file =
		"root:x:0:0:root:/root:/bin/bash\n"
		"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
		"ten:x:10:10::/home/ten:/bin/sh\n"
		"alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n"
		"toor:x:0:0:second root:/root:/bin/sh\n";

	is_str(lookup(file, 0, 64), "root", "uid 0: the first of two names");
	is_str(lookup(file, 1, 64), "daemon", "uid 1, not 10");
	is_str(lookup(file, 10, 64), "ten", "uid 10, not 1 or 1000");
	is_str(lookup(file, 1000, 64), "alice", "uid 1000");
	is_str(lookup(file, 100, 64), "(none)", "an absent uid: not found");
	is_str(lookup("bob:x:1001:1001::/home/bob:/bin/sh", 1001, 64), "bob",
	       "a last line without a newline");
	is_str(lookup("# not a user\n\nbad\nbad:x\nbad:x:1x:0::/:/bin/sh\n"
		      ":x:7:7::/:/bin/sh\ncarol:x:7:7::/:/bin/sh\n", 7, 64),
	       "carol", "past comments, blank, short and bad lines");
	is_str(lookup("bad:x:99999999999999999999999:0::/:/bin/sh\n"
		      "dave:x:4294967295:0::/:/bin/sh\n", 4294967295UL, 64),
	       "dave", "an overflowing uid is skipped");
	is_str(lookup("root:x:0:0::/root:/bin/sh\n+@admins\n"
		      "eve:x:1002:1002::/:/bin/sh\n", 1002, 64), "(none)",
	       "after a NIS compat entry, NSS decides");
	is_str(lookup("-eve\neve:x:1002:1002::/:/bin/sh\n", 1002, 64),
	       "(none)", "... also after an exclusion");
	is_str(lookup(file, 1000, 6), "alice", "a name that just fits");
	is_str(lookup(file, 1000, 5), "(none)", "one that does not fit");
	ok(!passwd_name("/nonexistent/passwd", 0, (char[8]){0}, 8),
	   "a missing file: not found");
}

static void test_user_name(void)
{
	struct passwd pwd, *pw = NULL;
	char buf[1024], name[64];

	user_name(name, sizeof(name));
	if (getpwuid_r(geteuid(), &pwd, buf, sizeof(buf), &pw) != 0 || !pw)
		is_str(name, "?", "a user NSS does not know is '?'");
	else
		is_str(name, pw->pw_name, "user_name() is NSS's name for "
		       "the effective uid: %s", name);
}

int main(void)
{
	int fd = mkstemp(path);

	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	test_passwd_name();
	test_user_name();
	unlink(path);
	return done_testing();
}
