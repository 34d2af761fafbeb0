/* SPDX-License-Identifier: MIT */
/*
 * Replays every file of tests/fuzz/corpus through the fuzzing entry point,
 * without a fuzzer, so that "make unit" (and its sanitizer builds) run it.
 * The corpus is found under $DLOCK_SRCDIR, or else in the nearest directory
 * above the current one that has tests/fuzz/corpus.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../fuzz/fuzz_one.h"
#include "tap.h"

#define CORPUS "tests/fuzz/corpus"
#define CORPUS_MIN 20
#define INPUT_MAX (1 << 20)

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool fits(int printed, size_t size)
{
	return printed >= 0 && (size_t)printed < size;
}

static bool find_corpus(char *out, size_t size)
{
	const char *srcdir = getenv("DLOCK_SRCDIR");
	char dir[PATH_MAX];

	if (srcdir && *srcdir)
		return fits(snprintf(out, size, "%s/" CORPUS, srcdir), size) &&
		       is_dir(out);
	if (!getcwd(dir, sizeof(dir)))
		return false;
	for (;;) {
		char *slash;

		if (fits(snprintf(out, size, "%s/" CORPUS,
				  strcmp(dir, "/") ? dir : ""), size) &&
		    is_dir(out))
			return true;
		slash = strrchr(dir, '/');
		if (!slash || slash == dir) {
			if (strcmp(dir, "/") == 0)
				return false;
			strcpy(dir, "/");
		} else {
			*slash = '\0';
		}
	}
}

/* Reads at most INPUT_MAX bytes of path into a new buffer. */
static unsigned char *read_input(const char *path, size_t *len)
{
	unsigned char *buf = malloc(INPUT_MAX);
	FILE *f = fopen(path, "rb");

	if (!buf || !f) {
		free(buf);
		if (f)
			fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, INPUT_MAX, f);
	if (ferror(f)) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int not_hidden(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int main(void)
{
	char corpus[PATH_MAX], path[PATH_MAX + 256];
	struct dirent **names;
	int n, replayed = 0;

	if (!ok(find_corpus(corpus, sizeof(corpus)),
		"found the corpus (set DLOCK_SRCDIR to the source tree)"))
		return done_testing();
	n = scandir(corpus, &names, not_hidden, alphasort);
	if (!ok(n >= 0, "can list %s: %s", corpus,
		n < 0 ? strerror(errno) : ""))
		return done_testing();
	for (int i = 0; i < n; i++) {
		unsigned char *data;
		size_t len = 0;

		data = NULL;
		if (fits(snprintf(path, sizeof(path), "%s/%s", corpus,
				  names[i]->d_name), sizeof(path)))
			data = read_input(path, &len);
		if (ok(data, "read corpus/%s", names[i]->d_name)) {
			diag("replaying corpus/%s (%zu bytes)",
			     names[i]->d_name, len);
			is_int(fuzz_one(data, len), 0, "corpus/%s replays",
			       names[i]->d_name);
			replayed++;
		}
		free(data);
		free(names[i]);
	}
	free(names);
	ok(replayed >= CORPUS_MIN, "replayed %d inputs, at least %d", replayed,
	   CORPUS_MIN);
	return done_testing();
}
