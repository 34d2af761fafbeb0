/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

#define DEFAULT_PREFIX "dlock:"
#define SYSTEM_CONFIG "/etc/dlock.conf"
#define LINE_MAX_BYTES 4096

static const char *const file_keys[] = {
	"url", "prefix", "connect-timeout", "user", "password",
	"password-file", "tls-ca", "tls-cert", "tls-key", "tls-server-name",
	"sentinel-user", "sentinel-password-file",
};

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\n' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

/*
 * A value may be put in double or single quotes, which are removed;
 * nothing inside them is special, so a password keeps its backslashes and
 * quotes. Comments are whole lines: a '#' that starts a word of an
 * unquoted value ("url = redis://h # prod") is refused rather than cut
 * off, since a password may hold one, and a silently shortened password
 * would only show as a refusal by the server.
 */
static int unquote(char **value, const char *key, struct dlock_error *err)
{
	char *v = *value;
	size_t len = strlen(v);

	if (*v == '"' || *v == '\'') {
		if (len < 2 || v[len - 1] != *v)
			return set_error(err, DLOCK_ECONFIG,
					 "the value of '%.64s' opens a quote "
					 "(%c) that does not close at the end "
					 "of the line; nothing may follow the "
					 "closing quote, and comments go on "
					 "lines of their own", key, *v);
		v[len - 1] = '\0';
		*value = v + 1;
		return 0;
	}
	for (const char *h = strchr(v, '#'); h; h = strchr(h + 1, '#'))
		if (h == v || h[-1] == ' ' || h[-1] == '\t')
			return set_error(err, DLOCK_ECONFIG,
					 "the value of '%.64s' has a '#' that "
					 "starts a word; comments go on lines "
					 "of their own, and a value whose '#' "
					 "belongs to it goes in quotes "
					 "(\"...\")", key);
	return 0;
}

int config_split_line(char *line, char **key, char **value,
		      struct dlock_error *err)
{
	char *eq, *k, *v;
	size_t word;

	*key = *value = NULL;
	line = trim(line);
	if (*line == '\0' || *line == '#')
		return 0;
	eq = strchr(line, '=');
	/* Quote only the first word: the rest may be a password. */
	word = strcspn(line, " \t:");
	if (!eq)
		return set_error(err, DLOCK_ECONFIG,
				 "expected 'key = value', found no '=' after "
				 "'%.*s'", (int)(word < 64 ? word : 64), line);
	*eq = '\0';
	k = trim(line);
	if (*k == '\0')
		return set_error(err, DLOCK_ECONFIG,
				 "a line has no key before '='");
	v = trim(eq + 1);
	if (unquote(&v, k, err))
		return DLOCK_ECONFIG;
	*key = k;
	*value = v;
	return 0;
}

struct dlock_config *dlock_config_new(void)
{
	struct dlock_config *cfg = calloc(1, sizeof(struct dlock_config));

	if (cfg)
		cfg->wait_replicas = -1;
	return cfg;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void dlock_config_free(struct dlock_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nurls; i++) {
		free_secret(cfg->url_texts[i]);
		if (cfg->urls)
			url_clear(&cfg->urls[i]);
	}
	free(cfg->url_texts);
	free(cfg->urls);
	free(cfg->prefix);
	free(cfg->user);
	free_secret(cfg->password);
	free(cfg->password_file);
	free(cfg->sentinel_user);
	free_secret(cfg->sentinel_password);
	free(cfg->sentinel_password_file);
	free(cfg->config_file);
	free(cfg->tls_ca);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->tls_server_name);
	free_strings(cfg->warnings, cfg->nwarnings);
	free_strings(cfg->notes, cfg->nnotes);
	free(cfg);
}

static int oom(struct dlock_error *err)
{
	return set_error(err, DLOCK_ENOMEM, "out of memory");
}

static int add_url(struct dlock_config *cfg, const char *text,
		   struct dlock_error *err)
{
	char **v = realloc(cfg->url_texts, (cfg->nurls + 1) * sizeof(*v));

	if (!v)
		return oom(err);
	cfg->url_texts = v;
	v[cfg->nurls] = strdup(text);
	if (!v[cfg->nurls])
		return oom(err);
	cfg->nurls++;
	return 0;
}

