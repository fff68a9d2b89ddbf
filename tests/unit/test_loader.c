/*
 * test_loader.c - the plugin loader against the test plugins of
 * tests/plugins (their directory comes in DDBSIM_TEST_PLUGINS, as make check
 * sets it): a good plugin loads; a wrong ABI, a missing entry point, the
 * wrong kind, a missing operation, a missing file and a file that is not a
 * shared object are each refused with a message naming the file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"

static const char *plugin_dir;

static void assert_contains(const char *text, const char *part)
{
	if (!strstr(text, part))
		fail_msg("\"%s\" does not contain \"%s\"", text, part);
}

static void assert_starts_with(const char *text, const char *start)
{
	if (strncmp(text, start, strlen(start)) != 0)
		fail_msg("\"%s\" does not start with \"%s\"", text, start);
}

static void plugin_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s.so", plugin_dir, name);
}

/* Loads name from the test plugin directory, expecting a refusal; the
 * message goes to err and must start with the file's path. */
static void expect_refused(const char *name, int want_kind, char *err, size_t errlen)
{
	char path[4096];
	plugin_path(path, sizeof path, name);
	err[0] = '\0';
	struct plugin *p = plugin_load(name, plugin_dir, want_kind, err, errlen);
	if (p) {
		plugin_unload(p);
		fail_msg("plugin %s was loaded, but must be refused", name);
	}
	char prefix[4200];
	snprintf(prefix, sizeof prefix, "%s: ", path);
	assert_starts_with(err, prefix);
}

/* ---- a temporary directory ---------------------------------------------- */

struct tmp {
	char dir[64];
	char files[4][128];
	int n;
};

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof *t);
	if (!t)
		return -1;
	snprintf(t->dir, sizeof t->dir, "/tmp/ddbsim-loader-XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;
	for (int i = 0; i < t->n; i++)
		unlink(t->files[i]);
	rmdir(t->dir);
	free(t);
	return 0;
}

static const char *tmp_write(struct tmp *t, const char *name, const char *text)
{
	assert_true(t->n < 4);
	char path[sizeof t->files[0]];
	snprintf(path, sizeof path, "%s/%s", t->dir, name);
	memcpy(t->files[t->n], path, sizeof path);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	return t->files[t->n++];
}

/* ---- loading ------------------------------------------------------------ */

static void test_good(void **state)
{
	(void)state;
	char err[512] = "", path[4096], caps[64];
	struct plugin *p = plugin_load("good", plugin_dir, DDB_KIND_STORAGE, err, sizeof err);
	if (!p)
		fail_msg("good did not load: %s", err);
	plugin_path(path, sizeof path, "good");
	assert_string_equal(p->path, path);
	assert_non_null(p->dl);
	const struct ddb_plugin *d = p->desc;
	assert_int_equal(d->abi, DDB_PLUGIN_ABI);
	assert_int_equal(d->kind, DDB_KIND_STORAGE);
	assert_string_equal(d->name, "good");
	assert_string_equal(d->version, "9.9.9");
	assert_string_equal(plugin_kind_name(d->kind), "storage");
	plugin_caps_string(d, caps, sizeof caps);
	assert_string_equal(caps, "regional,central,documents");

	/* Its operations can be called. */
	struct ddb_err e = { "" };
	struct ddb_open_args args = { .node = "boston", .roles = DDB_ROLE_REGIONAL };
	void *h = NULL, *cursor = NULL;
	struct ddb_row row;
	assert_int_equal(d->storage->open(&args, &h, &e), DDB_OK);
	assert_int_equal(d->storage->scan_open(h, DDB_DS_ORDERS, NULL, &cursor, &e), DDB_OK);
	assert_int_equal(d->storage->scan_next(cursor, &row, &e), DDB_NOT_FOUND);
	d->storage->scan_close(cursor);
	assert_int_equal(d->storage->restock(h, "sku-1", 5, &e), DDB_NOT_FOUND);
	assert_string_equal(e.msg, "no product sku-1");
	d->storage->close(h);
	plugin_unload(p);

	/* Any kind (0); the first directory of the search path that has it;
	 * empty and missing directories are skipped. */
	char search[4200];
	snprintf(search, sizeof search, "/nonexistent-ddbsim-dir::%s:/also-missing", plugin_dir);
	p = plugin_load("good", search, 0, err, sizeof err);
	if (!p)
		fail_msg("good did not load from %s: %s", search, err);
	assert_string_equal(p->path, path);
	plugin_unload(p);

	/* A name with a '/' is a path: the search path does not matter. */
	p = plugin_load(path, NULL, DDB_KIND_STORAGE, err, sizeof err);
	if (!p)
		fail_msg("good did not load by path: %s", err);
	assert_string_equal(p->desc->name, "good");
	plugin_unload(p);

	plugin_unload(NULL);
}

