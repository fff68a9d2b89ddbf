/*
 * test_transport.c - conformance suite for transport plugins.
 *
 * Runs against any transport plugin, loaded the way ddbsim loads it:
 *   DDBSIM_PLUGIN_DIR               search path (colon-separated)
 *   DDBSIM_TEST_TRANSPORT           plugin name (default "memory")
 *   DDBSIM_TEST_TRANSPORT_OPTIONS   options for open(), "k=v;k=v"
 *   DDBSIM_TEST_TIMEOUT_MS          how long a receive may stay empty while
 *                                   a message is expected (default 2000)
 *
 * A real broker delivers asynchronously, so every receive that expects
 * messages is a poll loop that gives up only after the timeout passes
 * without progress, and every depth check polls until the expected value
 * shows up (or the timeout).  Bodies are copied right after each receive:
 * the ABI keeps them valid only until the next receive on the same queue.
 *
 * Each test starts from reset() and uses queue names of its own.  The
 * in-memory plugin's own options and behaviour are tested in test_memory.c.
 * The tests at the end marked "durable" run only for plugins with DDB_TRANSPORT_DURABLE, whose
 * instances with the same options share one broker (a second instance
 * stands for a second process, or ddbsim after a restart); those marked
 * "rabbitmq" only for the RabbitMQ plugin.
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
#include <time.h>
#include <unistd.h>

#include "loader.h"
#include "plugin_fixture.h"

/* ---- fixture ------------------------------------------------------------- */

static struct {
	struct plugin *plugin;
	const struct ddb_transport_ops *t;
	void *h;
	char *options_buf;
	struct ddb_option *options;
	size_t n_options;
	char data_dir[256];
	long timeout_ms;
	uint64_t last_tag; /* highest delivery tag seen on the instance */
	unsigned queue_seq;
} G;

#define T (G.t)

static int group_setup(void **state)
{
	(void)state;
	const char *name = getenv("DDBSIM_TEST_TRANSPORT");
	if (!name || !*name)
		name = "memory";
	const char *ms = getenv("DDBSIM_TEST_TIMEOUT_MS");
	G.timeout_ms = ms && atol(ms) > 0 ? atol(ms) : 2000;
	if (fixture_options("DDBSIM_TEST_TRANSPORT_OPTIONS", &G.options_buf, &G.options,
	                    &G.n_options) != 0)
		return -1;

	char err[512];
	G.plugin = plugin_load(name, getenv("DDBSIM_PLUGIN_DIR"), DDB_KIND_TRANSPORT, err,
	                       sizeof err);
	if (!G.plugin) {
		fprintf(stderr, "cannot load transport plugin '%s': %s\n", name, err);
		return -1;
	}
	G.t = G.plugin->desc->transport;

	const char *tmp = getenv("TMPDIR");
	snprintf(G.data_dir, sizeof G.data_dir, "%s/ddbsim-transport-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(G.data_dir)) {
		fprintf(stderr, "mkdtemp %s: %s\n", G.data_dir, strerror(errno));
		G.data_dir[0] = '\0';
		return -1;
	}
	struct ddb_open_args args = {
		.node = "broker",
		.data_dir = G.data_dir,
		.roles = 0,
		.options = G.options,
		.n_options = G.n_options,
	};
	struct ddb_err e = { "" };
	enum ddb_status st = T->open(&args, &G.h, &e);
	if (st != DDB_OK) {
		fprintf(stderr, "%s: open: %s: %s\n", name, ddb_status_name(st), e.msg);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (G.h)
		T->close(G.h);
	G.h = NULL;
	plugin_unload(G.plugin);
	G.plugin = NULL;
	if (G.data_dir[0])
		fixture_remove_tree(G.data_dir);
	free(G.options);
	free(G.options_buf);
	return 0;
}

static int test_setup(void **state)
{
	(void)state;
	struct ddb_err e = { "" };
	enum ddb_status st = T->reset(G.h, &e);
	if (st != DDB_OK) {
		fprintf(stderr, "reset: %s: %s\n", ddb_status_name(st), e.msg);
		return -1;
	}
	return 0;
}

/* ---- helpers ------------------------------------------------------------- */

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap(void)
{
	struct timespec ts = { 0, 1000000 }; /* 1 ms */
	nanosleep(&ts, NULL);
}

/* A queue name of this test run: unique per call. */
static const char *qname(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "ddbsim-test-%ld-%u-%s", (long)getpid(), ++G.queue_seq, what);
	return buf;
}
#define QNAME(var, what)                                                                  \
	char var##_buf[96];                                                               \
	const char *var = qname(var##_buf, sizeof var##_buf, what)

static void declare(const char *q)
{
	CHECK(T->declare(G.h, q, &e_));
}

static void publish(const char *q, const void *body, size_t len)
{
	CHECK(T->publish(G.h, q, body, len, &e_));
}

static void publish_str(const char *q, const char *s)
{
	publish(q, s, strlen(s));
}

static void confirm(void)
{
	CHECK(T->confirm(G.h, &e_));
}

static void ack(const char *q, uint64_t tag)
{
	CHECK(T->ack(G.h, q, tag, &e_));
}

static void reject(const char *q, uint64_t tag, int requeue)
{
	CHECK(T->reject(G.h, q, tag, requeue, &e_));
}

static void recover(const char *q)
{
	CHECK(T->recover(G.h, q, &e_));
}

/* A delivery with its body copied. */
struct got {
	uint64_t tag;
	int redelivered;
	size_t len;
	unsigned char *body;
};

static void free_got(struct got *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(g[i].body);
		g[i].body = NULL;
	}
}

/* Receives into out until `want` deliveries arrived, asking for at most
 * `batch` per call, or until the timeout passes with nothing arriving.
 * Checks every call's n_out against its max and that tags increase over the
 * whole instance.  Returns how many arrived. */
