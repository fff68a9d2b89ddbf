/*
 * test_sqlite.c - the SQLite storage plugin's own options and errors, which
 * the backend-agnostic conformance suite (test_storage.c) leaves out: the
 * synchronous and busy_timeout_ms settings, an explicit path, a path
 * that cannot be opened, and the WAL's checkpoints (sqlite_checkpoint.c).  Loads the plugin the way ddbsim does, from
 * DDBSIM_PLUGIN_DIR, and gives each test a new temporary data directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "loader.h"
#include "plugin_fixture.h"

static struct {
	struct plugin *plugin;
	char data_dir[256];
} G;

#define S (G.plugin->desc->storage)

static int group_setup(void **state)
{
	(void)state;
	G.plugin = fixture_load_plugin("sqlite", DDB_KIND_STORAGE);
	return G.plugin ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	plugin_unload(G.plugin);
	G.plugin = NULL;
	return 0;
}

static int test_setup(void **state)
{
	(void)state;
	return fixture_make_dir("sqlite", G.data_dir, sizeof G.data_dir);
}

static int test_teardown(void **state)
{
	(void)state;
	if (G.data_dir[0])
		fixture_remove_tree(G.data_dir);
	G.data_dir[0] = '\0';
	return 0;
}

/* Opens node in the test's data directory with the given options. */
static enum ddb_status open_with(const char *node, unsigned roles, const struct ddb_option *opts,
                                 size_t n, void **h, struct ddb_err *e)
{
	struct ddb_open_args args = {
		.node = node,
		.data_dir = G.data_dir,
		.roles = roles,
		.options = opts,
		.n_options = n,
	};
	return S->open(&args, h, e);
}

static void test_sqlite_options(void **state)
{
	(void)state;
	void *h = NULL;
	struct ddb_err e = { "" };
	struct ddb_option sync_bad[] = { { "synchronous", "SOMETIMES" } };
	assert_status(DDB_INVALID, open_with("opt", DDB_ROLE_REGIONAL, sync_bad, 1, &h, &e));
	assert_null(h);
	assert_non_null(strstr(e.msg, "synchronous"));
	assert_non_null(strstr(e.msg, "SOMETIMES"));
	struct ddb_option busy_bad[] = { { "busy_timeout_ms", "soon" } };
	assert_status(DDB_INVALID, open_with("opt", DDB_ROLE_REGIONAL, busy_bad, 1, &h, &e));
	assert_non_null(strstr(e.msg, "busy_timeout_ms"));
	assert_non_null(strstr(e.msg, "soon"));
	struct ddb_option busy_neg[] = { { "busy_timeout_ms", "-1" } };
	assert_status(DDB_INVALID, open_with("opt", DDB_ROLE_REGIONAL, busy_neg, 1, &h, &e));
	/* Refused options create no file. */
	char path[512];
	snprintf(path, sizeof path, "%s/opt.db", G.data_dir);
	assert_int_equal(access(path, F_OK), -1);

	/* Every synchronous level, any case; the default file name. */
	const char *levels[] = { "OFF", "normal", "Full", "EXTRA" };
	for (size_t i = 0; i < 4; i++) {
		struct ddb_option o[] = { { "synchronous", levels[i] }, { "busy_timeout_ms", "0" } };
		assert_status(DDB_OK, open_with("opt", DDB_ROLE_REGIONAL, o, 2, &h, &e));
		S->close(h);
	}
	assert_int_equal(access(path, F_OK), 0);

	/* An explicit path. */
	char own[512];
	snprintf(own, sizeof own, "%s/elsewhere.sqlite", G.data_dir);
	struct ddb_option p[] = { { "path", own } };
	assert_status(DDB_OK, open_with("opt2", DDB_ROLE_CENTRAL, p, 1, &h, &e));
	S->close(h);
	assert_int_equal(access(own, F_OK), 0);
}

static void test_sqlite_unavailable(void **state)
{
	(void)state;
	char path[512];
	snprintf(path, sizeof path, "%s/no/such/dir/x.db", G.data_dir);
	struct ddb_option p[] = { { "path", path } };
	void *h = NULL;
	struct ddb_err e = { "" };
	assert_status(DDB_UNAVAILABLE, open_with("gone", DDB_ROLE_REGIONAL, p, 1, &h, &e));
	assert_null(h);
	assert_non_null(strstr(e.msg, path));
	assert_true(strncmp(e.msg, "sqlite: ", 8) == 0);
}

static long long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Thousands of one-order commits, as `ddbsim serve` makes them: the WAL
 * stays within its bound (4,000 frames of 4 KiB pages, plus the last
 * commit's, which only checkpoints that copied all of it allow), the pages
 * reach the database file (about 90 pages here), and every order is there
 * after a close and a reopen. */
static void test_sqlite_checkpoints(void **state)
{
	(void)state;
	const long long frame = 4096 + 24, bound = 32 + (4000 + 16) * frame;
	const int n_orders = 4000;
	void *h = NULL;
	struct ddb_err e = { "" };
	assert_status(DDB_OK, open_with("ck", DDB_ROLE_REGIONAL, NULL, 0, &h, &e));
	struct ddb_product p = { .sku = "P", .name = "p", .price_cents = 100, .version = 1 };
	assert_status(DDB_OK, S->upsert_product(h, &p, 0, &e));
	assert_status(DDB_OK, S->restock(h, "P", n_orders, &e));
	char wal[512], db[512];
	snprintf(wal, sizeof wal, "%s/ck.db-wal", G.data_dir);
	snprintf(db, sizeof db, "%s/ck.db", G.data_dir);
	long long db_before = file_size(db), wal_max = 0;
	for (int i = 0; i < n_orders; i++) {
		struct ddb_order o = { .region = "ck", .customer = "c", .sku = "P", .quantity = 1,
			               .unit_price_cents = 100, .placed_at_us = i };
		snprintf(o.id, sizeof o.id, "ck-%08d", i);
		enum ddb_status r;
		assert_status(DDB_OK, S->place_orders(h, &o, 1, &r, &e));
		assert_status(DDB_OK, r);
		long long w = file_size(wal);
		if (w > wal_max)
			wal_max = w;
	}
	print_message("WAL at most %lld bytes over %d commits (bound %lld)\n", wal_max, n_orders,
	              bound);
	assert_true(wal_max > 1000 * frame); /* the commits did fill it */
	assert_true(wal_max <= bound);
	/* The thread may be copying still. */
	for (int i = 0; i < 500 && file_size(db) <= db_before + 50 * 4096; i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	assert_true(file_size(db) > db_before + 50 * 4096);
	S->close(h);

	assert_status(DDB_OK, open_with("ck", DDB_ROLE_REGIONAL, NULL, 0, &h, &e));
	void *cur = NULL;
	struct ddb_row row;
	int n = 0;
	assert_status(DDB_OK, S->scan_open(h, DDB_DS_ORDERS, NULL, &cur, &e));
	while (S->scan_next(cur, &row, &e) == DDB_OK)
		n++;
	S->scan_close(cur);
	assert_int_equal(n, n_orders);
	S->close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sqlite_options, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_unavailable, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_checkpoints, test_setup, test_teardown),
	};
	int failed = cmocka_run_group_tests_name("sqlite plugin", tests, group_setup,
	                                         group_teardown);
	return failed ? 1 : 0;
}