static void test_caps_and_kinds(void **state)
{
	(void)state;
	char buf[64];
	struct ddb_plugin d = { .abi = DDB_PLUGIN_ABI, .kind = DDB_KIND_STORAGE };
	plugin_caps_string(&d, buf, sizeof buf);
	assert_string_equal(buf, "-");
	d.caps = DDB_ROLE_CENTRAL | DDB_ROLE_DOCUMENTS;
	plugin_caps_string(&d, buf, sizeof buf);
	assert_string_equal(buf, "central,documents");
	d.caps = DDB_ROLE_REGIONAL | DDB_ROLE_CENTRAL | DDB_ROLE_DOCUMENTS;
	/* Too small a buffer: whole names only. */
	plugin_caps_string(&d, buf, 12);
	assert_string_equal(buf, "regional");
	plugin_caps_string(&d, buf, 4);
	assert_int_equal(strlen(buf), 0);
	buf[0] = 'x';
	plugin_caps_string(&d, buf, 0); /* writes nothing */
	assert_int_equal(buf[0], 'x');
	/* Storage bits mean nothing for a transport, and the other way round. */
	d.kind = DDB_KIND_TRANSPORT;
	d.caps = DDB_TRANSPORT_DURABLE;
	plugin_caps_string(&d, buf, sizeof buf);
	assert_string_equal(buf, "durable");
	d.caps = DDB_ROLE_CENTRAL << 4;
	plugin_caps_string(&d, buf, sizeof buf);
	assert_string_equal(buf, "-");

	assert_string_equal(plugin_kind_name(DDB_KIND_STORAGE), "storage");
	assert_string_equal(plugin_kind_name(DDB_KIND_TRANSPORT), "transport");
	assert_string_equal(plugin_kind_name(0), "unknown");
	assert_string_equal(plugin_kind_name(99), "unknown");
}

static void test_bad_abi(void **state)
{
	(void)state;
	char err[512], v[64];
	expect_refused("badabi", DDB_KIND_STORAGE, err, sizeof err);
	snprintf(v, sizeof v, "ABI version %d", DDB_PLUGIN_ABI + 41);
	assert_contains(err, v);
	snprintf(v, sizeof v, "ABI version %d", DDB_PLUGIN_ABI);
	assert_contains(err, v);
	/* Whatever kind is asked for. */
	expect_refused("badabi", 0, err, sizeof err);
	snprintf(v, sizeof v, "ABI version %d", DDB_PLUGIN_ABI + 41);
	assert_contains(err, v);
}

static void test_no_entry_symbol(void **state)
{
	(void)state;
	char err[512];
	expect_refused("nosym", 0, err, sizeof err);
	assert_contains(err, "no symbol " DDB_PLUGIN_ENTRY_SYMBOL);
}

