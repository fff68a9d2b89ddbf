/*
 * test_memory.c - the in-memory transport plugin's own options and
 * behaviour, which the backend-agnostic conformance suite (test_transport.c)
 * leaves out: its descriptor, max_queue, one broker per instance, and the
 * queues keep_queues = yes keeps across a close.  Loads the plugin the way
 * ddbsim does, from DDBSIM_PLUGIN_DIR, and gives each test a new temporary
 * data directory.
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

#include "loader.h"
#include "plugin_fixture.h"

static struct {
	struct plugin *plugin;
	char data_dir[256];
} G;

#define T (G.plugin->desc->transport)

static int group_setup(void **state)
{
	(void)state;
	G.plugin = fixture_load_plugin("memory", DDB_KIND_TRANSPORT);
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
	return fixture_make_dir("memory", G.data_dir, sizeof G.data_dir);
}

static int test_teardown(void **state)
{
	(void)state;
	if (G.data_dir[0])
		fixture_remove_tree(G.data_dir);
	G.data_dir[0] = '\0';
	return 0;
}

/* ---- tests ---------------------------------------------------------------- */

/* An instance with key=value and, unless key says otherwise, keep_queues =
 * no: instances on the same data directory share nothing. */
static void *open_with(const char *key, const char *value, enum ddb_status want)
{
	struct ddb_option opt[2] = { { key, value }, { "keep_queues", "no" } };
	size_t n = 0;
	if (key)
		n++;
	if (!key || strcmp(key, "keep_queues") != 0)
		opt[n++] = (struct ddb_option){ "keep_queues", "no" };
	struct ddb_open_args args = { "broker", G.data_dir, 0, opt, n, 0 };
	void *h = (void *)&h;
	struct ddb_err e = { "" };
	enum ddb_status st = T->open(&args, &h, &e);
	if (st != want)
		fail_msg("open(%s=%s) -> %s (%s), want %s", key ? key : "-", value ? value : "-",
		         ddb_status_name(st), e.msg, ddb_status_name(want));
	if (st != DDB_OK) {
		if (!strstr(e.msg, key) || !strstr(e.msg, value))
			fail_msg("open(%s=%s): message '%s' names not both", key, value, e.msg);
		return NULL;
	}
	return h;
}

static void test_memory_descriptor(void **state)
{
	(void)state;
	const struct ddb_plugin *d = G.plugin->desc;
	assert_string_equal(d->name, "memory");
	assert_string_equal(d->version, "0.1.0");
	assert_int_equal(d->caps, 0); /* not durable */
}