static size_t recv_batched(const char *q, struct got *out, size_t want, size_t batch)
{
	/* Slots past max are guards: a plugin must not write there. */
	enum { GUARD = 4 };
	struct ddb_delivery *d = calloc(batch + GUARD, sizeof *d);
	assert_non_null(d);
	size_t have = 0;
	long deadline = now_ms() + G.timeout_ms;
	while (have < want) {
		size_t max = want - have < batch ? want - have : batch;
		size_t n = (size_t)-1;
		for (size_t i = max; i < max + GUARD; i++)
			d[i].tag = UINT64_MAX;
		struct ddb_err e_ = { "" };
		enum ddb_status st = T->receive(G.h, q, d, max, &n, &e_);
		if (st != DDB_OK) {
			free(d);
			fail_msg("receive(%s, max %zu) -> %s: %s", q, max, ddb_status_name(st),
			         e_.msg);
		}
		for (size_t i = max; i < max + GUARD; i++)
			if (d[i].tag != UINT64_MAX)
				n = max + GUARD; /* reported below */
		if (n > max) {
			free(d);
			fail_msg("receive(%s, max %zu) wrote %zu deliveries or more", q, max, n);
		}
		for (size_t i = 0; i < n; i++) {
			struct got *g = &out[have++];
			if (d[i].tag <= G.last_tag) {
				unsigned long long tag = d[i].tag;
				free(d);
				fail_msg("delivery tag %llu not above the previous %llu", tag,
				         (unsigned long long)G.last_tag);
			}
			G.last_tag = d[i].tag;
			g->tag = d[i].tag;
			g->redelivered = d[i].redelivered;
			g->len = d[i].len;
			g->body = malloc(d[i].len ? d[i].len : 1);
			assert_non_null(g->body);
			if (d[i].len) {
				assert_non_null(d[i].body);
				memcpy(g->body, d[i].body, d[i].len);
			}
		}
		if (n > 0) {
			deadline = now_ms() + G.timeout_ms;
		} else {
			if (now_ms() > deadline)
				break;
			nap();
		}
	}
	free(d);
	return have;
}

/* One receive of up to max that returns something, polled until the
 * timeout; the bodies are not copied.  Checks the tags like recv_batched. */
static size_t recv_raw(const char *q, struct ddb_delivery *d, size_t max)
{
	size_t n = 0;
	long deadline = now_ms() + G.timeout_ms;
	for (;;) {
		CHECK(T->receive(G.h, q, d, max, &n, &e_));
		assert_true(n <= max);
		if (n > 0 || now_ms() > deadline)
			break;
		nap();
	}
	for (size_t i = 0; i < n; i++) {
		assert_true(d[i].tag > G.last_tag);
		G.last_tag = d[i].tag;
	}
	return n;
}

static size_t recv_n(const char *q, struct got *out, size_t want)
{
	return recv_batched(q, out, want, want);
}

/* Exactly `want` deliveries. */
static void recv_exact(const char *q, struct got *out, size_t want)
{
	size_t n = recv_n(q, out, want);
	if (n != want) {
		free_got(out, n);
		fail_msg("receive(%s): %zu of %zu expected deliveries arrived within %ld ms", q, n,
		         want, G.timeout_ms);
	}
}

/* One receive: the queue must have nothing ready.  Call after wait_depth has
 * seen ready == 0, so that an asynchronous broker has settled. */
static void expect_nothing(const char *q)
{
	struct ddb_delivery d[4];
	size_t n = (size_t)-1;
	CHECK(T->receive(G.h, q, d, 4, &n, &e_));
	if (n != 0)
		fail_msg("receive(%s): %zu deliveries, expected none (first tag %llu)", q, n,
		         (unsigned long long)d[0].tag);
}

static void get_depth(const char *q, uint64_t *ready, uint64_t *unacked)
{
	CHECK(T->depth(G.h, q, ready, unacked, &e_));
}

/* Polls depth until it reads (ready, unacked), then asserts it. */
static void wait_depth_at(const char *q, uint64_t ready, uint64_t unacked, int line)
{
	uint64_t r = 0, u = 0;
	long deadline = now_ms() + G.timeout_ms;
	for (;;) {
		get_depth(q, &r, &u);
		if ((r == ready && u == unacked) || now_ms() > deadline)
			break;
		nap();
	}
	if (r != ready || u != unacked)
		fail_msg("line %d: depth(%s) = ready %llu, unacked %llu; want %llu, %llu", line, q,
		         (unsigned long long)r, (unsigned long long)u, (unsigned long long)ready,
		         (unsigned long long)unacked);
}
#define wait_depth(q, r, u) wait_depth_at((q), (r), (u), __LINE__)

static void assert_body(const struct got *g, const void *want, size_t len)
{
	assert_int_equal(g->len, len);
	if (len)
		assert_memory_equal(g->body, want, len);
}

static void assert_body_str(const struct got *g, const char *want)
{
	if (g->len != strlen(want) || memcmp(g->body, want, g->len) != 0)
		fail_msg("body '%.*s', want '%s'", (int)g->len, (const char *)g->body, want);
}

/* Numbered text bodies. */
static size_t body_n(char *buf, size_t len, const char *prefix, size_t i)
{
	return (size_t)snprintf(buf, len, "%s-%06zu", prefix, i);
}

static void publish_n(const char *q, const char *prefix, size_t from, size_t to)
{
	char b[64];
	for (size_t i = from; i < to; i++)
		publish(q, b, body_n(b, sizeof b, prefix, i));
}

static void assert_body_n(const struct got *g, const char *prefix, size_t i)
{
	char b[64];
	body_n(b, sizeof b, prefix, i);
	assert_body_str(g, b);
}

/* ---- the contract ---------------------------------------------------------- */

static void test_descriptor(void **state)
{
	(void)state;
	const struct ddb_plugin *d = G.plugin->desc;
	assert_int_equal(d->abi, DDB_PLUGIN_ABI);
	assert_int_equal(d->kind, DDB_KIND_TRANSPORT);
	assert_non_null(d->name);
	assert_non_null(d->version);
	assert_true(d->name[0] != '\0');
	assert_true(d->version[0] != '\0');
	assert_int_equal(d->caps & ~(unsigned)DDB_TRANSPORT_DURABLE, 0);
	assert_non_null(d->transport);
}

