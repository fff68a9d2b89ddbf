/*
 * replay.c - a main() for a harness without libFuzzer: runs it once over
 * every file of its seed corpus, so that `make check` builds each harness
 * with the build's compiler and sanitizers and keeps the corpus (real
 * inputs, and every input that once crashed a parser: regress-*) as a
 * regression test.
 *
 *   replay_NAME [DIR]   DIR defaults to $top_srcdir/tests/fuzz/corpus/NAME
 *
 * Exit status: 0 when every input ran (a finding aborts), 99 when the
 * corpus cannot be read.
 */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef FUZZ_NAME
#error "FUZZ_NAME (the harness's name, e.g. \"config\") must be defined"
#endif

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	char dir[4096];
	if (argc > 1) {
		snprintf(dir, sizeof dir, "%s", argv[1]);
	} else {
		const char *top = getenv("top_srcdir");
		snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", top && *top ? top : ".", FUZZ_NAME);
	}
	DIR *d = opendir(dir);
	if (!d) {
		perror(dir);
		return 99;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char **grown = realloc(names, (n + 1) * sizeof *names);
		if (!grown || !(grown[n] = strdup(e->d_name))) {
			fprintf(stderr, "replay: out of memory\n");
			return 99;
		}
		names = grown;
		n++;
	}
	closedir(d);
	if (n == 0) {
		fprintf(stderr, "replay: %s holds no inputs\n", dir);
		return 99;
	}
	qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n; i++) {
		char path[8192];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		size_t size;
		unsigned char *data = fuzz_read_file(path, &size);
		if (!data) {
			fprintf(stderr, "replay: %s vanished\n", path);
			return 99;
		}
		fprintf(stderr, "replay %s: %s (%zu bytes)\n", FUZZ_NAME, names[i], size);
		LLVMFuzzerTestOneInput(data, size);
		free(data);
		free(names[i]);
	}
	free(names);
	printf("replay %s: %zu inputs of %s ran\n", FUZZ_NAME, n, dir);
	return 0;
}
