/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

#define DEFAULT_URL "redis://127.0.0.1:6379"
#define DEFAULT_PREFIX "dlock:"
#define SYSTEM_CONFIG "/etc/dlock.conf"
#define LINE_MAX_BYTES 4096

static const char *const file_keys[] = {
	"url", "prefix", "connect-timeout", "user", "password",
	"password-file", "tls-ca", "tls-cert", "tls-key", "tls-server-name",
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

int config_split_line(char *line, char **key, char **value,
		      struct dlock_error *err)
{
	char *eq, *k;
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
	*key = k;
	*value = trim(eq + 1);
	return 0;
}

struct dlock_config *dlock_config_new(void)
{
	return calloc(1, sizeof(struct dlock_config));
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
	free(cfg->config_file);
	free(cfg->tls_ca);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->tls_server_name);
	free_strings(cfg->warnings, cfg->nwarnings);
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

/* Adds each element of a comma-separated list, skipping empty ones. */
static int add_url_list(struct dlock_config *cfg, const char *list,
			struct dlock_error *err)
{
	char *copy = strdup(list), *save = NULL;
	int rc = 0;

	if (!copy)
		return oom(err);
	for (char *tok = strtok_r(copy, ",", &save); tok && !rc;
	     tok = strtok_r(NULL, ",", &save)) {
		tok = trim(tok);
		if (*tok)
			rc = add_url(cfg, tok, err);
	}
	free_secret(copy);
	return rc;
}

static int add_warning(struct dlock_config *cfg, const char *fmt, ...)
	PRINTF_LIKE(2, 3);

static int add_warning(struct dlock_config *cfg, const char *fmt, ...)
{
	char buf[DLOCK_ERRMSG_MAX], **v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	v = realloc(cfg->warnings, (cfg->nwarnings + 2) * sizeof(*v));
	if (!v)
		return DLOCK_ENOMEM;
	cfg->warnings = v;
	v[cfg->nwarnings] = strdup(buf);
	if (!v[cfg->nwarnings])
		return DLOCK_ENOMEM;
	v[++cfg->nwarnings] = NULL;
	return 0;
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

/* What the config file said; strings are owned here. */
struct file_settings {
	char *values[ARRAY_SIZE(file_keys)];
	char **urls;
	size_t nurls;
};

static void file_settings_clear(struct file_settings *fs)
{
	for (size_t i = 0; i < ARRAY_SIZE(file_keys); i++)
		free_secret(fs->values[i]);
	for (size_t i = 0; i < fs->nurls; i++)
		free_secret(fs->urls[i]);
	free(fs->urls);
}

static const char *file_value(const struct file_settings *fs, const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(file_keys); i++)
		if (strcmp(file_keys[i], key) == 0)
			return fs->values[i];
	return NULL;
}

static int file_set(struct file_settings *fs, const char *path, int lineno,
		    const char *key, const char *value,
		    struct dlock_error *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(file_keys); i++) {
		if (strcmp(file_keys[i], key) != 0)
			continue;
		if (i == 0) {	/* "url" may repeat */
			char **v = realloc(fs->urls,
					   (fs->nurls + 1) * sizeof(*v));

			if (!v)
				return oom(err);
			fs->urls = v;
			v[fs->nurls] = strdup(value);
			if (!v[fs->nurls])
				return oom(err);
			fs->nurls++;
			return 0;
		}
		return replace(&fs->values[i], value, err);
	}
	return set_error(err, DLOCK_ECONFIG,
			 "%s:%d: unknown key '%.64s'; the keys are url, prefix, "
			 "connect-timeout, user, password, password-file, "
			 "tls-ca, tls-cert, tls-key, tls-server-name",
			 path, lineno, key);
}

/*
 * Which file to read: --config, $DLOCK_CONFIG, the XDG user file, the
 * system file. Only a file asked for by name must exist.
 */
static int config_path(const struct dlock_config *cfg, char *buf, size_t size,
		       bool *required)
{
	const char *env = getenv("DLOCK_CONFIG");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	struct stat st;

	*required = true;
	if (cfg->config_file)
		return snprintf(buf, size, "%s", cfg->config_file);
	if (env && *env)
		return snprintf(buf, size, "%s", env);
	*required = false;
	if (xdg && *xdg)
		snprintf(buf, size, "%s/dlock/config", xdg);
	else if (home && *home)
		snprintf(buf, size, "%s/.config/dlock/config", home);
	else
		buf[0] = '\0';
	if (buf[0] && stat(buf, &st) == 0)
		return 1;
	return snprintf(buf, size, "%s", SYSTEM_CONFIG);
}

static int read_config_file(struct dlock_config *cfg,
			    struct file_settings *fs, struct dlock_error *err)
{
	char path[4096], line[LINE_MAX_BYTES + 2];
	struct dlock_error why;
	bool required;
	struct stat st;
	int lineno = 0, rc = 0;
	FILE *f;