static void test_wrong_kind(void **state)
{
	(void)state;
	char err[512] = "", caps[64];
	expect_refused("wrongkind", DDB_KIND_STORAGE, err, sizeof err);
	assert_contains(err, "'wrongkind'");
	assert_contains(err, "is a transport plugin");
	assert_contains(err, "a storage plugin is needed");

	/* It is a fine transport plugin. */
	struct plugin *p = plugin_load("wrongkind", plugin_dir, DDB_KIND_TRANSPORT, err, sizeof err);
	if (!p)
		fail_msg("wrongkind did not load as a transport: %s", err);
	assert_int_equal(p->desc->kind, DDB_KIND_TRANSPORT);
	assert_string_equal(p->desc->name, "wrongkind");
	plugin_caps_string(p->desc, caps, sizeof caps);
	assert_string_equal(caps, "durable");
	plugin_unload(p);

	/* And the other way round. */
	expect_refused("good", DDB_KIND_TRANSPORT, err, sizeof err);
	assert_contains(err, "is a storage plugin");
	assert_contains(err, "a transport plugin is needed");
}

static void test_missing_operation(void **state)
{
	(void)state;
	char path[4096], err[512];
	struct stat st;
	plugin_path(path, sizeof path, "noops");
	if (stat(path, &st) != 0) {
		print_message("%s not built (tests/plugins/noops.la is not in tests/local.mk)\n",
		              path);
		skip();
	}
	expect_refused("noops", DDB_KIND_STORAGE, err, sizeof err);
	assert_contains(err, "'noops'");
	assert_contains(err, "lacks the operation place_orders");
}

static void test_not_found(void **state)
{
	(void)state;
	char err[512] = "";
	assert_null(plugin_load("nosuch", "/nonexistent-a:/nonexistent-b", DDB_KIND_STORAGE, err,
	                        sizeof err));
	assert_starts_with(err, "nosuch.so: ");
	assert_contains(err, "'nosuch'");
	assert_contains(err, "/nonexistent-a:/nonexistent-b");

	/* In the test plugin directory too. */
	assert_null(plugin_load("nosuch", plugin_dir, 0, err, sizeof err));
	assert_starts_with(err, "nosuch.so: ");
	assert_contains(err, plugin_dir);

	assert_null(plugin_load("nosuch", NULL, 0, err, sizeof err));
	assert_starts_with(err, "nosuch.so: ");
	assert_contains(err, "empty plugin path");
	assert_null(plugin_load("nosuch", "", 0, err, sizeof err));
	assert_contains(err, "empty plugin path");

	/* A path that does not exist. */
	assert_null(plugin_load("/nonexistent-ddbsim-dir/x.so", plugin_dir, 0, err, sizeof err));
	assert_starts_with(err, "/nonexistent-ddbsim-dir/x.so: ");

	assert_null(plugin_load("", plugin_dir, 0, err, sizeof err));
	assert_string_equal(err, "no plugin name given");
	assert_null(plugin_load(NULL, plugin_dir, 0, err, sizeof err));
	assert_string_equal(err, "no plugin name given");
}

static void test_not_a_shared_object(void **state)
{
	struct tmp *t = *state;
	char err[512] = "", prefix[256];
	const char *junk = tmp_write(t, "junk.so", "this is not a shared object\n");
	snprintf(prefix, sizeof prefix, "%s: ", junk);

	assert_null(plugin_load("junk", t->dir, 0, err, sizeof err));
	assert_starts_with(err, prefix);
	assert_contains(err, "cannot load plugin");

	assert_null(plugin_load(junk, NULL, DDB_KIND_STORAGE, err, sizeof err));
	assert_starts_with(err, prefix);
}

/* ---- scanning ----------------------------------------------------------- */