static void test_declare_idempotent(void **state)
{
	(void)state;
	QNAME(q, "declare");
	declare(q);
	declare(q);
	wait_depth(q, 0, 0);
	publish_str(q, "kept");
	confirm();
	wait_depth(q, 1, 0);
	/* Declaring again changes nothing, not even what the queue holds. */
	declare(q);
	wait_depth(q, 1, 0);
	struct got g[1];
	recv_exact(q, g, 1);
	assert_body_str(&g[0], "kept");
	assert_false(g[0].redelivered);
	ack(q, g[0].tag);
	free_got(g, 1);
	wait_depth(q, 0, 0);
}

static void test_undeclared_queue(void **state)
{
	(void)state;
	QNAME(q, "nosuch");
	struct ddb_delivery d[1];
	size_t n = 0;
	uint64_t r, u;
	EXPECT_STATUS_NAMING(DDB_NOT_FOUND, q, T->publish(G.h, q, "x", 1, &e_));
	EXPECT_STATUS_NAMING(DDB_NOT_FOUND, q, T->receive(G.h, q, d, 1, &n, &e_));
	EXPECT_STATUS_NAMING(DDB_NOT_FOUND, q, T->depth(G.h, q, &r, &u, &e_));
	EXPECT_STATUS(DDB_NOT_FOUND, T->ack(G.h, q, 1, &e_));
	EXPECT_STATUS(DDB_NOT_FOUND, T->reject(G.h, q, 1, 1, &e_));
	EXPECT_STATUS(DDB_NOT_FOUND, T->recover(G.h, q, &e_));
	/* Nothing was created on the way. */
	EXPECT_STATUS(DDB_NOT_FOUND, T->depth(G.h, q, &r, &u, &e_));
}

static void test_invalid_arguments(void **state)
{
	(void)state;
	QNAME(q, "invalid");
	declare(q);
	EXPECT_STATUS(DDB_INVALID, T->declare(G.h, "", &e_));
	EXPECT_STATUS(DDB_INVALID, T->publish(G.h, q, NULL, 5, &e_));
	wait_depth(q, 0, 0);
}

static void test_confirm_without_publish(void **state)
{
	(void)state;
	confirm();
	confirm();
}