/*
 * Whether URL text takes a list of hosts (redis+sentinel://h1,h2/...,
 * etcd://h1,h2), whose commas do not separate URLs.
 */
static bool takes_host_list(const char *text)
{
	const char *scheme_end = strstr(text, "://");
	const char *plus = strchr(text, '+');

	return scheme_end && ((plus && plus < scheme_end) ||
			      strncmp(text, "etcd://", 7) == 0 ||
			      strncmp(text, "etcds://", 8) == 0);
}

/* Appends ",more" to the last URL: the next host of its list. */
static int extend_last_url(struct dlock_config *cfg, const char *more,
			   struct dlock_error *err)
{
	char **last = &cfg->url_texts[cfg->nurls - 1], *joined;

	if (asprintf(&joined, "%s,%s", *last, more) < 0)
		return oom(err);
	free_secret(*last);
	*last = joined;
	return 0;
}

/*
 * Adds each element of a comma-separated list, skipping empty ones; an
 * element without a scheme after a URL that takes a host list is its
 * next host.
 */
static int add_url_list(struct dlock_config *cfg, const char *list,
			struct dlock_error *err)
{
	char *copy = strdup(list), *save = NULL;
	size_t first = cfg->nurls;
	int rc = 0;

	if (!copy)
		return oom(err);
	for (char *tok = strtok_r(copy, ",", &save); tok && !rc;
	     tok = strtok_r(NULL, ",", &save)) {
		tok = trim(tok);
		if (!*tok)
			continue;
		if (cfg->nurls > first && !strstr(tok, "://") &&
		    takes_host_list(cfg->url_texts[cfg->nurls - 1]))
			rc = extend_last_url(cfg, tok, err);
		else
			rc = add_url(cfg, tok, err);
	}
	free_secret(copy);
	return rc;
}

/*
 * Appends a message to a NULL-terminated list. Losing one to a lack of
 * memory is not worth failing for: the caller goes on without it.
 */
static void add_message(char ***list, size_t *n, const char *fmt, va_list ap)
{
	char buf[DLOCK_ERRMSG_MAX], **v;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	v = realloc(*list, (*n + 2) * sizeof(*v));
	if (!v)
		return;
	*list = v;
	v[*n] = strdup(buf);
	if (v[*n])
		(*n)++;
	v[*n] = NULL;
}

static void add_warning(struct dlock_config *cfg, const char *fmt, ...)
	PRINTF_LIKE(2, 3);

static void add_warning(struct dlock_config *cfg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_message(&cfg->warnings, &cfg->nwarnings, fmt, ap);
	va_end(ap);
}

static void add_note(struct dlock_config *cfg, const char *fmt, ...)
	PRINTF_LIKE(2, 3);

static void add_note(struct dlock_config *cfg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_message(&cfg->notes, &cfg->nnotes, fmt, ap);
	va_end(ap);
}

/*
 * A secret that every user can read deserves a warning; one that only the
 * file's group can read is how a service account is often given it.
 */
static void warn_if_world_readable(struct dlock_config *cfg, FILE *f,
				   const char *what, const char *path,
				   const char *holds)
{
	struct stat st;

	if (fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH))
		add_warning(cfg, "%s %s%s is readable by every user (mode "
			    "%04o); run 'chmod o-r %s'", what, path, holds,
			    (unsigned)(st.st_mode & 07777), path);
}

static int replace(char **slot, const char *value, struct dlock_error *err)
{
	char *copy = strdup(value);

	if (!copy)
		return oom(err);
	free_secret(*slot);
	*slot = copy;
	return 0;
}

static int parse_timeout(const char *value, const char *source,
			 int64_t *ms, struct dlock_error *err)
{
	struct dlock_error why;

	if (dlock_parse_duration(value, false, ms, &why))
		return set_error(err, DLOCK_EUSAGE, "%s: %s", source, why.msg);
	return 0;
}

