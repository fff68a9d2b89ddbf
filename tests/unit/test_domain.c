/*
 * test_domain.c - the domain flows of the core on the embedded plugins
 * (SQLite stores, memory transport): the event wire format, order
 * validation, the catalog, and an order's way from a region to the center
 * and the documents store, through duplicates, lost messages, poison
 * messages and nodes that go down.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "checks.h"
#include "config_file.h"
#include "customers.h"
#include "fault_steps.h"
#include "histogram.h"
#include "metrics.h"
#include "orders.h"
#include "prng.h"
#include "queued_writes.h"
#include "scenario.h"
#include "state_hash.h"
#include "sync.h"
#include "world.h"
#include "util.h"
#include "wire.h"

/* ---- wire --------------------------------------------------------------- */

static struct ddb_event sample_order_event(void)
{
	struct ddb_event ev;
	memset(&ev, 0, sizeof ev);
	ev.seq = 42;
	strcpy(ev.id, "boston:42");
	strcpy(ev.origin, "boston");
	ev.kind = DDB_EVENT_ORDER;
	ev.created_at_us = 123456;
	strcpy(ev.order.id, "boston-000000000042");
	strcpy(ev.order.region, "boston");
	strcpy(ev.order.customer, "Zoë O'Brien; \"quoted\" 東京");
	strcpy(ev.order.sku, "LAPTOP");
	ev.order.quantity = 3;
	ev.order.unit_price_cents = 99999;
	ev.order.placed_at_us = 123456;
	return ev;
}

static void wire_round_trip(void **state)
{
	(void)state;
	unsigned char buf[WIRE_MAX];
	struct ddb_event in = sample_order_event(), out;
	size_t n = wire_encode(&in, buf, sizeof buf);
	assert_true(n > 0);
	assert_int_equal(wire_decode(buf, n, &out), 0);
	assert_int_equal(out.seq, 42);
	assert_string_equal(out.order.customer, in.order.customer);
	assert_int_equal(out.order.unit_price_cents, 99999);

	struct ddb_event p;
	memset(&p, 0, sizeof p);
	p.kind = DDB_EVENT_PRODUCT;
	strcpy(p.product.sku, "LAPTOP");
	strcpy(p.product.name, "Laptop");
	p.product.version = 2;
	p.product.n_components = 2;
	strcpy(p.product.components[0].sku, "KEYBOARD");
	p.product.components[0].quantity = 1;
	strcpy(p.product.components[1].sku, "WEBCAM");
	p.product.components[1].quantity = 2;
	n = wire_encode(&p, buf, sizeof buf);
	assert_int_equal(wire_decode(buf, n, &out), 0);
	assert_int_equal(out.product.n_components, 2);
	assert_string_equal(out.product.components[1].sku, "WEBCAM");
	assert_int_equal(out.product.components[1].quantity, 2);
}

static void wire_refuses_malformed(void **state)
{
	(void)state;
	unsigned char buf[WIRE_MAX];
	struct ddb_event in = sample_order_event(), out;
	size_t n = wire_encode(&in, buf, sizeof buf);
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(wire_decode(buf, cut, &out), -1);
	unsigned char bad[WIRE_MAX];
	memcpy(bad, buf, n);
	bad[0] = 'X';
	assert_int_equal(wire_decode(bad, n, &out), -1);
	memcpy(bad, buf, n);
	bad[n] = 0;
	assert_int_equal(wire_decode(bad, n + 1, &out), -1); /* trailing byte */
	assert_int_equal(wire_encode(&in, buf, 10), 0);     /* does not fit */
}

/* ---- validation and catalog --------------------------------------------- */

static struct scenario_info two_products(struct ddb_product p[2])
{
	memset(p, 0, 2 * sizeof *p);
	strcpy(p[0].sku, "MOUSE");
	strcpy(p[0].name, "Mouse");
	p[0].price_cents = 2500;
	p[0].version = 1;
	strcpy(p[1].sku, "LAPTOP");
	strcpy(p[1].name, "Laptop");
	p[1].price_cents = 99999;
	p[1].version = 1;
	p[1].n_components = 1;
	strcpy(p[1].components[0].sku, "MOUSE");
	p[1].components[0].quantity = 1;
	struct scenario_info si;
	memset(&si, 0, sizeof si);
	si.n_products = 2;
	si.products = p;
	return si;
}

static void order_validation(void **state)
{
	(void)state;
	struct ddb_product p[2];
	struct scenario_info si = two_products(p);
	struct catalog cat;
	char err[256];
	assert_int_equal(catalog_build(&cat, &si, err, sizeof err), 0);
	struct ddb_order o;
	memset(&o, 0, sizeof o);
	strcpy(o.sku, "MOUSE");
	o.quantity = 1;
	o.unit_price_cents = 2500;
	assert_null(orders_validate(&cat, &o));
	o.quantity = 0;
	assert_string_equal(orders_validate(&cat, &o), "invalid_quantity");
	o.quantity = -5;
	assert_string_equal(orders_validate(&cat, &o), "invalid_quantity");
	o.quantity = INT64_MAX;
	assert_string_equal(orders_validate(&cat, &o), "invalid_quantity");
	o.quantity = 1000000000;
	o.unit_price_cents = INT64_MAX / 10;
	assert_string_equal(orders_validate(&cat, &o), "invalid_quantity"); /* overflow */
	o.quantity = 1;
	o.unit_price_cents = -1;
	assert_string_equal(orders_validate(&cat, &o), "invalid_price");
	strcpy(o.sku, "NOPE");
	assert_string_equal(orders_validate(&cat, &o), "unknown_sku");
	catalog_free(&cat);
}

/* serve adds products while it runs: the catalog stays sorted, a new
 * version replaces the old one. */
static void catalog_put_keeps_the_order(void **state)
{
	(void)state;
	struct ddb_product p[2];
	struct scenario_info si = two_products(p);
	struct catalog cat;
	char err[256];
	assert_int_equal(catalog_build(&cat, &si, err, sizeof err), 0);
	static const char *const skus[] = { "ZEBRA", "AAA", "MOUSE", "KIT" };
	for (size_t i = 0; i < sizeof skus / sizeof skus[0]; i++) {
		struct ddb_product q = p[0];
		strcpy(q.sku, skus[i]);
		q.version = 2;
		q.price_cents = (int64_t)i;
		assert_int_equal(catalog_put(&cat, &q), 0);
	}
	assert_int_equal(cat.n, 5); /* MOUSE replaced, four new */
	for (size_t i = 1; i < cat.n; i++)
		assert_true(strcmp(cat.products[i - 1].sku, cat.products[i].sku) < 0);
	const struct ddb_product *m = catalog_find(&cat, "MOUSE");
	assert_non_null(m);
	assert_int_equal(m->version, 2);
	assert_int_equal(m->price_cents, 2);
	assert_non_null(catalog_find(&cat, "AAA"));
	assert_non_null(catalog_find(&cat, "ZEBRA"));
	assert_non_null(catalog_find(&cat, "LAPTOP"));
	catalog_free(&cat);
}