	config_path(cfg, path, sizeof(path), &required);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && !required)
			return 0;
		return set_error(err, DLOCK_ECONFIG,
				 "cannot read config file %s: %s", path,
				 strerror(errno));
	}
	while (fgets(line, sizeof(line), f)) {
		char *key, *value;

		lineno++;
		if (strlen(line) > LINE_MAX_BYTES) {
			rc = set_error(err, DLOCK_ECONFIG,
				       "%s:%d: line longer than %d bytes",
				       path, lineno, LINE_MAX_BYTES);
			break;
		}
		rc = config_split_line(line, &key, &value, &why);
		if (rc) {
			set_error(err, rc, "%s:%d: %s", path, lineno, why.msg);
			break;
		}
		if (key) {
			rc = file_set(fs, path, lineno, key, value, err);
			if (rc)
				break;
		}
	}
	explicit_bzero(line, sizeof(line));
	if (!rc && ferror(f))
		rc = set_error(err, DLOCK_ECONFIG, "cannot read %s: %s", path,
			       strerror(errno));
	if (!rc && file_value(fs, "password") && fstat(fileno(f), &st) == 0 &&
	    (st.st_mode & 077))
		add_warning(cfg, "config file %s holds a password and is "
			    "readable by others; run 'chmod 600 %s'", path,
			    path);
	fclose(f);
	return rc;
}

static int read_password_file(struct dlock_config *cfg, const char *path,
			      struct dlock_error *err)
{
	char buf[1024];
	struct stat st;
	FILE *f = fopen(path, "re");
	size_t len;

	if (!f)
		return set_error(err, DLOCK_ECONFIG,
				 "cannot read password file %s: %s", path,
				 strerror(errno));
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		add_warning(cfg, "password file %s is readable by others; run "
			    "'chmod 600 %s'", path, path);
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
	free_secret(cfg->password);
	cfg->password = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return cfg->password ? 0 : oom(err);
}

static int resolve_urls(struct dlock_config *cfg,
			const struct file_settings *fs,
			struct dlock_error *err)
{
	const char *env = getenv("DLOCK_URL");
	int rc = 0;

	if (!env || !*env)
		env = getenv("REDIS_URL");
	if (!cfg->nurls) {
		if (env && *env)
			rc = add_url_list(cfg, env, err);
		else
			for (size_t i = 0; !rc && i < fs->nurls; i++)
				rc = add_url_list(cfg, fs->urls[i], err);
		if (!rc && !cfg->nurls)
			rc = add_url(cfg, DEFAULT_URL, err);
		if (rc)
			return rc;
	}
	cfg->urls = calloc(cfg->nurls, sizeof(*cfg->urls));
	if (!cfg->urls)
		return oom(err);
	for (size_t i = 0; i < cfg->nurls; i++) {
		rc = url_parse(cfg->url_texts[i], &cfg->urls[i], err);
		if (rc)
			return rc;
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
			return set_error(err, DLOCK_ECONFIG, "config file: %s",
					 why.msg);
	} else {
		v = DEFAULT_PREFIX;
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
	if (v && parse_timeout(v, "config file: connect-timeout",
			       &cfg->connect_timeout_ms, &why))
		return set_error(err, DLOCK_ECONFIG, "%s", why.msg);
	return 0;
}

/* The settings that only an option or the file can give, as they are. */
static int resolve_file_strings(struct dlock_config *cfg,
				const struct file_settings *fs,
				struct dlock_error *err)
{
	static const char *const keys[] = {
		"user", "tls-ca", "tls-cert", "tls-key", "tls-server-name",
	};
	char **slots[] = { &cfg->user, &cfg->tls_ca, &cfg->tls_cert,
			   &cfg->tls_key, &cfg->tls_server_name };
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
		return read_password_file(cfg, cfg->password_file, err);
	if ((v = getenv("DLOCK_PASSWORD")) && *v)
		return replace(&cfg->password, v, err);
	if ((v = getenv("REDISCLI_AUTH")) && *v)
		return replace(&cfg->password, v, err);
	if ((v = file_value(fs, "password-file")))
		return read_password_file(cfg, v, err);
	if ((v = file_value(fs, "password")))
		return replace(&cfg->password, v, err);
	return 0;
}

static int check_credentials(const struct dlock_config *cfg,
			     struct dlock_error *err)
{
	for (size_t i = 0; i < cfg->nurls; i++) {
		const struct url *u = &cfg->urls[i];
		const char *user = cfg->user ? cfg->user : u->user;

		if (user && !cfg->password && !u->password)
			return set_error(err, DLOCK_ECONFIG,
					 "user '%s' is given without a "
					 "password; set DLOCK_PASSWORD or "
					 "--password-file", user);
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
		rc = check_credentials(cfg, err);
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