static void test_memory_bad_options(void **state)
{
	(void)state;
	static const char *bad[] = { "", "abc", "-1", "10x", "1.5", "99999999999999999999999" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_null(open_with("max_queue", bad[i], DDB_INVALID));
	void *h = open_with("max_queue", "0", DDB_OK); /* no limit */
	T->close(h);
}

static void test_memory_max_queue(void **state)
{
	(void)state;
	void *h = open_with("max_queue", "3", DDB_OK);
	const char *q = "limited", *other = "other";
	struct ddb_delivery d[3];
	size_t n = 0;
	CHECK(T->declare(h, q, &e_));
	CHECK(T->declare(h, other, &e_));
	for (int i = 0; i < 3; i++)
		CHECK(T->publish(h, q, "m", 1, &e_));
	EXPECT_STATUS_NAMING(DDB_UNAVAILABLE, q, T->publish(h, q, "m", 1, &e_));
	CHECK(T->confirm(h, &e_));
	/* The limit is per queue. */
	CHECK(T->publish(h, other, "o", 1, &e_));
	/* Delivered but unacked still counts; acked frees a place. */
	CHECK(T->receive(h, q, d, 1, &n, &e_));
	assert_int_equal(n, 1);
	EXPECT_STATUS(DDB_UNAVAILABLE, T->publish(h, q, "m", 1, &e_));
	CHECK(T->ack(h, q, d[0].tag, &e_));
	CHECK(T->publish(h, q, "m", 1, &e_));
	uint64_t r, u;
	CHECK(T->depth(h, q, &r, &u, &e_));
	assert_int_equal(r, 3);
	assert_int_equal(u, 0);
	T->close(h); /* frees what it holds: ASan checks */
}

/* Each open() is a broker of its own; publish is routable at once. */
static void test_memory_instances(void **state)
{
	(void)state;
	void *h1 = open_with(NULL, NULL, DDB_OK);
	void *h2 = open_with(NULL, NULL, DDB_OK);
	uint64_t r, u;
	struct ddb_delivery d[2];
	size_t n = 0;
	CHECK(T->declare(h1, "q", &e_));
	EXPECT_STATUS(DDB_NOT_FOUND, T->depth(h2, "q", &r, &u, &e_));
	CHECK(T->publish(h1, "q", "now", 3, &e_));
	CHECK(T->receive(h1, "q", d, 2, &n, &e_));
	assert_int_equal(n, 1);
	assert_memory_equal(d[0].body, "now", 3);
	assert_int_equal(d[0].tag, 1); /* tags start at 1 in each instance */
	/* Closing with unacked and ready messages leaks nothing. */
	CHECK(T->publish(h1, "q", "left", 4, &e_));
	T->close(h1);
	T->close(h2);
	T->close(NULL);
}

/* What the queues hold at close comes back at the next open of the same
 * data directory, in publish order, delivered ones marked redelivered;
 * reset forgets it; a damaged file is refused. */
static void test_memory_keeps_queues(void **state)
{
	(void)state;
	assert_null(open_with("keep_queues", "maybe", DDB_INVALID));
	void *h = open_with("keep_queues", "yes", DDB_OK);
	struct ddb_delivery d[4];
	size_t n = 0;
	uint64_t r, u;
	CHECK(T->reset(h, &e_));
	CHECK(T->declare(h, "node.kept", &e_));
	CHECK(T->declare(h, "empty", &e_));
	CHECK(T->publish(h, "node.kept", "one", 3, &e_));
	CHECK(T->publish(h, "node.kept", "", 0, &e_));
	CHECK(T->publish(h, "node.kept", "th\nree", 6, &e_));
	CHECK(T->receive(h, "node.kept", d, 1, &n, &e_)); /* "one", left unacked */
	T->close(h);

	h = open_with("keep_queues", "yes", DDB_OK);
	CHECK(T->depth(h, "node.kept", &r, &u, &e_));
	assert_int_equal(r, 3);
	assert_int_equal(u, 0);
	EXPECT_STATUS(DDB_NOT_FOUND, T->depth(h, "empty", &r, &u, &e_)); /* held nothing */
	CHECK(T->receive(h, "node.kept", d, 4, &n, &e_));
	assert_int_equal(n, 3);
	assert_int_equal(d[0].len, 3);
	assert_memory_equal(d[0].body, "one", 3);
	assert_true(d[0].redelivered);
	assert_int_equal(d[1].len, 0);
	assert_false(d[1].redelivered);
	assert_int_equal(d[2].len, 6);
	assert_memory_equal(d[2].body, "th\nree", 6);
	for (size_t i = 0; i < n; i++)
		CHECK(T->ack(h, "node.kept", d[i].tag, &e_));
	CHECK(T->publish(h, "node.kept", "gone", 4, &e_));
	CHECK(T->reset(h, &e_)); /* forgets the queues and the file */
	T->close(h);

	h = open_with("keep_queues", "yes", DDB_OK);
	EXPECT_STATUS(DDB_NOT_FOUND, T->depth(h, "node.kept", &r, &u, &e_));
	T->close(h);

	char path[512];
	snprintf(path, sizeof path, "%s/broker.queues", G.data_dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("ddbsim memory queues 1\nqueue 4 1\nq\n", f);
	fclose(f);
	struct ddb_option opt = { "keep_queues", "yes" };
	struct ddb_open_args args = { "broker", G.data_dir, 0, &opt, 1, 0 };
	struct ddb_err e = { "" };
	h = NULL;
	assert_int_equal(T->open(&args, &h, &e), DDB_INVALID);
	assert_non_null(strstr(e.msg, "broker.queues"));
	assert_int_equal(remove(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define TEST(f) cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)
		TEST(test_memory_descriptor),
		TEST(test_memory_bad_options),
		TEST(test_memory_max_queue),
		TEST(test_memory_instances),
		TEST(test_memory_keeps_queues),
#undef TEST
	};
	int failed = cmocka_run_group_tests_name("memory transport", tests, group_setup,
	                                         group_teardown);
	return failed ? 1 : 0;
}