int dlock_config_set_option(struct dlock_config *cfg, const char *key,
			    const char *value, struct dlock_error *err)
{
	if (strcmp(key, "url") == 0) {
		cfg->urls_from_option = true;
		return add_url(cfg, value, err);
	}
	if (strcmp(key, "prefix") == 0) {
		if (check_prefix(value, err))
			return DLOCK_EUSAGE;
		return replace(&cfg->prefix, value, err);
	}
	if (strcmp(key, "connect-timeout") == 0) {
		cfg->connect_timeout_set = true;
		return parse_timeout(value, "--connect-timeout",
				     &cfg->connect_timeout_ms, err);
	}
	if (strcmp(key, "user") == 0)
		return replace(&cfg->user, value, err);
	if (strcmp(key, "password-file") == 0)
		return replace(&cfg->password_file, value, err);
	if (strcmp(key, "config") == 0)
		return replace(&cfg->config_file, value, err);
	if (strcmp(key, "sentinel-user") == 0)
		return replace(&cfg->sentinel_user, value, err);
	if (strcmp(key, "sentinel-password-file") == 0)
		return replace(&cfg->sentinel_password_file, value, err);
	if (strcmp(key, "wait-replicas") == 0) {
		struct dlock_error why;

		if (dlock_parse_uint(value, 1000, &cfg->wait_replicas, &why))
			return set_error(err, DLOCK_EUSAGE, "%s", why.msg);
		return 0;
	}
	if (strcmp(key, "tls-ca") == 0)
		return replace(&cfg->tls_ca, value, err);
	if (strcmp(key, "tls-cert") == 0)
		return replace(&cfg->tls_cert, value, err);
	if (strcmp(key, "tls-key") == 0)
		return replace(&cfg->tls_key, value, err);
	if (strcmp(key, "tls-server-name") == 0)
		return replace(&cfg->tls_server_name, value, err);
	return set_error(err, DLOCK_EUSAGE, "unknown setting '%s'", key);
}

/* What the config file said, and where; strings are owned here. */
struct file_settings {
	char *path;		/* NULL when no file was read */
	char *values[ARRAY_SIZE(file_keys)];
	int lines[ARRAY_SIZE(file_keys)];
	char *skipped;		/* why the system file was not read */
};

static void file_settings_clear(struct file_settings *fs)
{
	free(fs->path);
	for (size_t i = 0; i < ARRAY_SIZE(file_keys); i++)
		free_secret(fs->values[i]);
	free(fs->skipped);
}

static int key_index(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(file_keys); i++)
		if (strcmp(file_keys[i], key) == 0)
			return (int)i;
	return -1;
}

static const char *file_value(const struct file_settings *fs, const char *key)
{
	return fs->values[key_index(key)];
}

static int file_line(const struct file_settings *fs, const char *key)
{
	return fs->lines[key_index(key)];
}

/*
 * A later line of a key replaces an earlier one, except for url: this
 * version talks to one server, and the manual says the first url line is
 * the one used, so that a second one added below cannot take over.
 */
static int file_set(struct dlock_config *cfg, struct file_settings *fs,
		    int lineno, const char *key, const char *value,
		    struct dlock_error *err)
{
	int i = key_index(key);

	if (i < 0)
		return set_error(err, DLOCK_ECONFIG,
				 "%s:%d: unknown key '%.64s'; the keys are "
				 "url, prefix, connect-timeout, user, "
				 "password, password-file, tls-ca, tls-cert, "
				 "tls-key, tls-server-name, sentinel-user, "
				 "sentinel-password-file",
				 fs->path, lineno, key);
	if (i == key_index("url") && fs->values[i]) {
		add_note(cfg, "%s:%d: url ignored: only the first url line "
			 "(line %d) is used", fs->path, lineno, fs->lines[i]);
		return 0;
	}
	fs->lines[i] = lineno;
	return replace(&fs->values[i], value, err);
}

enum config_source { CONFIG_NAMED, CONFIG_USER, CONFIG_SYSTEM };

/*
 * The system file. Tests may not write /etc, so they point this at a file
 * of their own with DLOCK_TEST_SYSTEM_CONFIG; that grants nothing that
 * DLOCK_CONFIG does not, and secure_getenv() ignores it in a set-user-ID
 * program all the same.
 */
static const char *system_config(void)
{
	const char *test = secure_getenv("DLOCK_TEST_SYSTEM_CONFIG");

	return test && *test ? test : SYSTEM_CONFIG;
}