static void test_roundtrip_bodies(void **state)
{
	(void)state;
	QNAME(q, "bodies");
	declare(q);

	unsigned char binary[512];
	for (size_t i = 0; i < sizeof binary; i++)
		binary[i] = (unsigned char)(i * 7 + (i >> 8)); /* every byte value, NULs too */
	binary[0] = binary[10] = binary[511] = 0;
	size_t big_len = 64 * 1024;
	unsigned char *big = malloc(big_len);
	assert_non_null(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (unsigned char)((i * 2654435761u) >> 13);

	publish(q, "", 0);
	publish(q, binary, sizeof binary);
	publish(q, big, big_len);
	publish_str(q, "after");
	confirm();
	/* The plugin copied the bodies: scribbling on ours changes nothing. */
	unsigned char binary_copy[sizeof binary];
	memcpy(binary_copy, binary, sizeof binary);
	memset(binary, 0xAA, sizeof binary);

	wait_depth(q, 4, 0);
	struct got g[4];
	recv_exact(q, g, 4);
	assert_body(&g[0], "", 0);
	assert_body(&g[1], binary_copy, sizeof binary_copy);
	assert_body(&g[2], big, big_len);
	assert_body_str(&g[3], "after");
	for (size_t i = 0; i < 4; i++) {
		assert_false(g[i].redelivered);
		ack(q, g[i].tag);
	}
	free_got(g, 4);
	free(big);
	wait_depth(q, 0, 0);
}

static void test_order_1000(void **state)
{
	(void)state;
	QNAME(q, "order");
	declare(q);
	publish_n(q, "m", 0, 1000);
	confirm();
	wait_depth(q, 1000, 0);
	struct got *g = calloc(1000, sizeof *g);
	assert_non_null(g);
	size_t n = recv_batched(q, g, 1000, 64);
	assert_int_equal(n, 1000);
	for (size_t i = 0; i < 1000; i++) {
		assert_body_n(&g[i], "m", i);
		assert_false(g[i].redelivered);
	}
	wait_depth(q, 0, 1000);
	for (size_t i = 0; i < 1000; i++)
		ack(q, g[i].tag);
	free_got(g, 1000);
	free(g);
	wait_depth(q, 0, 0);
}

static void test_ack_removes(void **state)
{
	(void)state;
	QNAME(q, "ack");
	declare(q);
	publish_n(q, "a", 0, 3);
	confirm();
	wait_depth(q, 3, 0);
	struct got g[3];
	recv_exact(q, g, 3);
	wait_depth(q, 0, 3);
	ack(q, g[1].tag);
	wait_depth(q, 0, 2);
	ack(q, g[0].tag);
	ack(q, g[2].tag);
	wait_depth(q, 0, 0);
	/* Acked is gone for good: a second ack fails and recover brings
	 * nothing back. */
	EXPECT_STATUS(DDB_NOT_FOUND, T->ack(G.h, q, g[1].tag, &e_));
	recover(q);
	wait_depth(q, 0, 0);
	expect_nothing(q);
	free_got(g, 3);
}

static void test_reject_requeue(void **state)
{
	(void)state;
	QNAME(q, "requeue");
	declare(q);
	publish_n(q, "r", 0, 3);
	confirm();
	struct got g[3];
	recv_exact(q, g, 1);
	assert_body_n(&g[0], "r", 0);
	assert_false(g[0].redelivered);
	wait_depth(q, 2, 1);
	reject(q, g[0].tag, 1);
	wait_depth(q, 3, 0);
	/* The old tag is settled. */
	EXPECT_STATUS(DDB_NOT_FOUND, T->ack(G.h, q, g[0].tag, &e_));
	uint64_t old_tag = g[0].tag;
	free_got(g, 1);

	recv_exact(q, g, 3);
	assert_body_n(&g[0], "r", 0);
	assert_true(g[0].redelivered);
	assert_true(g[0].tag != old_tag);
	assert_body_n(&g[1], "r", 1);
	assert_false(g[1].redelivered);
	assert_body_n(&g[2], "r", 2);
	assert_false(g[2].redelivered);
	for (size_t i = 0; i < 3; i++)
		ack(q, g[i].tag);
	free_got(g, 3);
	wait_depth(q, 0, 0);
}

/* Requeued messages come back first, in publish order, whatever order they
 * were rejected in; then the rest. */
static void test_reject_requeue_original_order(void **state)
{
	(void)state;
	QNAME(q, "reorder");
	declare(q);
	publish_n(q, "o", 0, 6);
	confirm();
	struct got g[6];
	recv_exact(q, g, 4); /* o0..o3 */
	reject(q, g[3].tag, 1);
	reject(q, g[0].tag, 1);
	reject(q, g[2].tag, 1);
	ack(q, g[1].tag);
	free_got(g, 4);
	wait_depth(q, 5, 0);
	publish_str(q, "late");
	confirm();
	wait_depth(q, 6, 0);

	recv_exact(q, g, 6);
	static const size_t want[] = { 0, 2, 3, 4, 5 };
	for (size_t i = 0; i < 5; i++) {
		assert_body_n(&g[i], "o", want[i]);
		assert_int_equal(!!g[i].redelivered, i < 3);
	}
	assert_body_str(&g[5], "late");
	assert_false(g[5].redelivered);
	for (size_t i = 0; i < 6; i++)
		ack(q, g[i].tag);
	free_got(g, 6);
	wait_depth(q, 0, 0);
}

static void test_reject_drop(void **state)
{
	(void)state;
	QNAME(q, "drop");
	declare(q);
	publish_n(q, "d", 0, 2);
	confirm();
	struct got g[2];
	recv_exact(q, g, 1);
	assert_body_n(&g[0], "d", 0);
	reject(q, g[0].tag, 0);
	wait_depth(q, 1, 0);
	EXPECT_STATUS(DDB_NOT_FOUND, T->reject(G.h, q, g[0].tag, 1, &e_));
	free_got(g, 1);

	recv_exact(q, g, 1);
	assert_body_n(&g[0], "d", 1);
	assert_false(g[0].redelivered);
	ack(q, g[0].tag);
	free_got(g, 1);
	/* A dropped message does not come back, not even on recover. */
	recover(q);
	wait_depth(q, 0, 0);
	expect_nothing(q);
}

/* A consumer takes messages, acks some and dies: recover puts every unacked
 * one back, in publish order, before what was never delivered. */
static void test_recover_after_consumer_death(void **state)
{
	(void)state;
	QNAME(q, "recover");
	declare(q);
	publish_n(q, "c", 0, 12);
	confirm();
	wait_depth(q, 12, 0);
	struct got g[12];
	recv_exact(q, g, 4);     /* c0..c3 */
	recv_exact(q, g + 4, 6); /* c4..c9 */
	for (size_t i = 0; i < 10; i++)
		assert_body_n(&g[i], "c", i);
	ack(q, g[2].tag);
	ack(q, g[7].tag);
	wait_depth(q, 2, 8);
	uint64_t old_tags[10];
	for (size_t i = 0; i < 10; i++)
		old_tags[i] = g[i].tag;
	free_got(g, 10);

	recover(q); /* the consumer died */
	wait_depth(q, 10, 0);
	for (size_t i = 0; i < 10; i++)
		EXPECT_STATUS(DDB_NOT_FOUND, T->ack(G.h, q, old_tags[i], &e_));

	recv_exact(q, g, 10);
	static const size_t want[] = { 0, 1, 3, 4, 5, 6, 8, 9, 10, 11 };
	for (size_t i = 0; i < 10; i++) {
		assert_body_n(&g[i], "c", want[i]);
		assert_int_equal(!!g[i].redelivered, want[i] < 10);
	}
	wait_depth(q, 0, 10);
	for (size_t i = 0; i < 10; i++)
		ack(q, g[i].tag);
	free_got(g, 10);
	wait_depth(q, 0, 0);
	/* Nothing unacked: recover is a no-op. */
	recover(q);
	wait_depth(q, 0, 0);
	expect_nothing(q);
}

static void test_unknown_tag(void **state)
{
	(void)state;
	QNAME(q, "unknown");
	QNAME(other, "unknown-other");
	declare(q);
	declare(other);
	EXPECT_STATUS(DDB_NOT_FOUND, T->ack(G.h, q, UINT64_C(0xdeadbeef00), &e_));
	EXPECT_STATUS(DDB_NOT_FOUND, T->reject(G.h, q, UINT64_C(0xdeadbeef00), 1, &e_));
	EXPECT_STATUS(DDB_NOT_FOUND, T->reject(G.h, q, UINT64_C(0xdeadbeef00), 0, &e_));
	publish_str(q, "one");
	confirm();
	struct got g[1];
	recv_exact(q, g, 1);
	/* A tag of this queue is unknown to another one. */
	EXPECT_STATUS(DDB_NOT_FOUND, T->ack(G.h, other, g[0].tag, &e_));
	EXPECT_STATUS(DDB_NOT_FOUND, T->ack(G.h, q, g[0].tag + 1000, &e_));
	wait_depth(q, 0, 1);
	ack(q, g[0].tag);
	EXPECT_STATUS(DDB_NOT_FOUND, T->ack(G.h, q, g[0].tag, &e_));
	free_got(g, 1);
	wait_depth(q, 0, 0);
}

static void test_depth(void **state)
{
	(void)state;
	QNAME(q, "depth");
	declare(q);
	wait_depth(q, 0, 0);
	/* Both outputs are written. */
	uint64_t r = 99, u = 99;
	CHECK(T->depth(G.h, q, &r, &u, &e_));
	assert_int_equal(r, 0);
	assert_int_equal(u, 0);
	publish_n(q, "p", 0, 5);
	confirm();
	wait_depth(q, 5, 0);
	struct got g[5];
	recv_exact(q, g, 2);
	wait_depth(q, 3, 2);
	reject(q, g[0].tag, 1);
	wait_depth(q, 4, 1);
	reject(q, g[1].tag, 0);
	wait_depth(q, 4, 0);
	free_got(g, 2);
	recv_exact(q, g, 4);
	wait_depth(q, 0, 4);
	for (size_t i = 0; i < 4; i++)
		ack(q, g[i].tag);
	free_got(g, 4);
	wait_depth(q, 0, 0);
}

static void test_queues_independent(void **state)
{
	(void)state;
	QNAME(a, "indep-a");
	QNAME(b, "indep-b");
	declare(a);
	declare(b);
	publish_n(a, "A", 0, 3);
	publish_n(b, "B", 0, 2);
	confirm();
	wait_depth(a, 3, 0);
	wait_depth(b, 2, 0);

	struct got ga[3], gb[2];
	recv_exact(a, ga, 3);
	for (size_t i = 0; i < 3; i++)
		assert_body_n(&ga[i], "A", i);
	wait_depth(a, 0, 3);
	wait_depth(b, 2, 0);
	/* Recover and reject on a touch only a. */
	reject(a, ga[0].tag, 1);
	recover(a);
	wait_depth(a, 3, 0);
	wait_depth(b, 2, 0);
	free_got(ga, 3);

	recv_exact(b, gb, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_body_n(&gb[i], "B", i);
		assert_false(gb[i].redelivered);
	}
	recover(a);
	wait_depth(b, 0, 2);
	for (size_t i = 0; i < 2; i++)
		ack(b, gb[i].tag);
	free_got(gb, 2);
	wait_depth(b, 0, 0);
	expect_nothing(b);

	recv_exact(a, ga, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_body_n(&ga[i], "A", i);
		assert_true(ga[i].redelivered);
		ack(a, ga[i].tag);
	}
	free_got(ga, 3);
	wait_depth(a, 0, 0);
}

static void test_reset_empties(void **state)
{
	(void)state;
	QNAME(a, "reset-a");
	QNAME(b, "reset-b");
	declare(a);
	declare(b);
	publish_n(a, "x", 0, 5);
	publish_n(b, "y", 0, 5);
	confirm();
	struct got g[2];
	recv_exact(a, g, 2);
	wait_depth(a, 3, 2);
	wait_depth(b, 5, 0);

	CHECK(T->reset(G.h, &e_));
	/* Every queue is gone. */
	uint64_t r, u;
	EXPECT_STATUS(DDB_NOT_FOUND, T->depth(G.h, a, &r, &u, &e_));
	EXPECT_STATUS(DDB_NOT_FOUND, T->depth(G.h, b, &r, &u, &e_));
	/* Declared afresh, they are empty, and old tags mean nothing. */
	declare(a);
	declare(b);
	wait_depth(a, 0, 0);
	wait_depth(b, 0, 0);
	expect_nothing(a);
	expect_nothing(b);
	EXPECT_STATUS(DDB_NOT_FOUND, T->ack(G.h, a, g[0].tag, &e_));
	free_got(g, 2);

	/* And they work; tags still increase (recv checks it). */
	publish_str(a, "fresh");
	confirm();
	recv_exact(a, g, 1);
	assert_body_str(&g[0], "fresh");
	assert_false(g[0].redelivered);
	ack(a, g[0].tag);
	free_got(g, 1);
	wait_depth(a, 0, 0);
}

static void test_receive_max_batching(void **state)
{
	(void)state;
	QNAME(q, "batch");
	declare(q);
	/* An empty queue: OK, nothing. */
	expect_nothing(q);
	publish_n(q, "b", 0, 10);
	confirm();
	wait_depth(q, 10, 0);
	/* recv_batched checks that no call returns more than its max. */
	struct got g[10];
	size_t n = recv_batched(q, g, 10, 3);
	assert_int_equal(n, 10);
	for (size_t i = 0; i < 10; i++)
		assert_body_n(&g[i], "b", i);
	for (size_t i = 0; i < 10; i++)
		ack(q, g[i].tag);
	free_got(g, 10);

	/* max 1, one at a time; asking for more than there is returns what
	 * there is. */
	publish_n(q, "b", 10, 13);
	confirm();
	wait_depth(q, 3, 0);
	n = recv_batched(q, g, 1, 1);
	assert_int_equal(n, 1);
	assert_body_n(&g[0], "b", 10);
	struct ddb_delivery d[8];
	size_t m = 0;
	wait_depth(q, 2, 1);
	CHECK(T->receive(G.h, q, d, 8, &m, &e_));
	assert_in_range(m, 0, 2);
	for (size_t i = 0; i < m; i++) {
		assert_true(d[i].tag > G.last_tag);
		G.last_tag = d[i].tag;
		ack(q, d[i].tag);
	}
	size_t rest = recv_n(q, g + 1, 2 - m);
	assert_int_equal(rest, 2 - m);
	for (size_t i = 0; i < 1 + rest; i++)
		ack(q, g[i].tag);
	free_got(g, 1 + rest);
	wait_depth(q, 0, 0);
}

/* The ABI keeps a body valid until its delivery is settled or the next
 * receive on the same queue: receives on another queue leave it alone. */
static void test_body_valid_across_other_queue(void **state)
{
	(void)state;
	QNAME(a, "valid-a");
	QNAME(b, "valid-b");
	declare(a);
	declare(b);
	publish_str(a, "alpha-body");
	publish_str(b, "beta-body");
	confirm();
	wait_depth(a, 1, 0);
	wait_depth(b, 1, 0);
	struct ddb_delivery da[1], db[1];
	assert_int_equal(recv_raw(a, da, 1), 1);
	assert_int_equal(recv_raw(b, db, 1), 1);
	publish_str(b, "gamma");
	confirm();
	assert_int_equal(da[0].len, strlen("alpha-body"));
	assert_memory_equal(da[0].body, "alpha-body", da[0].len);
	assert_int_equal(db[0].len, strlen("beta-body"));
	assert_memory_equal(db[0].body, "beta-body", db[0].len);
	ack(a, da[0].tag);
	ack(b, db[0].tag);
	wait_depth(a, 0, 0);
	wait_depth(b, 1, 0);
}

/* 100,000 messages, published in batches with a consumer taking less than
 * each batch: depth stays right throughout, order holds, nothing is lost or
 * duplicated. */
static void test_many_interleaved(void **state)
{
	(void)state;
	enum { TOTAL = 100000, PUB_BATCH = 1000, CONSUME = 700 };
	QNAME(q, "many");
	declare(q);
	struct got *g = calloc(CONSUME, sizeof *g);
	assert_non_null(g);
	size_t published = 0, consumed = 0, batches = 0;
	char body[48];
	while (consumed < TOTAL) {
		if (published < TOTAL) {
			for (size_t i = 0; i < PUB_BATCH && published < TOTAL; i++, published++) {
				size_t len = body_n(body, sizeof body, "many-message", published);
				publish(q, body, len);
			}
			confirm();
		}
		size_t want = published - consumed < CONSUME ? published - consumed : CONSUME;
		size_t n = recv_batched(q, g, want, 250);
		if (n != want) {
			free_got(g, n);
			free(g);
			fail_msg("after %zu consumed: %zu of %zu deliveries arrived", consumed, n,
			         want);
		}
		for (size_t i = 0; i < n; i++) {
			assert_body_n(&g[i], "many-message", consumed + i);
			assert_false(g[i].redelivered);
			ack(q, g[i].tag);
		}
		free_got(g, n);
		consumed += n;
		if (++batches % 10 == 0 || consumed == TOTAL)
			wait_depth(q, published - consumed, 0);
	}
	free(g);
	assert_int_equal(published, TOTAL);
	wait_depth(q, 0, 0);
	expect_nothing(q);
}

/* Tags increase over the whole instance: across queues, redeliveries and
 * recoveries (recv_batched checks each against the last one seen). */
static void test_tags_unique_increasing(void **state)
{
	(void)state;
	QNAME(a, "tags-a");
	QNAME(b, "tags-b");
	declare(a);
	declare(b);
	publish_n(a, "t", 0, 4);
	publish_n(b, "u", 0, 4);
	confirm();
	struct got ga[4], gb[4];
	for (int round = 0; round < 3; round++) {
		recv_exact(a, ga, 2);
		recv_exact(b, gb, 3);
		reject(a, ga[0].tag, 1);
		reject(a, ga[1].tag, 1);
		recover(b);
		free_got(ga, 2);
		free_got(gb, 3);
	}
	wait_depth(a, 4, 0);
	wait_depth(b, 4, 0);
}

/* ---- which plugin ------------------------------------------------------------ */

static int is_memory(void)
{
	return strcmp(G.plugin->desc->name, "memory") == 0;
}

/* ---- durable transports: several instances share the broker ---------------- */

static int is_durable(void)
{
	return (G.plugin->desc->caps & DDB_TRANSPORT_DURABLE) != 0;
}

/* Another instance of the plugin with the run's options, preceded by
 * key=value when key is given (the first occurrence of a key wins). */
static void *open_extra(const char *key, const char *value, enum ddb_status want,
                        struct ddb_err *e)
{
	struct ddb_option *opts = calloc(G.n_options + 1, sizeof *opts);
	assert_non_null(opts);
	size_t n = 0;
	if (key)
		opts[n++] = (struct ddb_option){ key, value };
	for (size_t i = 0; i < G.n_options; i++)
		opts[n++] = G.options[i];
	struct ddb_open_args args = { "broker", G.data_dir, 0, opts, n, 0 };
	void *h = (void *)&h;
	enum ddb_status st = T->open(&args, &h, e);
	free(opts);
	if (st != want)
		fail_msg("open(%s=%s) -> %s (%s), want %s", key ? key : "-", value ? value : "-",
		         ddb_status_name(st), e->msg, ddb_status_name(want));
	if (st != DDB_OK)
		return NULL;
	return h;
}

/* An instance with the run's options and flags; the memory transport's
 * with keep_queues = yes, so that instances share what closes kept. */
static void *open_flagged(unsigned flags)
{
	struct ddb_option *opts = calloc(G.n_options + 1, sizeof *opts);
	assert_non_null(opts);
	size_t n = 0;
	if (is_memory())
		opts[n++] = (struct ddb_option){ "keep_queues", "yes" };
	for (size_t i = 0; i < G.n_options; i++)
		opts[n++] = G.options[i];
	struct ddb_open_args args = { "broker", G.data_dir, 0, opts, n, flags };
	void *h = NULL;
	struct ddb_err e = { "" };
	enum ddb_status st = T->open(&args, &h, &e);
	free(opts);
	if (st != DDB_OK)
		fail_msg("open(flags %#x) -> %s (%s)", flags, ddb_status_name(st), e.msg);
	return h;
}

/* A file's bytes, for comparing before and after; NULL when it is not there. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0;
	*len = 0;
	for (;;) {
		if (*len == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		size_t got = fread(buf + *len, 1, cap - *len, f);
		*len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	return buf;
}

/* Opened read-only (ddbsim check), an instance observes and changes
 * nothing: it sees what another instance left (in the broker; the memory
 * transport, in DATA_DIR/broker.queues, which it never rewrites), a queue
 * that does not exist reads as empty, a reset is refused, and afterwards
 * everything is as it was (no message delivered, none marked redelivered). */
static void test_readonly_observes(void **state)
{
	(void)state;
	if (!is_memory() && !is_durable())
		skip();
	uint64_t r = 9, u = 9;
	size_t n = 0;
	struct ddb_delivery d[4];
	void *w = open_flagged(0);
	CHECK(T->declare(w, "ro.kept", &e_));
	CHECK(T->publish(w, "ro.kept", "one", 3, &e_));
	CHECK(T->publish(w, "ro.kept", "two", 3, &e_));
	CHECK(T->confirm(w, &e_));
	T->close(w);

	char path[600];
	snprintf(path, sizeof path, "%s/broker.queues", G.data_dir);
	size_t len_before = 0, len_after = 0;
	char *before = is_memory() ? slurp(path, &len_before) : NULL;
	if (is_memory())
		assert_non_null(before);

	void *ro = open_flagged(DDB_OPEN_READONLY);
	CHECK(T->declare(ro, "ro.kept", &e_));
	CHECK(T->depth(ro, "ro.kept", &r, &u, &e_));
	assert_int_equal(r, 2);
	assert_int_equal(u, 0);
	CHECK(T->declare(ro, "ro.never", &e_));
	r = u = 9;
	CHECK(T->depth(ro, "ro.never", &r, &u, &e_));
	assert_int_equal(r, 0);
	assert_int_equal(u, 0);
	struct ddb_err e = { "" };
	assert_true(T->reset(ro, &e) != DDB_OK);
	assert_true(e.msg[0] != '\0');
	T->close(ro);

	if (is_memory()) {
		char *after = slurp(path, &len_after);
		assert_non_null(after);
		assert_int_equal(len_after, len_before);
		assert_memory_equal(after, before, len_before);
		free(after);
	}
	free(before);

	w = open_flagged(0);
	CHECK(T->declare(w, "ro.kept", &e_));
	CHECK(T->depth(w, "ro.kept", &r, &u, &e_));
	assert_int_equal(r, 2);
	CHECK(T->receive(w, "ro.kept", d, 4, &n, &e_));
	assert_int_equal(n, 2);
	assert_int_equal(d[0].redelivered, 0);
	assert_int_equal(d[1].redelivered, 0);
	assert_memory_equal(d[0].body, "one", 3);
	for (size_t i = 0; i < n; i++)
		CHECK(T->ack(w, "ro.kept", d[i].tag, &e_));
	CHECK(T->reset(w, &e_));
	T->close(w);
}

/* What one instance published and confirmed, another one receives: the
 * messages live in the broker, not in the instance (they survive a
 * restart of ddbsim).  A consumer that dies (its instance closes) with
 * deliveries unacked gives them back, marked redelivered and in order. */
static void test_durable_consumer_dies(void **state)
{
	(void)state;
	if (!is_durable())
		skip();
	QNAME(q, "durable");
	declare(q); /* so that the next reset deletes it */
	struct ddb_err e = { "" };
	void *h2 = open_extra(NULL, NULL, DDB_OK, &e);
	CHECK(T->declare(h2, q, &e_));
	CHECK(T->publish(h2, q, "m-0", 3, &e_));
	T->close(h2); /* published, never confirmed: may or may not be there */
	CHECK(T->reset(G.h, &e_));
	declare(q);
	wait_depth(q, 0, 0);

	h2 = open_extra(NULL, NULL, DDB_OK, &e);
	CHECK(T->declare(h2, q, &e_));
	char b[64];
	for (size_t i = 0; i < 5; i++)
		CHECK(T->publish(h2, q, b, body_n(b, sizeof b, "d", i), &e_));
	CHECK(T->confirm(h2, &e_));
	T->close(h2); /* confirmed: held by the broker now */
	wait_depth(q, 5, 0);

	/* A consumer takes three, acks one, and dies. */
	h2 = open_extra(NULL, NULL, DDB_OK, &e);
	CHECK(T->declare(h2, q, &e_));
	struct ddb_delivery d[3];
	size_t have = 0;
	long deadline = now_ms() + G.timeout_ms;
	while (have < 3 && now_ms() <= deadline) {
		size_t n = 0;
		CHECK(T->receive(h2, q, d + have, 3 - have, &n, &e_));
		have += n;
		if (!n)
			nap();
	}
	assert_int_equal(have, 3);
	for (size_t i = 0; i < 3; i++) {
		char want[64];
		size_t len = body_n(want, sizeof want, "d", i);
		assert_int_equal(d[i].len, len);
		assert_memory_equal(d[i].body, want, len);
		assert_false(d[i].redelivered);
	}
	CHECK(T->ack(h2, q, d[0].tag, &e_));
	T->close(h2);

	wait_depth(q, 4, 0);
	struct got g[4];
	recv_exact(q, g, 4);
	static const size_t want[] = { 1, 2, 3, 4 };
	for (size_t i = 0; i < 4; i++) {
		assert_body_n(&g[i], "d", want[i]);
		/* d1 and d2 were handed out: redelivered.  d3 and d4 may have
		 * reached the dead consumer's prefetch buffer without being
		 * handed out: a broker marks them redelivered too. */
		if (want[i] < 3)
			assert_true(g[i].redelivered);
	}
	for (size_t i = 0; i < 4; i++)
		ack(q, g[i].tag);
	free_got(g, 4);
	wait_depth(q, 0, 0);
	expect_nothing(q);
}

/* ---- rabbitmq plugin only ---------------------------------------------------- */

static int is_rabbitmq(void)
{
	return strcmp(G.plugin->desc->name, "rabbitmq") == 0;
}

static void test_rabbitmq_descriptor(void **state)
{
	(void)state;
	if (!is_rabbitmq())
		skip();
	const struct ddb_plugin *d = G.plugin->desc;
	assert_string_equal(d->version, "0.1.0");
	assert_int_equal(d->caps, DDB_TRANSPORT_DURABLE);
}

static void test_rabbitmq_bad_options(void **state)
{
	(void)state;
	if (!is_rabbitmq())
		skip();
	static const struct {
		const char *key, *value;
	} bad[] = {
		{ "prefetch", "0" },        { "prefetch", "65536" },    { "prefetch", "ten" },
		{ "prefetch", "-1" },       { "confirm_window", "0" },  { "confirm_window", "1e3" },
		{ "timeout_ms", "" },       { "timeout_ms", "0" },      { "queue_version", "3" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ddb_err e = { "" };
		assert_null(open_extra(bad[i].key, bad[i].value, DDB_INVALID, &e));
		if (!strstr(e.msg, bad[i].key) || !strstr(e.msg, bad[i].value))
			fail_msg("open(%s=%s): message '%s' names not both", bad[i].key, bad[i].value,
			         e.msg);
	}
	/* A URL that is none, and TLS: refused; the message never repeats
	 * the URL (it may hold a password). */
	static const char *bad_urls[] = { "http://u:secret@h/", "amqp://u:secret@h:99999/",
		                          "amqps://u:secret@h/" };
	for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
		struct ddb_err e = { "" };
		assert_null(open_extra("url", bad_urls[i], DDB_INVALID, &e));
		assert_non_null(strstr(e.msg, "url"));
		assert_null(strstr(e.msg, "secret"));
	}
	/* Nothing listens on port 1: UNAVAILABLE, at once. */
	struct ddb_err e = { "" };
	long t0 = now_ms();
	assert_null(open_extra("url", "amqp://guest:guest@127.0.0.1:1/", DDB_UNAVAILABLE, &e));
	assert_true(now_ms() - t0 < 5000);
	assert_non_null(strstr(e.msg, "127.0.0.1:1"));
	/* Options in range are taken. */
	void *h = open_extra("prefetch", "1", DDB_OK, &e);
	T->close(h);
}

/* prefetch = 1: the broker pushes one message at a time, and everything
 * still works (the local buffer holds at most one). */
static void test_rabbitmq_prefetch_one(void **state)
{
	(void)state;
	if (!is_rabbitmq())
		skip();
	QNAME(q, "prefetch1");
	declare(q);
	struct ddb_err e = { "" };
	void *h = open_extra("prefetch", "1", DDB_OK, &e);
	CHECK(T->declare(h, q, &e_));
	char b[64];
	for (size_t i = 0; i < 20; i++)
		CHECK(T->publish(h, q, b, body_n(b, sizeof b, "p", i), &e_));
	CHECK(T->confirm(h, &e_));
	for (size_t i = 0; i < 20; i++) {
		struct ddb_delivery d[4];
		size_t n = 0;
		long deadline = now_ms() + G.timeout_ms;
		while (n == 0 && now_ms() <= deadline) {
			CHECK(T->receive(h, q, d, 4, &n, &e_));
			if (!n)
				nap();
		}
		assert_int_equal(n, 1);
		char want[64];
		size_t len = body_n(want, sizeof want, "p", i);
		assert_int_equal(d[0].len, len);
		assert_memory_equal(d[0].body, want, len);
		CHECK(T->ack(h, q, d[0].tag, &e_));
	}
	uint64_t r = 1, u = 1;
	CHECK(T->depth(h, q, &r, &u, &e_));
	assert_int_equal(r, 0);
	assert_int_equal(u, 0);
	T->close(h);
}

/* A queue that exists with another x-queue-version (created by an older
 * setup, or by hand) is used as it is: the broker would refuse to declare
 * it with another version. */
static void test_rabbitmq_existing_queue_other_version(void **state)
{
	(void)state;
	if (!is_rabbitmq())
		skip();
	QNAME(q, "version");
	struct ddb_err e = { "" };
	void *h1 = open_extra("queue_version", "1", DDB_OK, &e);
	CHECK(T->declare(h1, q, &e_));
	CHECK(T->publish(h1, q, "v1", 2, &e_));
	CHECK(T->confirm(h1, &e_));
	T->close(h1);
	declare(q); /* version 2 by default: takes the existing queue */
	declare(q);
	wait_depth(q, 1, 0);
	publish_str(q, "v2");
	confirm();
	struct got g[2];
	recv_exact(q, g, 2);
	assert_body_str(&g[0], "v1");
	assert_body_str(&g[1], "v2");
	ack(q, g[0].tag);
	ack(q, g[1].tag);
	free_got(g, 2);
	wait_depth(q, 0, 0);
	/* And the other way round. */
	QNAME(q2, "version2");
	declare(q2);
	h1 = open_extra("queue_version", "0", DDB_OK, &e);
	CHECK(T->declare(h1, q2, &e_));
	uint64_t r = 1, u = 1;
	CHECK(T->depth(h1, q2, &r, &u, &e_));
	assert_int_equal(r, 0);
	T->close(h1);
}

/* Another instance's reset deletes a queue this one uses: the publish
 * comes back from the broker, that confirm fails (the batch is to be
 * published again), and the plugin declares the queue again on a fresh
 * connection, so that the retry goes through. */
static void test_rabbitmq_queue_deleted_behind_our_back(void **state)
{
	(void)state;
	if (!is_rabbitmq())
		skip();
	QNAME(q, "deleted");
	declare(q);
	struct ddb_err e = { "" };
	void *h2 = open_extra(NULL, NULL, DDB_OK, &e);
	CHECK(T->declare(h2, q, &e_));
	CHECK(T->reset(h2, &e_)); /* deletes q on the broker */
	T->close(h2);

	publish_str(q, "lost");
	EXPECT_STATUS(DDB_UNAVAILABLE, T->confirm(G.h, &e_));
	/* Published again until it is confirmed, as the relay does. */
	long deadline = now_ms() + 10 * G.timeout_ms;
	for (;;) {
		struct ddb_err e1 = { "" }, e2 = { "" };
		if (T->publish(G.h, q, "again", 5, &e1) == DDB_OK && T->confirm(G.h, &e2) == DDB_OK)
			break;
		if (now_ms() > deadline)
			fail_msg("publish never went through again: %s / %s", e1.msg, e2.msg);
		nap();
	}
	wait_depth(q, 1, 0);
	struct got g[1];
	recv_exact(q, g, 1);
	assert_body_str(&g[0], "again");
	ack(q, g[0].tag);
	free_got(g, 1);
	wait_depth(q, 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define TEST(f) cmocka_unit_test_setup_teardown(f, test_setup, NULL)
		TEST(test_descriptor),
		TEST(test_declare_idempotent),
		TEST(test_undeclared_queue),
		TEST(test_invalid_arguments),
		TEST(test_confirm_without_publish),
		TEST(test_roundtrip_bodies),
		TEST(test_order_1000),
		TEST(test_ack_removes),
		TEST(test_reject_requeue),
		TEST(test_reject_requeue_original_order),
		TEST(test_reject_drop),
		TEST(test_recover_after_consumer_death),
		TEST(test_unknown_tag),
		TEST(test_depth),
		TEST(test_queues_independent),
		TEST(test_reset_empties),
		TEST(test_receive_max_batching),
		TEST(test_body_valid_across_other_queue),
		TEST(test_many_interleaved),
		TEST(test_tags_unique_increasing),
		TEST(test_durable_consumer_dies),
		TEST(test_readonly_observes),
		TEST(test_rabbitmq_descriptor),
		TEST(test_rabbitmq_bad_options),
		TEST(test_rabbitmq_prefetch_one),
		TEST(test_rabbitmq_existing_queue_other_version),
		TEST(test_rabbitmq_queue_deleted_behind_our_back),
#undef TEST
	};
	int failed = cmocka_run_group_tests_name("transport conformance", tests, group_setup,
	                                         group_teardown);
	return failed ? 1 : 0;
}