struct scan_log {
	char found[8][64];
	int n_found;
	char failed[8][64];
	char failed_msg[8][512];
	int n_failed;
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static void on_found(void *ctx, const struct plugin *p)
{
	struct scan_log *log = ctx;
	assert_true(log->n_found < 8);
	assert_non_null(p->desc);
	/* The test plugins are named after their file. */
	char stem[64];
	snprintf(stem, sizeof stem, "%s", base_name(p->path));
	char *dot = strrchr(stem, '.');
	if (dot)
		*dot = '\0';
	assert_string_equal(p->desc->name, stem);
	snprintf(log->found[log->n_found++], sizeof log->found[0], "%s", base_name(p->path));
}

static void on_failed(void *ctx, const char *path, const char *msg)
{
	struct scan_log *log = ctx;
	assert_true(log->n_failed < 8);
	char prefix[4200];
	snprintf(prefix, sizeof prefix, "%s: ", path);
	assert_starts_with(msg, prefix);
	snprintf(log->failed_msg[log->n_failed], sizeof log->failed_msg[0], "%s", msg);
	snprintf(log->failed[log->n_failed++], sizeof log->failed[0], "%s", base_name(path));
}

static void test_scan(void **state)
{
	(void)state;
	struct scan_log log = { .n_found = 0 };
	plugin_scan(plugin_dir, on_found, on_failed, &log);

	/* In name order. */
	assert_int_equal(log.n_found, 2);
	assert_string_equal(log.found[0], "good.so");
	assert_string_equal(log.found[1], "wrongkind.so");

	char noops[4096];
	struct stat st;
	plugin_path(noops, sizeof noops, "noops");
	int have_noops = stat(noops, &st) == 0;
	/* In name order too: badabi, [noops,] nosym. */
	assert_int_equal(log.n_failed, 2 + have_noops);
	assert_string_equal(log.failed[0], "badabi.so");
	assert_contains(log.failed_msg[0], "ABI version");
	if (have_noops) {
		assert_string_equal(log.failed[1], "noops.so");
		assert_contains(log.failed_msg[1], "place_orders");
	}
	assert_string_equal(log.failed[1 + have_noops], "nosym.so");
	assert_contains(log.failed_msg[1 + have_noops], "no symbol " DDB_PLUGIN_ENTRY_SYMBOL);

	/* Without a failed() callback, failures are only skipped. */
	struct scan_log quiet = { .n_found = 0 };
	plugin_scan(plugin_dir, on_found, NULL, &quiet);
	assert_int_equal(quiet.n_found, 2);
	assert_int_equal(quiet.n_failed, 0);

	/* Missing and empty directories in the search path are skipped. */
	struct scan_log none = { .n_found = 0 };
	plugin_scan("/nonexistent-ddbsim-dir::", on_found, on_failed, &none);
	plugin_scan(NULL, on_found, on_failed, &none);
	assert_int_equal(none.n_found, 0);
	assert_int_equal(none.n_failed, 0);
}

static void test_scan_other_dirs(void **state)
{
	struct tmp *t = *state;
	struct scan_log log = { .n_found = 0 };

	/* A directory with no *.so at all. */
	tmp_write(t, "README", "not a plugin\n");
	tmp_write(t, ".so", "no name\n");
	plugin_scan(t->dir, on_found, on_failed, &log);
	assert_int_equal(log.n_found, 0);
	assert_int_equal(log.n_failed, 0);

	/* A text file named *.so fails, and the next directory is scanned. */
	tmp_write(t, "junk.so", "this is not a shared object\n");
	char search[4200];
	snprintf(search, sizeof search, "%s:%s", t->dir, plugin_dir);
	plugin_scan(search, on_found, on_failed, &log);
	assert_int_equal(log.n_found, 2);
	assert_string_equal(log.failed[0], "junk.so");
	assert_contains(log.failed_msg[0], "cannot load plugin");
	assert_string_equal(log.failed[1], "badabi.so");
}

int main(void)
{
	plugin_dir = getenv("DDBSIM_TEST_PLUGINS");
	if (!plugin_dir || !*plugin_dir) {
		fprintf(stderr, "test_loader: set DDBSIM_TEST_PLUGINS to the directory of the "
		                "test plugins (tests/plugins/.libs of the build tree)\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_caps_and_kinds),
		cmocka_unit_test(test_bad_abi),
		cmocka_unit_test(test_no_entry_symbol),
		cmocka_unit_test(test_wrong_kind),
		cmocka_unit_test(test_missing_operation),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test_setup_teardown(test_not_a_shared_object, tmp_setup, tmp_teardown),
		cmocka_unit_test(test_scan),
		cmocka_unit_test_setup_teardown(test_scan_other_dirs, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests_name("loader", tests, NULL, NULL);
}