static void catalog_errors(void **state)
{
	(void)state;
	struct ddb_product p[2];
	struct scenario_info si = two_products(p);
	struct catalog cat;
	char err[256];
	strcpy(p[1].components[0].sku, "GHOST");
	assert_int_equal(catalog_build(&cat, &si, err, sizeof err), -1);
	assert_non_null(strstr(err, "LAPTOP: component 'GHOST' is not a product"));
	catalog_free(&cat);

	strcpy(p[1].components[0].sku, "LAPTOP");
	assert_int_equal(catalog_build(&cat, &si, err, sizeof err), -1);
	assert_non_null(strstr(err, "its own component"));
	catalog_free(&cat);

	strcpy(p[1].components[0].sku, "MOUSE");
	strcpy(p[1].sku, "MOUSE");
	assert_int_equal(catalog_build(&cat, &si, err, sizeof err), -1);
	assert_non_null(strstr(err, "appears twice"));
	catalog_free(&cat);
}

static void histogram_percentiles(void **state)
{
	(void)state;
	struct histogram h;
	hist_init(&h);
	assert_int_equal(hist_percentile(&h, 0.5), 0);
	for (int i = 1; i <= 10000; i++)
		hist_add(&h, i);
	int64_t p50 = hist_percentile(&h, 0.5), p99 = hist_percentile(&h, 0.99);
	assert_true(p50 >= 5000 && p50 <= 5000 * 1.04);
	assert_true(p99 >= 9900 && p99 <= 10000);
	assert_int_equal(hist_percentile(&h, 1.0), 10000);
	assert_int_equal(h.min, 1);
}

/* hist_count_at_most: never counts a sample above the bound, grows with
 * it, misses at most the samples of the bound's own bucket (3%), and gives
 * the count at the largest value. */
static void histogram_count_at_most(void **state)
{
	(void)state;
	struct histogram h;
	hist_init(&h);
	assert_int_equal(hist_count_at_most(&h, 1000), 0);
	for (int i = 0; i < 10000; i++)
		hist_add(&h, i);
	uint64_t last = 0;
	for (int64_t v = 0; v < 12000; v += 7) {
		uint64_t n = hist_count_at_most(&h, v);
		uint64_t exact = v >= 9999 ? 10000 : (uint64_t)v + 1;
		assert_true(n <= exact);
		assert_true(n >= last);
		assert_true((double)n >= (double)exact * 0.96 - 1);
		last = n;
	}
	assert_int_equal(hist_count_at_most(&h, 9999), 10000);
	assert_int_equal(hist_count_at_most(&h, 31), 32); /* exact below 32 */
	assert_int_equal(hist_count_at_most(&h, -1), 0);
}

/* hist_subtract: what was added between two copies, and its percentiles
 * those of the later samples alone. */
static void histogram_subtract(void **state)
{
	(void)state;
	static struct histogram then, now, since;
	hist_init(&now);
	for (int i = 0; i < 1000; i++)
		hist_add(&now, 10);
	then = now;
	for (int i = 0; i < 100; i++)
		hist_add(&now, 5000);
	hist_subtract(&since, &now, &then);
	assert_int_equal(since.count, 100);
	assert_true(hist_percentile(&since, 0.5) >= 4850 && hist_percentile(&since, 0.5) <= 5000);
	assert_true(hist_percentile(&now, 0.5) <= 10);
	assert_true(since.sum == 100 * 5000.0);
	hist_subtract(&since, &now, &now);
	assert_int_equal(since.count, 0);
	assert_int_equal(hist_percentile(&since, 0.99), 0);
}

/* More distinct reasons than slots: the last slot counts the rest as
 * "other", and the breakdown still adds up to the rejections. */
static void reasons_beyond_the_table(void **state)
{
	(void)state;
	static struct metrics m;
	metrics_init(&m);
	char reason[32];
	for (int i = 0; i < METRICS_REASONS + 6; i++) {
		snprintf(reason, sizeof reason, "rule:r%d", i);
		metrics_reject(&m, reason);
	}
	assert_int_equal(m.n_reasons, METRICS_REASONS);
	uint64_t sum = 0;
	for (size_t i = 0; i < m.n_reasons; i++)
		sum += m.reasons[i].n;
	assert_int_equal(sum, m.orders_rejected);
	assert_string_equal(m.reasons[METRICS_REASONS - 1].reason, "other");
	assert_int_equal(m.reasons[METRICS_REASONS - 1].n, 7);
}

/* ---- flows on real plugins ------------------------------------------------ */

