/* SPDX-License-Identifier: MIT */
/*
 * dlock_config_note(): the notes for --verbose that resolving leaves, and
 * the warnings beside them, with a config file in a temporary directory.
 * The system file a user may not read is checked as another user in
 * tests/integration/config.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "tap.h"

static char dir[] = "/tmp/dlock-test-notes.XXXXXX";
static char conf[sizeof(dir) + 16];

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (!ok(f, "create %s", path))
		return;
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/* Resolves with only the config file at path; returns the config. */
static struct dlock_config *resolve(const char *path, int want)
{
	struct dlock_config *cfg = dlock_config_new();
	struct dlock_error err = { 0, "" };

	setenv("DLOCK_CONFIG", path, 1);
	if (!is_int(dlock_config_resolve(cfg, &err), want, "resolve %s",
		    path))
		diag("message: %s", err.msg);
	return cfg;
}

static void test_url_lines(void)
{
	char want[256];
	struct dlock_config *cfg;

	write_file(conf, "url = unix:///run/a.sock\n# a second one\n"
		   "url = unix:///run/b.sock\n", 0600);
	cfg = resolve(conf, 0);
	snprintf(want, sizeof(want), "settings from %s", conf);
	is_str(dlock_config_note(cfg, 0), want, "the file read is noted");
	snprintf(want, sizeof(want), "%s:3: url ignored: only the first url "
		 "line (line 1) is used", conf);
	is_str(dlock_config_note(cfg, 1), want, "a second url line is noted");
	is_str(dlock_config_note(cfg, 2), NULL, "and nothing else");
	is_int(dlock_config_url_count(cfg), 1, "one server");
	is_str(dlock_config_url_display(cfg, 0), "unix:///run/a.sock",
	       "the first url line's");
	is_str(dlock_config_warning(cfg, 0), NULL, "no warning");
	dlock_config_free(cfg);
}

static void test_modes(void)
{
	char want[256];
	struct dlock_config *cfg;

	write_file(conf, "url = unix:///run/a.sock\npassword = x\n", 0640);
	cfg = resolve(conf, 0);
	is_str(dlock_config_warning(cfg, 0), NULL,
	       "a password in a file of mode 0640: no warning");
	dlock_config_free(cfg);
	chmod(conf, 0644);
	cfg = resolve(conf, 0);
	snprintf(want, sizeof(want), "config file %s holds a password and is "
		 "readable by every user (mode 0644); run 'chmod o-r %s'",
		 conf, conf);
	is_str(dlock_config_warning(cfg, 0), want, "mode 0644: a warning");
	is_str(dlock_config_warning(cfg, 1), NULL, "only one");
	dlock_config_free(cfg);
}

int main(void)
{
	static const char *const unset[] = {
		"DLOCK_URL", "REDIS_URL", "DLOCK_PREFIX", "DLOCK_PASSWORD",
		"REDISCLI_AUTH",
	};

	for (size_t i = 0; i < ARRAY_SIZE(unset); i++)
		unsetenv(unset[i]);
	if (!ok(mkdtemp(dir), "a temporary directory"))
		return done_testing();
	snprintf(conf, sizeof(conf), "%s/config", dir);
	test_url_lines();
	test_modes();
	unlink(conf);
	rmdir(dir);
	return done_testing();
}
