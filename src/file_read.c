/*
 * file_read.c - a file read whole, with a bound on its size (see
 * file_read.h).
 */
#include "file_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int file_read_whole(const char *path, size_t max, char **out, size_t *len, char *err,
                    size_t errlen)
{
	*out = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		errorf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	char *buf = malloc(max + 1);
	size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
	int failed = buf && ferror(f);
	fclose(f);
	if (!buf || failed || n > max) {
		free(buf);
		if (!buf)
			return errorf(err, errlen, "%s: out of memory", path);
		if (failed)
			return errorf(err, errlen, "%s: read error", path);
		if (max % (1u << 20) == 0)
			return errorf(err, errlen, "%s: larger than %zu MiB", path, max >> 20);
		return errorf(err, errlen, "%s: larger than %zu bytes", path, max);
	}
	buf[n] = '\0';
	char *fit = realloc(buf, n + 1);
	*out = fit ? fit : buf;
	*len = n;
	return 0;
}