/*
 * Which file to read: --config, $DLOCK_CONFIG, the XDG user file, the
 * system file. Only a file asked for by name must exist.
 */
static enum config_source config_path(const struct dlock_config *cfg,
				      char *buf, size_t size)
{
	const char *env = getenv("DLOCK_CONFIG");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	struct stat st;

	if (cfg->config_file) {
		snprintf(buf, size, "%s", cfg->config_file);
		return CONFIG_NAMED;
	}
	if (env && *env) {
		snprintf(buf, size, "%s", env);
		return CONFIG_NAMED;
	}
	if (xdg && *xdg)
		snprintf(buf, size, "%s/dlock/config", xdg);
	else if (home && *home)
		snprintf(buf, size, "%s/.config/dlock/config", home);
	else
		buf[0] = '\0';
	if (buf[0] && stat(buf, &st) == 0)
		return CONFIG_USER;
	snprintf(buf, size, "%s", system_config());
	return CONFIG_SYSTEM;
}

/*
 * Opens the config file into *f, or leaves it NULL when there is none to
 * read: a file not named that does not exist, or a system file the user
 * may not read (root-only, say), which must not stop a user who gives
 * every setting otherwise; a note says so for --verbose.
 */
static int open_config_file(struct dlock_config *cfg,
			    struct file_settings *fs, FILE **f,
			    struct dlock_error *err)
{
	char path[4096];
	enum config_source source = config_path(cfg, path, sizeof(path));
	int saved;

	*f = fopen(path, "re");
	if (*f) {
		fs->path = strdup(path);
		if (!fs->path) {
			fclose(*f);
			*f = NULL;
			return oom(err);
		}
		add_note(cfg, "settings from %s", path);
		return 0;
	}
	saved = errno;
	if (saved == ENOENT && source != CONFIG_NAMED)
		return 0;
	if ((saved == EACCES || saved == EPERM) && source == CONFIG_SYSTEM) {
		add_note(cfg, "skipped %s: %s (it was not named with --config "
			 "or DLOCK_CONFIG)", path, strerror(saved));
		if (asprintf(&fs->skipped, "%s: %s", path,
			     strerror(saved)) < 0)
			fs->skipped = NULL;
		return 0;
	}
	return set_error(err, DLOCK_ECONFIG, "cannot read config file %s: %s",
			 path, strerror(saved));
}

static int read_config_file(struct dlock_config *cfg,
			    struct file_settings *fs, struct dlock_error *err)
{
	char line[LINE_MAX_BYTES + 2];
	struct dlock_error why;
	int lineno = 0, rc;
	FILE *f;

	rc = open_config_file(cfg, fs, &f, err);
	if (rc || !f)
		return rc;
	while (fgets(line, sizeof(line), f)) {
		char *key, *value;

		lineno++;
		if (strlen(line) > LINE_MAX_BYTES) {
			rc = set_error(err, DLOCK_ECONFIG,
				       "%s:%d: line longer than %d bytes",
				       fs->path, lineno, LINE_MAX_BYTES);
			break;
		}
		rc = config_split_line(line, &key, &value, &why);
		if (rc) {
			set_error(err, rc, "%s:%d: %s", fs->path, lineno,
				  why.msg);
			break;
		}
		if (key) {
			rc = file_set(cfg, fs, lineno, key, value, err);
			if (rc)
				break;
		}
	}
	explicit_bzero(line, sizeof(line));
	if (!rc && ferror(f))
		rc = set_error(err, DLOCK_ECONFIG, "cannot read %s: %s",
			       fs->path, strerror(errno));
	if (!rc && file_value(fs, "password"))
		warn_if_world_readable(cfg, f, "config file", fs->path,
				       " holds a password and");
	fclose(f);
	return rc;
}

static int read_password_file(struct dlock_config *cfg, const char *path,
			      char **slot, struct dlock_error *err)
{
	char buf[1024];
	FILE *f = fopen(path, "re");
	size_t len;

	if (!f)
		return set_error(err, DLOCK_ECONFIG,
				 "cannot read password file %s: %s", path,
				 strerror(errno));
	warn_if_world_readable(cfg, f, "password file", path, "");
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	if (len == 0) {
		return set_error(err, DLOCK_ECONFIG,
				 "password file %s is empty; put the password "
				 "on its first line", path);
	}
	free_secret(*slot);
	*slot = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return *slot ? 0 : oom(err);
}

