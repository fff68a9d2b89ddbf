/*
 * fuzz_common.c - the helpers of fuzz.h, compiled into every harness.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char scratch[4096];

/* The harnesses keep only files in it, no directories. */
static void remove_scratch(void)
{
	DIR *d = opendir(scratch);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char path[sizeof scratch + 256];
		snprintf(path, sizeof path, "%s/%s", scratch, e->d_name);
		remove(path);
	}
	closedir(d);
	rmdir(scratch);
}

const char *fuzz_scratch_dir(void)
{
	if (scratch[0])
		return scratch;
	const char *base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	snprintf(scratch, sizeof scratch, "%s/ddbsim-fuzz-XXXXXX", base);
	if (!mkdtemp(scratch)) {
		fprintf(stderr, "fuzz: cannot make a scratch directory in %s: %s\n", base,
		        strerror(errno));
		abort();
	}
	atexit(remove_scratch);
	return scratch;
}

void fuzz_write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
		abort();
	}
}

unsigned char *fuzz_read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (errno == ENOENT)
			return NULL;
		fprintf(stderr, "fuzz: cannot open %s: %s\n", path, strerror(errno));
		abort();
	}
	size_t cap = 4096, len = 0;
	unsigned char *buf = malloc(cap + 1);
	size_t got;
	while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len == cap) {
			cap *= 2;
			unsigned char *grown = realloc(buf, cap + 1);
			if (!grown)
				free(buf);
			buf = grown;
		}
	}
	if (!buf || ferror(f)) {
		fprintf(stderr, "fuzz: cannot read %s\n", path);
		abort();
	}
	fclose(f);
	buf[len] = '\0';
	*size = len;
	return buf;
}

void fuzz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fuzz: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	remove_scratch(); /* abort() skips atexit */
	abort();
}