struct fixture {
	char dir[64];
	struct config cfg;
	struct world w;
	struct metrics m;
	struct sync sync;
	struct catalog cat;
	struct ddb_product products[2];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/ddbsim-domain-XXXXXX");
	if (!f || !mkdtemp(f->dir))
		return -1;
	char regions[2][DDB_NAME_MAX] = { "alpha", "beta" };
	char err[1024];
	f->cfg.path = (char *)"(test)";
	if (world_open(&f->w, &f->cfg, f->dir, regions, 2, err, sizeof err) != 0) {
		fprintf(stderr, "world_open: %s\n", err);
		return -1;
	}
	struct scenario_info si = two_products(f->products);
	int64_t stock[4] = { 10, 5, 10, 5 };
	char names[2][DDB_NAME_MAX] = { "alpha", "beta" };
	si.n_regions = 2;
	si.regions = names;
	si.stock = stock;
	metrics_init(&f->m);
	if (world_reset(&f->w, err, sizeof err) != 0 ||
	    catalog_build(&f->cat, &si, err, sizeof err) != 0 ||
	    catalog_install(&f->w, &si, 0, err, sizeof err) != 0 ||
	    sync_init(&f->sync, &f->w, &f->m) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	f->sync.quiet = 1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	sync_free(&f->sync);
	catalog_free(&f->cat);
	world_close(&f->w);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	free(f);
	return 0;
}

static struct ddb_order make_order(const char *region, int seq, const char *sku, int64_t qty)
{
	struct ddb_order o;
	memset(&o, 0, sizeof o);
	snprintf(o.id, sizeof o.id, "%s-%012d", region, seq);
	strcpy(o.region, region);
	strcpy(o.customer, "Zoë O'Brien; DROP TABLE orders;--");
	strcpy(o.sku, sku);
	o.quantity = qty;
	o.unit_price_cents = strcmp(sku, "MOUSE") == 0 ? 2500 : 99999;
	o.placed_at_us = seq * 1000;
	return o;
}

static void place(struct fixture *f, size_t r, const struct ddb_order *o, size_t n,
                  enum ddb_status *results, enum ddb_status want)
{
	struct ddb_err e = { "" };
	assert_int_equal(store_place_orders(&f->w.regions[r], o, n, results, &e), want);
}

/* Runs the relay and appliers until nothing moves. */
static void sync_all(struct fixture *f, int64_t now)
{
	for (int round = 0; round < 20; round++) {
		int more;
		size_t moved = sync_round(&f->sync, now, &more);
		sync_flush_marks(&f->sync);
		if (moved == 0)
			return;
	}
}

/* Runs the built-in checks; returns how many failed and prints them. */
static int failed_checks(struct fixture *f)
{
	struct check_list l = { 0 };
	cJSON *facts = NULL;
	char err[512];
	int failed = checks_run(&f->w, &f->sync, NULL, NULL, NULL, &l, &facts, err, sizeof err);
	assert_true(failed >= 0);
	for (size_t i = 0; i < l.n; i++)
		if (!l.v[i].ok)
			fprintf(stderr, "  check %s: %s\n", l.v[i].name, l.v[i].detail);
	check_list_free(&l);
	cJSON_Delete(facts);
	return failed;
}

static int64_t count_rows(struct store *s, int dataset)
{
	void *cur;
	struct ddb_err e = { "" };
	struct ddb_row row;
	int64_t n = 0;
	assert_int_equal(s->ops->scan_open(s->h, dataset, NULL, &cur, &e), DDB_OK);
	while (s->ops->scan_next(cur, &row, &e) == DDB_OK)
		n++;
	s->ops->scan_close(cur);
	return n;
}

static void order_reaches_center_and_documents(void **state)
{
	struct fixture *f = *state;
	struct ddb_order o[4] = { make_order("alpha", 1, "MOUSE", 2), make_order("alpha", 2, "LAPTOP", 6),
		                  make_order("alpha", 3, "LAPTOP", 5), make_order("alpha", 4, "MOUSE", 8) };
	enum ddb_status res[4];
	place(f, 0, o, 4, res, DDB_OK);
	assert_int_equal(res[0], DDB_OK);
	assert_int_equal(res[1], DDB_INSUFFICIENT); /* 5 laptops in stock */
	assert_int_equal(res[2], DDB_OK);
	assert_int_equal(res[3], DDB_OK);
	/* Not yet at the center, in the logs, or marked: five checks say so. */
	assert_int_equal(failed_checks(f), 5);
	sync_all(f, 5000);
	assert_int_equal(failed_checks(f), 0);
	assert_int_equal(count_rows(&f->w.central, DDB_DS_CENTRAL_ORDERS), 3);
	assert_int_equal(count_rows(&f->w.documents, DDB_DS_ORDER_LOGS), 3);
	assert_int_equal(count_rows(&f->w.documents, DDB_DS_COMPONENTS), 2);
	assert_int_equal(f->m.poison_messages, 0);
}

static void duplicate_delivery_changes_nothing(void **state)
{
	struct fixture *f = *state;
	struct ddb_order o = make_order("beta", 1, "MOUSE", 1);
	enum ddb_status res;
	place(f, 1, &o, 1, &res, DDB_OK);
	sync_all(f, 1000);
	assert_int_equal(failed_checks(f), 0);
	uint64_t before, after;
	char err[256];
	assert_int_equal(state_hash(&f->w, &before, err, sizeof err), 0);

	/* The same event again, twice, as a broker may deliver it. */
	struct ddb_event ev;
	size_t n;
	struct ddb_err e = { "" };
	struct store *beta = &f->w.regions[1];
	assert_int_equal(beta->ops->outbox_read(beta->h, 0, DDB_OUTBOX_APPLIED, &ev, 1, &n, &e), DDB_OK);
	assert_int_equal(n, 1);
	unsigned char buf[WIRE_MAX];
	size_t len = wire_encode(&ev, buf, sizeof buf);
	for (int i = 0; i < 2; i++)
		assert_int_equal(bus_publish(&f->w.bus, QUEUE_CENTRAL, buf, len, &e), DDB_OK);
	assert_int_equal(bus_confirm(&f->w.bus, 0, &e), DDB_OK);
	sync_all(f, 9999999);
	assert_int_equal(state_hash(&f->w, &after, err, sizeof err), 0);
	assert_true(before == after);
	assert_int_equal(failed_checks(f), 0);
}

/* The transport loses what it held (a non-durable broker when ddbsim is
 * killed): drop every queue and declare them again. */
static void lose_all_messages(struct fixture *f)
{
	struct ddb_err e = { "" };
	assert_int_equal(f->w.bus.ops->reset(f->w.bus.h, &e), DDB_OK);
	assert_int_equal(f->w.bus.ops->declare(f->w.bus.h, QUEUE_CENTRAL, &e), DDB_OK);
	assert_int_equal(f->w.bus.ops->declare(f->w.bus.h, QUEUE_DOCUMENTS, &e), DDB_OK);
	for (size_t r = 0; r < f->w.n_regions; r++) {
		char q[DDB_ID_MAX];
		world_node_queue(f->w.regions[r].node, q, sizeof q);
		assert_int_equal(f->w.bus.ops->declare(f->w.bus.h, q, &e), DDB_OK);
	}
}

static void lost_messages_are_published_again(void **state)
{
	struct fixture *f = *state;
	struct ddb_order o[2] = { make_order("alpha", 1, "MOUSE", 1), make_order("beta", 1, "MOUSE", 1) };
	enum ddb_status res;
	place(f, 0, &o[0], 1, &res, DDB_OK);
	place(f, 1, &o[1], 1, &res, DDB_OK);
	/* Published and confirmed (2 products and 1 order per region)... */
	assert_int_equal(sync_relay(&f->sync, 0), 3);
	assert_int_equal(sync_relay(&f->sync, 1), 3);
	sync_settle(&f->sync);
	assert_int_equal(f->m.events_relayed, 6);
	/* ...then lost before the center saw them. */
	lose_all_messages(f);
	sync_all(f, 1000);
	assert_int_equal(count_rows(&f->w.central, DDB_DS_CENTRAL_ORDERS), 0);
	struct sync_backlog b;
	assert_int_equal(sync_pending(&f->sync, &b), 1);
	assert_true(b.outbox_published > 0);
	/* A restart publishes every unapplied event again. */
	sync_restart_relay(&f->sync);
	sync_all(f, 2000);
	assert_int_equal(count_rows(&f->w.central, DDB_DS_CENTRAL_ORDERS), 2);
	assert_int_equal(failed_checks(f), 0);

	/* Lost between the center and the documents store: the center has
	 * it, the logs do not, the outbox says PUBLISHED; a requeue repairs it
	 * without doubling anything at the center. */
	struct ddb_order o3 = make_order("alpha", 2, "LAPTOP", 1);
	place(f, 0, &o3, 1, &res, DDB_OK);
	assert_int_equal(sync_relay(&f->sync, 0), 1);
	sync_settle(&f->sync);
	assert_int_equal(sync_apply_central(&f->sync, 3000), 1);
	sync_settle(&f->sync);
	lose_all_messages(f);
	assert_int_equal(count_rows(&f->w.documents, DDB_DS_ORDER_LOGS), 2);
	sync_restart_relay(&f->sync);
	sync_all(f, 4000);
	assert_int_equal(count_rows(&f->w.central, DDB_DS_CENTRAL_ORDERS), 3);
	assert_int_equal(count_rows(&f->w.documents, DDB_DS_ORDER_LOGS), 3);
	assert_int_equal(failed_checks(f), 0);
}

static void poison_message_is_dropped(void **state)
{
	struct fixture *f = *state;
	struct ddb_err e = { "" };
	assert_int_equal(bus_publish(&f->w.bus, QUEUE_CENTRAL, "garbage", 7, &e), DDB_OK);
	sync_all(f, 1000);
	assert_int_equal(f->m.poison_messages, 1);
	assert_int_equal(failed_checks(f), 0);
}

static void region_down_refuses_orders_and_keeps_marks(void **state)
{
	struct fixture *f = *state;
	struct ddb_order o = make_order("alpha", 1, "MOUSE", 1);
	enum ddb_status res;
	place(f, 0, &o, 1, &res, DDB_OK);
	assert_int_equal(sync_relay(&f->sync, 0), 3);
	sync_settle(&f->sync);
	node_set_state(f->w.regions[0].node, NODE_DOWN, 0);
	struct ddb_order o2 = make_order("alpha", 2, "MOUSE", 1);
	place(f, 0, &o2, 1, &res, DDB_UNAVAILABLE);
	sync_all(f, 1000);
	/* Applied at the center, but alpha cannot be told yet. */
	assert_int_equal(count_rows(&f->w.central, DDB_DS_CENTRAL_ORDERS), 1);
	struct sync_backlog b;
	assert_int_equal(sync_pending(&f->sync, &b), 1);
	assert_int_equal(b.marks, 3);
	node_set_state(f->w.regions[0].node, NODE_UP, 0);
	sync_all(f, 2000);
	assert_int_equal(sync_pending(&f->sync, &b), 0);
	assert_int_equal(failed_checks(f), 0);
}

static void center_down_keeps_events_queued(void **state)
{
	struct fixture *f = *state;
	node_set_state(f->w.central.node, NODE_DOWN, 0);
	struct ddb_order o = make_order("beta", 1, "LAPTOP", 2);
	enum ddb_status res;
	place(f, 1, &o, 1, &res, DDB_OK);
	sync_all(f, 1000);
	assert_int_equal(count_rows(&f->w.central, DDB_DS_CENTRAL_ORDERS), 0);
	uint64_t ready, unacked;
	struct ddb_err e = { "" };
	assert_int_equal(f->w.bus.ops->depth(f->w.bus.h, QUEUE_CENTRAL, &ready, &unacked, &e), DDB_OK);
	assert_int_equal(ready + unacked, 5); /* 2 products from each region, 1 order */
	node_set_state(f->w.central.node, NODE_UP, 0);
	sync_all(f, 2000000); /* past the applier's back-off */
	assert_int_equal(count_rows(&f->w.central, DDB_DS_CENTRAL_ORDERS), 1);
	assert_int_equal(failed_checks(f), 0);
}

static void broker_down_keeps_events_in_outbox(void **state)
{
	struct fixture *f = *state;
	node_set_state(f->w.bus.node, NODE_DOWN, 0);
	struct ddb_order o = make_order("alpha", 1, "MOUSE", 4);
	enum ddb_status res;
	place(f, 0, &o, 1, &res, DDB_OK);
	sync_all(f, 1000);
	assert_true(f->m.unavailable_calls > 0);
	struct sync_backlog b;
	node_set_state(f->w.bus.node, NODE_UP, 0);
	assert_int_equal(sync_pending(&f->sync, &b), 1);
	assert_true(b.outbox_new > 0);
	sync_all(f, 2000);
	assert_int_equal(failed_checks(f), 0);
}

/* ---- confirms ----------------------------------------------------------- */

/* The memory transport, with a confirm that counts its calls and answers
 * what the test says. */
static struct ddb_transport_ops counted_ops;
static const struct ddb_transport_ops *real_ops;
static int confirm_calls;
static enum ddb_status next_confirm = DDB_OK;

static enum ddb_status counted_confirm(void *h, struct ddb_err *err)
{
	confirm_calls++;
	enum ddb_status st = real_ops->confirm(h, err);
	if (st == DDB_OK && next_confirm != DDB_OK) {
		snprintf(err->msg, sizeof err->msg, "test: the broker nacked");
		st = next_confirm;
		next_confirm = DDB_OK;
	}
	return st;
}

static void count_confirms(struct fixture *f)
{
	real_ops = f->w.bus.ops;
	counted_ops = *real_ops;
	counted_ops.confirm = counted_confirm;
	f->w.bus.ops = &counted_ops;
	confirm_calls = 0;
	next_confirm = DDB_OK;
}

static void publish_one(struct fixture *f)
{
	struct ddb_err e = { "" };
	assert_int_equal(bus_publish(&f->w.bus, QUEUE_DOCUMENTS, "x", 1, &e), DDB_OK);
}

/* One confirm of the plugin answers for every publish before it, whoever
 * asks; a failure answers every span that began before it, and only those. */
static void a_confirm_answers_every_publisher(void **state)
{
	struct fixture *f = *state;
	struct ddb_err e = { "" };
	count_confirms(f);
	uint64_t a = bus_published(&f->w.bus);
	publish_one(f);
	uint64_t b = bus_published(&f->w.bus);
	publish_one(f);
	assert_int_equal(bus_published(&f->w.bus), a + 2);
	assert_int_equal(bus_confirm(&f->w.bus, b, &e), DDB_OK);
	assert_int_equal(confirm_calls, 1);
	assert_int_equal(bus_confirm(&f->w.bus, a, &e), DDB_OK); /* answered already */
	assert_int_equal(confirm_calls, 1);

	uint64_t c = bus_published(&f->w.bus);
	publish_one(f);
	next_confirm = DDB_UNAVAILABLE;
	assert_int_equal(bus_confirm(&f->w.bus, c, &e), DDB_UNAVAILABLE);
	assert_non_null(strstr(e.msg, "nacked"));
	assert_int_equal(confirm_calls, 2);
	/* Another publisher whose span the failed confirm covered hears it
	 * too, without a new confirm; a span after it does not. */
	assert_int_equal(bus_confirm(&f->w.bus, c, &e), DDB_UNAVAILABLE);
	assert_int_equal(confirm_calls, 2);
	uint64_t d = bus_published(&f->w.bus);
	publish_one(f);
	assert_int_equal(bus_confirm(&f->w.bus, d, &e), DDB_OK);
	assert_int_equal(confirm_calls, 3);

	/* The broker down: nobody is answered, the plugin is not asked. */
	node_set_state(f->w.bus.node, NODE_DOWN, 0);
	assert_int_equal(bus_confirm(&f->w.bus, d, &e), DDB_UNAVAILABLE);
	assert_int_equal(confirm_calls, 3);
	node_set_state(f->w.bus.node, NODE_UP, 0);
	f->w.bus.ops = real_ops;
}

/* Releasing delayed messages confirms through the bus too: a failure of
 * that confirm reaches the publisher whose messages were in flight with
 * them, instead of being answered OK by a second, empty confirm. */
static void a_release_does_not_swallow_a_failure(void **state)
{
	struct fixture *f = *state;
	struct ddb_err e = { "" };
	struct prng rng;
	prng_seed(&rng, 1);
	count_confirms(f);
	f->w.faults.rng = &rng;
	uint64_t after = bus_published(&f->w.bus);
	publish_one(f);
	f->w.faults.p_delay = 1.0; /* the next publish is held back */
	publish_one(f);
	f->w.faults.p_delay = 0;
	assert_int_equal(f->w.faults.n_delayed, 1);
	next_confirm = DDB_UNAVAILABLE;
	assert_int_equal(faults_release(&f->w.faults, &f->w.bus, 1), 1);
	assert_int_equal(confirm_calls, 1);
	assert_int_equal(bus_confirm(&f->w.bus, after, &e), DDB_UNAVAILABLE);
	assert_int_equal(confirm_calls, 1);
	f->w.faults.rng = NULL;
	f->w.bus.ops = real_ops;
}

/* A round leaves its publishes in flight and the next one waits for the
 * broker once, for the relay and the central applier together; when that
 * confirm fails, the relay's events are not marked PUBLISHED and the
 * central deliveries go back to the queue, and the next rounds deliver
 * every order exactly once. */
static void a_failed_confirm_loses_nothing(void **state)
{
	struct fixture *f = *state;
	struct ddb_order o[2] = { make_order("alpha", 1, "MOUSE", 1), make_order("beta", 1, "MOUSE", 1) };
	enum ddb_status res;
	place(f, 0, &o[0], 1, &res, DDB_OK);
	place(f, 1, &o[1], 1, &res, DDB_OK);
	count_confirms(f);
	int more;
	/* 2 x (2 products + 1 order), relayed and, as the memory transport
	 * delivers at once, applied at the center and forwarded: in flight. */
	assert_true(sync_round(&f->sync, 1000, &more) >= 6);
	assert_int_equal(confirm_calls, 0);
	struct sync_backlog b;
	assert_int_equal(sync_pending(&f->sync, &b), 1);
	assert_true(b.in_flight >= 6);
	next_confirm = DDB_UNAVAILABLE;
	sync_settle(&f->sync);
	assert_int_equal(confirm_calls, 1); /* one wait for all of it */
	assert_int_equal(f->m.events_relayed, 0);
	assert_int_equal(f->m.events_applied_central, 0);
	assert_int_equal(sync_pending(&f->sync, &b), 1);
	assert_int_equal(b.in_flight, 0);
	assert_true(b.central_queue >= 6); /* given back */
	sync_all(f, 2000);
	assert_true(f->m.events_applied_central >= 6);
	assert_int_equal(count_rows(&f->w.central, DDB_DS_CENTRAL_ORDERS), 2);
	assert_int_equal(count_rows(&f->w.documents, DDB_DS_ORDER_LOGS), 2);
	assert_int_equal(failed_checks(f), 0);
	f->w.bus.ops = real_ops;
}

/* The broker goes down while a round's publishes are in flight: nothing is
 * confirmed, the central applier can neither ack nor give back what it
 * holds, and once the broker is back it gets those deliveries again. */
static void broker_down_with_publishes_in_flight(void **state)
{
	struct fixture *f = *state;
	struct ddb_order o = make_order("alpha", 1, "MOUSE", 2);
	enum ddb_status res;
	place(f, 0, &o, 1, &res, DDB_OK);
	int more;
	assert_true(sync_round(&f->sync, 1000, &more) > 0);
	struct sync_backlog b;
	sync_pending(&f->sync, &b);
	assert_true(b.in_flight > 0);
	node_set_state(f->w.bus.node, NODE_DOWN, 0);
	sync_round(&f->sync, 2000, &more);
	assert_int_equal(f->m.events_applied_central, 0);
	node_set_state(f->w.bus.node, NODE_UP, 0);
	sync_all(f, 3000);
	assert_int_equal(sync_pending(&f->sync, &b), 0);
	assert_int_equal(count_rows(&f->w.central, DDB_DS_CENTRAL_ORDERS), 1);
	assert_int_equal(failed_checks(f), 0);
}

/* ---- customer records: replay ------------------------------------------ */

static struct ddb_customer customer(const char *id, int64_t version, const char *home)
{
	struct ddb_customer c;
	memset(&c, 0, sizeof c);
	snprintf(c.id, sizeof c.id, "%s", id);
	snprintf(c.unique_id, sizeof c.unique_id, "u-%s", id);
	c.zip_prefix = 12345;
	snprintf(c.city, sizeof c.city, "Zoë's Town; \"quoted\"");
	snprintf(c.state, sizeof c.state, "MA");
	snprintf(c.name, sizeof c.name, "%s v%lld", id, (long long)version);
	snprintf(c.home, sizeof c.home, "%s", home);
	c.version = version;
	c.deleted = version == 4;
	c.updated_at_us = version * 1000;
	return c;
}

static void queue_for(struct fixture *f, size_t r, const struct ddb_customer *c)
{
	char q[DDB_ID_MAX];
	unsigned char buf[WIRE_MAX];
	struct ddb_err e = { "" };
	world_node_queue(f->w.regions[r].node, q, sizeof q);
	size_t len = wire_encode_customer(c, buf, sizeof buf);
	assert_true(len > 0);
	assert_int_equal(bus_publish(&f->w.bus, q, buf, len, &e), DDB_OK);
	assert_int_equal(bus_confirm(&f->w.bus, 0, &e), DDB_OK);
}

/* The same queue replayed twice leaves the same state, whatever the order
 * of the versions in it; a replay never resurrects a deleted record. */
static void replay_is_idempotent(void **state)
{
	struct fixture *f = *state;
	struct customers cs;
	assert_int_equal(customers_init(&cs, &f->w, NULL, &f->m), 0);
	const struct ddb_customer writes[] = {
		customer("c1", 1, "alpha"), customer("c1", 3, "alpha"), customer("c1", 2, "alpha"),
		customer("c2", 1, "alpha"), customer("c2", 4, "alpha"), customer("c2", 2, "alpha"),
		customer("c3", 1, "beta"),
	};
	for (size_t i = 0; i < ARRAY_LEN(writes); i++)
		queue_for(f, 0, &writes[i]);
	while (customers_replay(&cs, 0, 1000) > 0)
		;
	uint64_t once, twice, queued, held;
	char err[256];
	assert_int_equal(customers_pending(&cs, &queued, &held), 0);
	assert_int_equal(state_hash(&f->w, &once, err, sizeof err), 0);
	struct ddb_customer got;
	struct ddb_err e = { "" };
	struct store *alpha = &f->w.regions[0];
	assert_int_equal(alpha->ops->get_customer(alpha->h, "c1", &got, &e), DDB_OK);
	assert_int_equal(got.version, 3);
	assert_string_equal(got.city, "Zoë's Town; \"quoted\"");
	assert_int_equal(alpha->ops->get_customer(alpha->h, "c2", &got, &e), DDB_OK);
	assert_int_equal(got.deleted, 1); /* version 2 came later and lost */

	for (size_t i = ARRAY_LEN(writes); i-- > 0;) /* again, reversed */
		queue_for(f, 0, &writes[i]);
	while (customers_replay(&cs, 0, 2000) > 0)
		;
	assert_int_equal(state_hash(&f->w, &twice, err, sizeof err), 0);
	assert_true(once == twice);
	assert_int_equal(f->m.customers.replayed, 2 * ARRAY_LEN(writes));
	assert_true(f->m.customers.replay_stale >= ARRAY_LEN(writes));
	customers_free(&cs);
}

/* A replay waits while its node is down and runs once it is back. */
static void replay_waits_for_the_node(void **state)
{
	struct fixture *f = *state;
	struct customers cs;
	assert_int_equal(customers_init(&cs, &f->w, NULL, &f->m), 0);
	struct ddb_customer c = customer("c9", 1, "beta");
	queue_for(f, 1, &c);
	node_set_state(f->w.regions[1].node, NODE_DOWN, 0);
	assert_int_equal(customers_replay(&cs, 1, 1000), 0);
	uint64_t queued, held;
	assert_int_equal(customers_pending(&cs, &queued, &held), 1);
	assert_int_equal(queued, 1);
	node_set_state(f->w.regions[1].node, NODE_UP, 2000);
	customers_node_changed(&cs, 1, 1, 2000);
	assert_int_equal(customers_replay(&cs, 1, 3000), 1);
	assert_int_equal(customers_replay(&cs, 1, 4000), 0);
	assert_int_equal(customers_pending(&cs, &queued, &held), 0);
	assert_int_equal(f->m.customers.n_conv, 1);
	assert_int_equal(f->m.customers.conv[0].converged_at_us, 4000);
	customers_free(&cs);
}

static void count_row_for_test(void *ctx, size_t home, size_t served_by,
                               const struct ddb_customer *c)
{
	(void)home, (void)served_by, (void)c;
	(*(size_t *)ctx)++;
}

/* Customer records through the rules (home by zip, the copy on the other
 * region): a create says what became of each copy, a read which copy
 * answered, a search how each region was read, down regions included. */
static void create_get_search_tell_the_outcome(void **state)
{
	struct fixture *f = *state;
	char path[128], err[512];
	snprintf(path, sizeof path, "%s/cust.lua", f->dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("return {\n"
	      "  regions = { 'alpha', 'beta' },\n"
	      "  catalog = { { sku = 'A', price = 1, stock = 1 } },\n"
	      "  workload = { rate = 0, order = function() return { sku = 'A' } end,\n"
	      "    customers = { rate = 0, operation = print } },\n"
	      "  rules = { customer_home = function(c)\n"
	      "    if c.zip > 99999 then return nil, 'zip' end\n"
	      "    return c.zip < 50000 and 'alpha' or 'beta' end },\n"
	      "}\n", fp);
	fclose(fp);
	struct prng rng;
	prng_seed(&rng, 1);
	struct scenario *sc = scenario_load(path, NULL, &rng, err, sizeof err);
	if (!sc)
		fail_msg("%s", err);
	struct customers cs;
	assert_int_equal(customers_init(&cs, &f->w, sc, &f->m), 0);
	struct customer_outcome out;
	struct ddb_customer c = customer("c1", 1, "");
	c.zip_prefix = 100;
	assert_int_equal(customers_create(&cs, &c, 10, &out), 0);
	assert_true(out.accepted);
	assert_int_equal(out.entry->home, 0);
	assert_int_equal(out.entry->n_replicas, 1);
	assert_int_equal(out.entry->replicas[0], 1);
	assert_int_equal(out.entry->created[0], CUSTOMER_WRITTEN);
	assert_int_equal(out.entry->created[1], CUSTOMER_WRITTEN);
	assert_string_equal(customers_create_result(out.entry), "ok");
	assert_int_equal(customers_create(&cs, &c, 11, &out), -1);
	assert_string_equal(out.reason, "exists");
	c = customer("c0", 1, "");
	c.zip_prefix = 200000;
	assert_int_equal(customers_create(&cs, &c, 12, &out), -1);
	assert_string_equal(out.reason, "rule:zip");

	/* beta down: its own record goes to the replica, its copy is queued */
	node_set_state(f->w.regions[1].node, NODE_DOWN, 20);
	c = customer("c2", 1, "");
	c.zip_prefix = 60000;
	assert_int_equal(customers_create(&cs, &c, 21, &out), 0);
	assert_int_equal(out.entry->created[0], CUSTOMER_QUEUED);
	assert_int_equal(out.entry->created[1], CUSTOMER_WRITTEN);
	assert_string_equal(customers_create_result(out.entry), "home_pending");
	struct customer_read got;
	assert_non_null(customers_get(&cs, "c2", &got));
	assert_true(got.answered && got.replica && got.has_record && !got.stale);
	assert_int_equal(got.region, 0);
	assert_null(customers_get(&cs, "nobody", &got));

	struct customer_region_read reads[2];
	struct ddb_customer_filter all = { 0, 999999, NULL, NULL, 0 };
	size_t rows = 0;
	customers_search(&cs, &all, count_row_for_test, &rows, reads);
	assert_int_equal(rows, 2); /* c1 from alpha, c2 from alpha's copy */
	assert_true(reads[0].home_answered);
	assert_false(reads[1].home_answered);
	assert_true(customers_region_read(&cs, 1, reads));

	/* both down: accepted, queued twice; beta's records cannot be read */
	node_set_state(f->w.regions[0].node, NODE_DOWN, 30);
	c = customer("c3", 1, "");
	c.zip_prefix = 70000;
	assert_int_equal(customers_create(&cs, &c, 31, &out), 0);
	assert_int_equal(out.entry->created[0], CUSTOMER_QUEUED);
	assert_int_equal(out.entry->created[1], CUSTOMER_QUEUED);
	assert_string_equal(customers_create_result(out.entry), "unavailable");
	assert_non_null(customers_get(&cs, "c3", &got));
	assert_false(got.answered);
	rows = 0;
	customers_search(&cs, &all, count_row_for_test, &rows, reads);
	assert_int_equal(rows, 0);
	assert_false(customers_region_read(&cs, 0, reads));
	assert_false(customers_region_read(&cs, 1, reads));
	assert_int_equal(f->m.customers.writes_queued, 3);
	customers_free(&cs);
	scenario_free(sc);
}

/* DATA_DIR/queued_writes: read back by node, then id, the highest version
 * first, any bytes of an id intact; a last line cut short (a process killed
 * while writing it) is ignored, a damaged line is an error naming it. */
static void queued_writes_round_trip(void **state)
{
	struct fixture *f = *state;
	struct queued_writes q;
	char err[512], path[600];
	assert_int_equal(queued_writes_init(&q, f->dir), 0);
	assert_int_equal(queued_writes_add(&q, "beta", "c1", 1, err, sizeof err), 0);
	assert_int_equal(queued_writes_add(&q, "alpha", "c9", 3, err, sizeof err), 0);
	assert_int_equal(queued_writes_add(&q, "beta", "c 2\nx", 2, err, sizeof err), 0);
	assert_int_equal(queued_writes_add(&q, "beta", "c1", 4, err, sizeof err), 0);
	queued_writes_free(&q);
	snprintf(path, sizeof path, "%s/" QUEUED_WRITES_FILE, f->dir);
	FILE *fp = fopen(path, "a");
	assert_non_null(fp);
	fputs("beta 5 6339", fp); /* cut short */
	fclose(fp);

	struct queued_write *v;
	size_t n;
	assert_int_equal(queued_writes_load(f->dir, &v, &n, err, sizeof err), 0);
	assert_int_equal(n, 4);
	assert_string_equal(v[0].node, "alpha");
	assert_string_equal(v[0].id, "c9");
	assert_string_equal(v[1].id, "c 2\nx");
	assert_int_equal(v[1].version, 2);
	assert_string_equal(v[2].id, "c1");
	assert_int_equal(v[2].version, 4);
	assert_int_equal(v[3].version, 1);
	free(v);

	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("alpha 1 6331\nalpha one 6331\n", fp);
	fclose(fp);
	assert_int_equal(queued_writes_load(f->dir, &v, &n, err, sizeof err), -1);
	assert_non_null(strstr(err, "queued_writes:2: expected NODE VERSION ID"));

	assert_int_equal(queued_writes_clear(f->dir, err, sizeof err), 0);
	assert_int_equal(queued_writes_load(f->dir, &v, &n, err, sizeof err), 0);
	assert_int_equal(n, 0);
	free(v);
}

/* ---- overlapping failure steps ------------------------------------------ */

/* A node table a, b, central, broker with a fault layer, and the steps of a
 * schedule, applied in order by the test. */
struct overlap {
	struct node_table nodes;
	struct fault_layer fl;
	struct fault_steps fs;
	struct scenario_failure steps[16];
	int64_t duration_us[16];
	size_t n;
};

static void overlap_init(struct overlap *o)
{
	memset(o, 0, sizeof *o);
	static const char *const names[] = { "a", "b", "central", "broker" };
	char err[128];
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(node_add(&o->nodes, names[i], i < 2 ? NODE_REGION : NODE_CENTRAL, err,
		                          sizeof err), 0);
	o->fl.nodes = &o->nodes;
}

/* A start at `at` seconds for `duration` (0: none), and its end. */
static struct scenario_failure *overlap_step(struct overlap *o, int action, const char *target,
                                             double at, double duration)
{
	struct scenario_failure *f = &o->steps[o->n++];
	memset(f, 0, sizeof *f);
	f->step = (int)o->n;
	f->action = action;
	f->at_us = (int64_t)(at * 1e6);
	f->has_end = duration > 0;
	o->duration_us[o->n - 1] = (int64_t)(duration * 1e6);
	if (target)
		strcpy(f->target, target);
	return f;
}

static struct scenario_failure overlap_end(const struct overlap *o,
                                           const struct scenario_failure *start)
{
	struct scenario_failure end = *start;
	end.ends = 1;
	end.has_end = 0;
	end.at_us = start->at_us + o->duration_us[start - o->steps];
	return end;
}

static uint64_t overlap_apply(struct overlap *o, const struct scenario_failure *f, char *what)
{
	uint64_t changed = 0;
	char buf[192];
	assert_int_equal(fault_steps_apply(&o->fs, f, f->at_us, &changed, what ? what : buf,
	                                   sizeof buf), 0);
	return changed;
}

static void overlap_free(struct overlap *o)
{
	fault_steps_free(&o->fs);
	node_table_free(&o->nodes);
}

/* down [10,30) and [20,40): down throughout, up at 40 only. */
static void overlapping_down_steps_nest(void **state)
{
	(void)state;
	struct overlap o;
	overlap_init(&o);
	assert_int_equal(fault_steps_init(&o.fs, &o.nodes, &o.fl), 0);
	struct node *a = node_find(&o.nodes, "a");
	struct scenario_failure *s1 = overlap_step(&o, FAILURE_DOWN, "a", 10, 20);
	struct scenario_failure *s2 = overlap_step(&o, FAILURE_DOWN, "a", 20, 20);
	struct scenario_failure e1 = overlap_end(&o, s1), e2 = overlap_end(&o, s2);
	e1.action = e2.action = FAILURE_UP;
	char what[192];
	assert_int_equal(overlap_apply(&o, s1, NULL), 1); /* a went down */
	assert_int_equal(a->state, NODE_DOWN);
	assert_int_equal(overlap_apply(&o, s2, NULL), 0);
	assert_int_equal(overlap_apply(&o, &e1, what), 0); /* still down */
	assert_int_equal(a->state, NODE_DOWN);
	assert_string_equal(what, "down ends, still down");
	assert_int_equal(overlap_apply(&o, &e2, what), 1);
	assert_int_equal(a->state, NODE_UP);
	assert_string_equal(what, "up");
	assert_int_equal(a->transitions, 2);
	overlap_free(&o);
}

/* slow 50 ms [10,30) and 200 ms [20,40), and down [15,25) inside: down
 * wins, then the largest latency of the slow steps in force. */
static void overlapping_slow_steps_take_the_largest_latency(void **state)
{
	(void)state;
	struct overlap o;
	overlap_init(&o);
	assert_int_equal(fault_steps_init(&o.fs, &o.nodes, &o.fl), 0);
	struct node *a = node_find(&o.nodes, "a");
	struct scenario_failure *s1 = overlap_step(&o, FAILURE_SLOW, "a", 10, 20);
	s1->latency_us = 50000;
	s1->jitter_us = 7000;
	struct scenario_failure *d = overlap_step(&o, FAILURE_DOWN, "a", 15, 10);
	struct scenario_failure *s2 = overlap_step(&o, FAILURE_SLOW, "a", 20, 20);
	s2->latency_us = 200000;
	struct scenario_failure e1 = overlap_end(&o, s1), ed = overlap_end(&o, d);
	struct scenario_failure e2 = overlap_end(&o, s2);
	e1.latency_us = e1.jitter_us = e2.latency_us = 0;
	ed.action = FAILURE_UP;
	overlap_apply(&o, s1, NULL);
	assert_int_equal(a->state, NODE_SLOW);
	assert_int_equal(a->latency_us, 50000);
	assert_int_equal(overlap_apply(&o, d, NULL), 1);
	assert_int_equal(a->state, NODE_DOWN);
	overlap_apply(&o, s2, NULL);
	assert_int_equal(a->state, NODE_DOWN);
	char what[192];
	assert_int_equal(overlap_apply(&o, &ed, what), 1); /* up from down: slow again */
	assert_string_equal(what, "up, slow 0.200 s");
	assert_int_equal(a->state, NODE_SLOW);
	assert_int_equal(a->latency_us, 200000);
	assert_int_equal(a->jitter_us, 7000);
	overlap_apply(&o, &e1, NULL);
	assert_int_equal(a->state, NODE_SLOW);
	assert_int_equal(a->latency_us, 200000);
	assert_int_equal(a->jitter_us, 0);
	overlap_apply(&o, &e2, NULL);
	assert_int_equal(a->state, NODE_UP);
	assert_int_equal(a->latency_us, 0);
	overlap_free(&o);
}

/* partition a|central both ways [10,30) and a->central one way [20,40): the
 * link a->central stays cut until 40; central->a heals at 30. */
static void overlapping_partitions_keep_links_cut(void **state)
{
	(void)state;
	struct overlap o;
	overlap_init(&o);
	assert_int_equal(fault_steps_init(&o.fs, &o.nodes, &o.fl), 0);
	struct node *a = node_find(&o.nodes, "a"), *c = node_find(&o.nodes, "central");
	struct scenario_failure *p1 = overlap_step(&o, FAILURE_PARTITION, NULL, 10, 20);
	struct scenario_failure *p2 = overlap_step(&o, FAILURE_PARTITION, NULL, 20, 20);
	for (size_t i = 0; i < 2; i++) {
		struct scenario_failure *p = i ? p2 : p1;
		p->n_from = p->n_to = 1;
		strcpy(p->from[0], "a");
		strcpy(p->to[0], "central");
	}
	p2->oneway = 1;
	struct scenario_failure e1 = overlap_end(&o, p1), e2 = overlap_end(&o, p2);
	e1.action = e2.action = FAILURE_HEAL;
	char what[192];
	overlap_apply(&o, p1, NULL);
	overlap_apply(&o, p2, NULL);
	assert_false(node_reaches(&o.nodes, a, c));
	assert_false(node_reaches(&o.nodes, c, a));
	overlap_apply(&o, &e1, what);
	assert_false(node_reaches(&o.nodes, a, c));
	assert_true(node_reaches(&o.nodes, c, a));
	assert_non_null(strstr(what, "(still cut)"));
	overlap_apply(&o, &e2, what);
	assert_true(node_reaches(&o.nodes, a, c));
	assert_null(strstr(what, "still"));
	overlap_free(&o);
}

/* drop 0.3 [10,30) and 0.1 [20,40): 0.3 until 30, then 0.1 until 40; delay
 * steps bring their own delay. */
static void overlapping_message_faults_take_the_largest_probability(void **state)
{
	(void)state;
	struct overlap o;
	overlap_init(&o);
	assert_int_equal(fault_steps_init(&o.fs, &o.nodes, &o.fl), 0);
	struct scenario_failure *d1 = overlap_step(&o, FAILURE_DROP, NULL, 10, 20);
	struct scenario_failure *d2 = overlap_step(&o, FAILURE_DROP, NULL, 20, 20);
	struct scenario_failure *l1 = overlap_step(&o, FAILURE_DELAY, NULL, 10, 20);
	struct scenario_failure *l2 = overlap_step(&o, FAILURE_DELAY, NULL, 20, 20);
	d1->probability = 0.3;
	d2->probability = 0.1;
	l1->probability = 0.5;
	l1->delay_us = 100000;
	l2->probability = 0.2;
	l2->delay_us = 900000;
	struct scenario_failure e1 = overlap_end(&o, d1), e2 = overlap_end(&o, d2);
	struct scenario_failure el1 = overlap_end(&o, l1);
	e1.probability = e2.probability = el1.probability = 0;
	char what[192];
	overlap_apply(&o, d1, NULL);
	overlap_apply(&o, l1, NULL);
	overlap_apply(&o, d2, NULL);
	overlap_apply(&o, l2, NULL);
	assert_true(o.fl.p_drop == 0.3);
	assert_true(o.fl.p_delay == 0.5);
	assert_int_equal(o.fl.delay_us, 100000);
	overlap_apply(&o, &e1, what);
	assert_true(o.fl.p_drop == 0.1);
	assert_string_equal(what, "drop ends, still p=0.1");
	overlap_apply(&o, &el1, NULL);
	assert_true(o.fl.p_delay == 0.2);
	assert_int_equal(o.fl.delay_us, 900000);
	overlap_apply(&o, &e2, what);
	assert_true(o.fl.p_drop == 0);
	assert_string_equal(what, "drop p=0");
	overlap_free(&o);
}

/* The nodes file's state is the base: a step's end does not lift it; an
 * explicit up does, and ends the down steps in force; a step without a
 * duration changes the base for the rest of the run. */
static void steps_overlay_the_base_state(void **state)
{
	(void)state;
	struct overlap o;
	overlap_init(&o);
	struct node *a = node_find(&o.nodes, "a"), *b = node_find(&o.nodes, "b");
	a->state = NODE_DOWN; /* as `ddbsim node set a down` left it */
	assert_int_equal(fault_steps_init(&o.fs, &o.nodes, &o.fl), 0);
	struct scenario_failure *s1 = overlap_step(&o, FAILURE_DOWN, "a", 10, 20);
	struct scenario_failure e1 = overlap_end(&o, s1);
	e1.action = FAILURE_UP;
	overlap_apply(&o, s1, NULL);
	overlap_apply(&o, &e1, NULL);
	assert_int_equal(a->state, NODE_DOWN);
	assert_int_equal(a->transitions, 0);

	struct scenario_failure *s2 = overlap_step(&o, FAILURE_DOWN, "a", 50, 20);
	struct scenario_failure *up = overlap_step(&o, FAILURE_UP, "a", 60, 0);
	struct scenario_failure e2 = overlap_end(&o, s2);
	e2.action = FAILURE_UP;
	overlap_apply(&o, s2, NULL);
	assert_int_equal(overlap_apply(&o, up, NULL), 1);
	assert_int_equal(a->state, NODE_UP);
	overlap_apply(&o, &e2, NULL);
	assert_int_equal(a->state, NODE_UP);

	/* b down with no duration, and down [10,20): still down after 20. */
	struct scenario_failure *forever = overlap_step(&o, FAILURE_DOWN, "b", 5, 0);
	struct scenario_failure *s3 = overlap_step(&o, FAILURE_DOWN, "b", 10, 10);
	struct scenario_failure e3 = overlap_end(&o, s3);
	e3.action = FAILURE_UP;
	overlap_apply(&o, forever, NULL);
	overlap_apply(&o, s3, NULL);
	overlap_apply(&o, &e3, NULL);
	assert_int_equal(b->state, NODE_DOWN);
	overlap_free(&o);
}

/* crash of the relay [10,11) and [10.5,11.5): crashed until 11.5. */
static void overlapping_crashes_nest(void **state)
{
	(void)state;
	struct overlap o;
	overlap_init(&o);
	assert_int_equal(fault_steps_init(&o.fs, &o.nodes, &o.fl), 0);
	struct scenario_failure *c1 = overlap_step(&o, FAILURE_CRASH, "relay", 10, 1);
	struct scenario_failure *c2 = overlap_step(&o, FAILURE_CRASH, "relay", 10.5, 1);
	struct scenario_failure e1 = overlap_end(&o, c1), e2 = overlap_end(&o, c2);
	e1.action = e2.action = FAILURE_RESTART;
	char what[192];
	overlap_apply(&o, c1, NULL);
	overlap_apply(&o, c2, NULL);
	overlap_apply(&o, &e1, what);
	assert_true(fault_steps_crashed(&o.fs, "relay"));
	assert_false(fault_steps_crashed(&o.fs, "applier"));
	assert_string_equal(what, "crash ends, still crashed");
	overlap_apply(&o, &e2, what);
	assert_false(fault_steps_crashed(&o.fs, "relay"));
	assert_string_equal(what, "restart");
	overlap_free(&o);
}

int main(void)
{
	if (!getenv("DDBSIM_PLUGIN_DIR")) {
		fprintf(stderr, "test_domain: set DDBSIM_PLUGIN_DIR (make check does)\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wire_round_trip),
		cmocka_unit_test(wire_refuses_malformed),
		cmocka_unit_test(order_validation),
		cmocka_unit_test(catalog_errors),
		cmocka_unit_test(catalog_put_keeps_the_order),
		cmocka_unit_test(histogram_percentiles),
		cmocka_unit_test(histogram_count_at_most),
		cmocka_unit_test(histogram_subtract),
		cmocka_unit_test(reasons_beyond_the_table),
		cmocka_unit_test(overlapping_down_steps_nest),
		cmocka_unit_test(overlapping_slow_steps_take_the_largest_latency),
		cmocka_unit_test(overlapping_partitions_keep_links_cut),
		cmocka_unit_test(overlapping_message_faults_take_the_largest_probability),
		cmocka_unit_test(steps_overlay_the_base_state),
		cmocka_unit_test(overlapping_crashes_nest),
		cmocka_unit_test_setup_teardown(order_reaches_center_and_documents, setup, teardown),
		cmocka_unit_test_setup_teardown(duplicate_delivery_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(lost_messages_are_published_again, setup, teardown),
		cmocka_unit_test_setup_teardown(poison_message_is_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(region_down_refuses_orders_and_keeps_marks, setup, teardown),
		cmocka_unit_test_setup_teardown(center_down_keeps_events_queued, setup, teardown),
		cmocka_unit_test_setup_teardown(broker_down_keeps_events_in_outbox, setup, teardown),
		cmocka_unit_test_setup_teardown(a_confirm_answers_every_publisher, setup, teardown),
		cmocka_unit_test_setup_teardown(a_failed_confirm_loses_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(a_release_does_not_swallow_a_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(broker_down_with_publishes_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(replay_is_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(replay_waits_for_the_node, setup, teardown),
		cmocka_unit_test_setup_teardown(create_get_search_tell_the_outcome, setup, teardown),
		cmocka_unit_test_setup_teardown(queued_writes_round_trip, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