/* Says where the bad value of key was set, then what was wrong with it. */
static int at_line(const struct file_settings *fs, const char *key, int rc,
		   const struct dlock_error *why, struct dlock_error *err)
{
	return set_error(err, rc, "%s:%d: %s: %s", fs->path,
			 file_line(fs, key), key, why->msg);
}

/*
 * There is no default server: a host whose configuration went missing
 * must not quietly lock against whatever listens on localhost.
 */
static int no_server(const struct file_settings *fs, struct dlock_error *err)
{
	char where[4200];

	if (fs->path)
		snprintf(where, sizeof(where), "%s", fs->path);
	else
		snprintf(where, sizeof(where), "~/.config/dlock/config or %s",
			 system_config());
	return set_error(err, DLOCK_ECONFIG,
			 "no server given; set DLOCK_URL=redis://host:6379, "
			 "give --url, or put 'url = redis://host:6379' in "
			 "%s%s%s", where, fs->skipped ? "; skipped " : "",
			 fs->skipped ? fs->skipped : "");
}

/* --url, then DLOCK_URL, then REDIS_URL, then the file's first url line. */
static int resolve_urls(struct dlock_config *cfg,
			const struct file_settings *fs,
			struct dlock_error *err)
{
	const char *env = getenv("DLOCK_URL");
	const char *file = file_value(fs, "url");
	bool from_file = false;
	struct dlock_error why;
	int rc = 0;

	if (!env || !*env)
		env = getenv("REDIS_URL");
	if (!cfg->nurls && env && *env) {
		rc = add_url_list(cfg, env, err);
	} else if (!cfg->nurls && file) {
		from_file = true;
		rc = add_url_list(cfg, file, err);
		if (!rc && !cfg->nurls) {
			set_error(&why, DLOCK_ECONFIG, "no URL in it");
			rc = at_line(fs, "url", DLOCK_ECONFIG, &why, err);
		}
	}
	if (rc)
		return rc;
	if (!cfg->nurls)
		return no_server(fs, err);
	cfg->urls = calloc(cfg->nurls, sizeof(*cfg->urls));
	if (!cfg->urls)
		return oom(err);
	for (size_t i = 0; i < cfg->nurls; i++) {
		rc = url_parse(cfg->url_texts[i], &cfg->urls[i], &why);
		if (rc)
			return from_file ? at_line(fs, "url", rc, &why, err) :
			       set_error(err, rc, "%s", why.msg);
		if (cfg->urls_from_option && cfg->urls[i].password)
			add_warning(cfg, "the password in --url %s is visible "
				    "to other users in the process list; use "
				    "DLOCK_PASSWORD or --password-file",
				    cfg->urls[i].display);
	}
	return 0;
}

/* --prefix, then DLOCK_PREFIX (even empty), then the file, then dlock:. */
static int resolve_prefix(struct dlock_config *cfg,
			  const struct file_settings *fs,
			  struct dlock_error *err)
{
	const char *v = getenv("DLOCK_PREFIX");
	struct dlock_error why;

	if (cfg->prefix)
		return 0;
	if (v) {
		if (check_prefix(v, &why))
			return set_error(err, DLOCK_EUSAGE, "DLOCK_PREFIX: %s",
					 why.msg);
	} else if ((v = file_value(fs, "prefix"))) {
		if (check_prefix(v, &why))
			return at_line(fs, "prefix", DLOCK_ECONFIG, &why, err);
	} else {
		v = DEFAULT_PREFIX;
		cfg->prefix_default = true;
	}
	return replace(&cfg->prefix, v, err);
}

static int resolve_connect_timeout(struct dlock_config *cfg,
				   const struct file_settings *fs,
				   struct dlock_error *err)
{
	const char *v = file_value(fs, "connect-timeout");
	struct dlock_error why;

	if (cfg->connect_timeout_set)
		return 0;
	cfg->connect_timeout_ms = DLOCK_DEFAULT_CONNECT_TIMEOUT_MS;
	if (v && dlock_parse_duration(v, false, &cfg->connect_timeout_ms,
				      &why))
		return at_line(fs, "connect-timeout", DLOCK_ECONFIG, &why,
			       err);
	return 0;
}

