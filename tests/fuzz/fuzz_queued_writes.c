/*
 * fuzz_queued_writes.c - the reader of DATA_DIR/queued_writes
 * (src/queued_writes.c) on any bytes.
 *
 * The input is written as the file and loaded.  A refusal must name the
 * file; what loads must be valid records (a node name, a version of at
 * least 1, a non-empty id), sorted by node, id, and highest version first;
 * appended again with queued_writes_add to a fresh file, they must load
 * back the same.
 */
#include "queued_writes.h"
#include "node.h"
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void check_records(const struct queued_write *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!node_name_valid(v[i].node) || v[i].version < 1 || v[i].id[0] == '\0')
			fuzz_fail("record %zu loaded as '%s' %lld '%s'", i, v[i].node,
			          (long long)v[i].version, v[i].id);
		if (i > 0) {
			int c = strcmp(v[i - 1].node, v[i].node);
			if (c == 0)
				c = strcmp(v[i - 1].id, v[i].id);
			if (c > 0 || (c == 0 && v[i - 1].version < v[i].version))
				fuzz_fail("records %zu and %zu are out of order", i - 1, i);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[4200], again[4300], path[4400], path2[4400];
	if (!dir[0]) {
		snprintf(dir, sizeof dir, "%s", fuzz_scratch_dir());
		snprintf(again, sizeof again, "%s/again", dir);
		snprintf(path, sizeof path, "%s/%s", dir, QUEUED_WRITES_FILE);
		snprintf(path2, sizeof path2, "%s/%s", again, QUEUED_WRITES_FILE);
		if (mkdir(again, 0700) != 0)
			abort(); /* trouble of the harness, not a finding */
	}

	fuzz_write_file(path, data, size);
	struct queued_write *v = NULL;
	size_t n = 0;
	char err[1024] = "";
	if (queued_writes_load(dir, &v, &n, err, sizeof err) != 0) {
		if (!strstr(err, path) && strcmp(err, "out of memory") != 0)
			fuzz_fail("queued_writes_load refused %s without naming it: '%s'", path, err);
		return 0;
	}
	check_records(v, n);

	/* What loaded, appended again, loads back the same. */
	if (queued_writes_clear(again, err, sizeof err) != 0)
		fuzz_fail("cannot clear %s: %s", again, err);
	struct queued_writes q;
	if (queued_writes_init(&q, again) != 0)
		abort();
	for (size_t i = 0; i < n; i++)
		if (queued_writes_add(&q, v[i].node, v[i].id, v[i].version, err, sizeof err) != 0)
			fuzz_fail("cannot append record %zu ('%s' %lld): %s", i, v[i].node,
			          (long long)v[i].version, err);
	queued_writes_free(&q);
	struct queued_write *w = NULL;
	size_t m = 0;
	if (queued_writes_load(again, &w, &m, err, sizeof err) != 0)
		fuzz_fail("what was appended does not load: %s", err);
	if (m != n)
		fuzz_fail("%zu records appended, %zu loaded", n, m);
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].node, w[i].node) != 0 || strcmp(v[i].id, w[i].id) != 0 ||
		    v[i].version != w[i].version)
			fuzz_fail("record %zu appended as '%s' %lld, loaded as '%s' %lld", i, v[i].node,
			          (long long)v[i].version, w[i].node, (long long)w[i].version);
	free(v);
	free(w);
	return 0;
}