/* The settings that only an option or the file can give, as they are. */
static int resolve_file_strings(struct dlock_config *cfg,
				const struct file_settings *fs,
				struct dlock_error *err)
{
	static const char *const keys[] = {
		"user", "tls-ca", "tls-cert", "tls-key", "tls-server-name",
		"sentinel-user",
	};
	char **slots[] = { &cfg->user, &cfg->tls_ca, &cfg->tls_cert,
			   &cfg->tls_key, &cfg->tls_server_name,
			   &cfg->sentinel_user };
	int rc = 0;

	for (size_t i = 0; !rc && i < ARRAY_SIZE(slots); i++) {
		const char *v = file_value(fs, keys[i]);

		if (!*slots[i] && v)
			rc = replace(slots[i], v, err);
	}
	return rc;
}

/* The first of the sources in the order the manual gives. */
static int resolve_password(struct dlock_config *cfg,
			    const struct file_settings *fs,
			    struct dlock_error *err)
{
	const char *v;

	if (cfg->password_file)
		return read_password_file(cfg, cfg->password_file,
					  &cfg->password, err);
	if ((v = getenv("DLOCK_PASSWORD")) && *v)
		return replace(&cfg->password, v, err);
	if ((v = getenv("REDISCLI_AUTH")) && *v)
		return replace(&cfg->password, v, err);
	if ((v = file_value(fs, "password-file"))) {
		struct dlock_error why;
		int rc = read_password_file(cfg, v, &cfg->password, &why);

		return rc ? at_line(fs, "password-file", rc, &why, err) : 0;
	}
	if ((v = file_value(fs, "password")))
		return replace(&cfg->password, v, err);
	return 0;
}

/* The sentinels' password, from the sources of the master's, in order. */
static int resolve_sentinel_password(struct dlock_config *cfg,
				     const struct file_settings *fs,
				     struct dlock_error *err)
{
	const char *v;

	if (cfg->sentinel_password_file)
		return read_password_file(cfg, cfg->sentinel_password_file,
					  &cfg->sentinel_password, err);
	if ((v = getenv("DLOCK_SENTINEL_PASSWORD")) && *v)
		return replace(&cfg->sentinel_password, v, err);
	if ((v = file_value(fs, "sentinel-password-file"))) {
		struct dlock_error why;
		int rc = read_password_file(cfg, v, &cfg->sentinel_password,
					    &why);

		return rc ? at_line(fs, "sentinel-password-file", rc, &why,
				    err) : 0;
	}
	return 0;
}

int dlock_config_resolve(struct dlock_config *cfg, struct dlock_error *err)
{
	struct file_settings fs = { 0 };
	int rc;

	if (cfg->resolved)
		return 0;
	rc = read_config_file(cfg, &fs, err);
	if (!rc)
		rc = resolve_urls(cfg, &fs, err);
	if (!rc)
		rc = resolve_prefix(cfg, &fs, err);
	if (!rc)
		rc = resolve_connect_timeout(cfg, &fs, err);
	if (!rc)
		rc = resolve_file_strings(cfg, &fs, err);
	if (!rc)
		rc = resolve_password(cfg, &fs, err);
	if (!rc)
		rc = resolve_sentinel_password(cfg, &fs, err);
	cfg->resolved = !rc;
	file_settings_clear(&fs);
	return rc;
}

size_t dlock_config_url_count(const struct dlock_config *cfg)
{
	return cfg->resolved ? cfg->nurls : 0;
}

const char *dlock_config_url_display(const struct dlock_config *cfg,
				     size_t i)
{
	return cfg->resolved && i < cfg->nurls ? cfg->urls[i].display : NULL;
}

int64_t dlock_config_connect_timeout(const struct dlock_config *cfg)
{
	return cfg->connect_timeout_ms;
}

const char *dlock_config_warning(const struct dlock_config *cfg, size_t i)
{
	return i < cfg->nwarnings ? cfg->warnings[i] : NULL;
}

const char *dlock_config_note(const struct dlock_config *cfg, size_t i)
{
	return i < cfg->nnotes ? cfg->notes[i] : NULL;
}
