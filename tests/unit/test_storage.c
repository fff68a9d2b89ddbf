/*
 * test_storage.c - conformance suite for storage plugins.
 *
 * Runs against any storage plugin, loaded the way ddbsim loads it:
 *   DDBSIM_PLUGIN_DIR             search path (colon-separated)
 *   DDBSIM_TEST_STORAGE           plugin name (default "sqlite")
 *   DDBSIM_TEST_STORAGE_OPTIONS   options for open(), "k=v;k=v" (a server's
 *                                 connection string, for instance)
 *
 * Each test opens fresh instances of the roles the plugin declares in its
 * caps, a regional store "testregion", the central store "central" and the
 * document store "documents", with data_dir a new temporary directory
 * (removed afterwards), and resets them.  Every operation is driven through
 * each status it can return, and after each refusal the suite checks that
 * nothing changed.
 *
 * Each test names what it needs: roles (REG, CEN, DOC) and/or the customer
 * operations (CUST: put_customers is set).  A test whose needs the plugin
 * does not serve is skipped; tests that span roles run the parts of the
 * roles served.  The customer tests use the customer store: the regional
 * store when the plugin serves that role, else an instance of "testregion"
 * opened with every role the plugin serves (a document store that keeps
 * customers, say).  The SQLite plugin's own options and errors are tested in
 * test_sqlite.c.
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
#include <unistd.h>

#include "loader.h"
#include "plugin_fixture.h"

#define REGION "testregion"

/* ---- fixture ------------------------------------------------------------- */

static struct {
	struct plugin *plugin;
	const char *name;
	const struct ddb_storage_ops *s;
	char *options_buf;
	struct ddb_option *options;
	size_t n_options;
	char data_dir[256];
	void *region;  /* regional store REGION (NULL: role not served) */
	void *central; /* central store */
	void *docs;    /* document store */
	void *cust;    /* customer store: region, or its own instance */
	unsigned cust_roles; /* the roles cust was opened with (0: none) */
} G;

#define S (G.s)

/* What a test needs: the roles, and CUST for the customer operations. */
#define REG ((unsigned)DDB_ROLE_REGIONAL)
#define CEN ((unsigned)DDB_ROLE_CENTRAL)
#define DOC ((unsigned)DDB_ROLE_DOCUMENTS)
#define ALL_ROLES (REG | CEN | DOC)
#define CUST (1u << 8)

/* What the plugin serves, in the bits of the needs above. */
static unsigned served(void)
{
	unsigned what = G.plugin->desc->caps & ALL_ROLES;
	if (S->put_customers)
		what |= CUST;
	return what;
}

static int has(unsigned needs)
{
	return (served() & needs) == needs;
}

/* A test of the table in main(): the function and what it needs.  The
 * runner skips it when the plugin does not serve its needs. */
struct gate {
	void (*fn)(void **state);
	unsigned needs;
};

static void run_gated(void **state)
{
	const struct gate *g = *state;
	if (!has(g->needs))
		skip();
	g->fn(state);
}

static int group_setup(void **state)
{
	(void)state;
	G.name = getenv("DDBSIM_TEST_STORAGE");
	if (!G.name || !*G.name)
		G.name = "sqlite";
	if (fixture_options("DDBSIM_TEST_STORAGE_OPTIONS", &G.options_buf, &G.options,
	                    &G.n_options) != 0)
		return -1;
	char err[512];
	G.plugin = plugin_load(G.name, getenv("DDBSIM_PLUGIN_DIR"), DDB_KIND_STORAGE, err,
	                       sizeof err);
	if (!G.plugin) {
		fprintf(stderr, "cannot load storage plugin '%s': %s\n", G.name, err);
		return -1;
	}
	G.s = G.plugin->desc->storage;
	unsigned what = served();
	fprintf(stderr, "storage plugin %s %s serves:%s%s%s%s\n", G.name,
	        G.plugin->desc->version ? G.plugin->desc->version : "?",
	        what & REG ? " regional" : "", what & CEN ? " central" : "",
	        what & DOC ? " documents" : "", what & CUST ? " customers" : "");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	plugin_unload(G.plugin);
	G.plugin = NULL;
	free(G.options);
	free(G.options_buf);
	return 0;
}

/* Opens node with extra options (may be NULL), then the suite's: the first
 * of a key counts, so the extra ones win. */
static enum ddb_status open_with(const char *node, unsigned roles, const struct ddb_option *extra,
                                 size_t n_extra, void **h, struct ddb_err *e)
{
	struct ddb_option opts[32];
	size_t n = 0;
	for (size_t i = 0; i < n_extra && n < 32; i++)
		opts[n++] = extra[i];
	for (size_t i = 0; i < G.n_options && n < 32; i++)
		opts[n++] = G.options[i];
	struct ddb_open_args args = {
		.node = node,
		.data_dir = G.data_dir,
		.roles = roles,
		.options = opts,
		.n_options = n,
	};
	return S->open(&args, h, e);
}

/* Opens node read-only (DDB_OPEN_READONLY), with the suite's options. */
static enum ddb_status open_readonly(const char *node, unsigned roles, void **h,
                                     struct ddb_err *e)
{
	struct ddb_open_args args = {
		.node = node,
		.data_dir = G.data_dir,
		.roles = roles,
		.options = G.options,
		.n_options = G.n_options,
		.flags = DDB_OPEN_READONLY,
	};
	return S->open(&args, h, e);
}

static void *open_node(const char *node, unsigned roles)
{
	void *h = NULL;
	struct ddb_err e = { "" };
	enum ddb_status st = open_with(node, roles, NULL, 0, &h, &e);
	if (st != DDB_OK)
		fail_msg("open %s: %s: %s", node, ddb_status_name(st), e.msg);
	return h;
}

static int test_setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(G.data_dir, sizeof G.data_dir, "%s/ddbsim-storage-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(G.data_dir)) {
		fprintf(stderr, "mkdtemp %s: %s\n", G.data_dir, strerror(errno));
		G.data_dir[0] = '\0';
		return -1;
	}
	struct {
		const char *node;
		unsigned roles;
		void **h;
	} nodes[] = {
		{ REGION, DDB_ROLE_REGIONAL, &G.region },
		{ "central", DDB_ROLE_CENTRAL, &G.central },
		{ "documents", DDB_ROLE_DOCUMENTS, &G.docs },
	};
	for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
		if (!has(nodes[i].roles))
			continue;
		struct ddb_err e = { "" };
		enum ddb_status st = open_with(nodes[i].node, nodes[i].roles, NULL, 0, nodes[i].h, &e);
		if (st == DDB_OK)
			st = S->reset(*nodes[i].h, &e);
		if (st != DDB_OK) {
			fprintf(stderr, "%s: open and reset: %s: %s\n", nodes[i].node,
			        ddb_status_name(st), e.msg);
			return -1;
		}
	}
	G.cust_roles = 0;
	if (has(CUST) && has(REG)) {
		G.cust = G.region;
		G.cust_roles = REG;
	} else if (has(CUST)) {
		G.cust_roles = served() & ALL_ROLES;
		struct ddb_err e = { "" };
		enum ddb_status st = open_with(REGION, G.cust_roles, NULL, 0, &G.cust, &e);
		if (st == DDB_OK)
			st = S->reset(G.cust, &e);
		if (st != DDB_OK) {
			fprintf(stderr, "%s (customers): open and reset: %s: %s\n", REGION,
			        ddb_status_name(st), e.msg);
			return -1;
		}
	}
	return 0;
}

static int test_teardown(void **state)
{
	(void)state;
	if (G.cust && G.cust != G.region)
		S->close(G.cust);
	G.cust = NULL;
	void **hs[] = { &G.region, &G.central, &G.docs };
	for (size_t i = 0; i < 3; i++) {
		if (*hs[i])
			S->close(*hs[i]);
		*hs[i] = NULL;
	}
	if (G.data_dir[0])
		fixture_remove_tree(G.data_dir);
	G.data_dir[0] = '\0';
	return 0;
}

/* ---- helpers ------------------------------------------------------------- */

/* CHECK, EXPECT_STATUS, assert_status: plugin_fixture.h. */

static void copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size)
		fail_msg("test value '%s' longer than %zu bytes", src, size - 1);
	memcpy(dst, src, n + 1);
}

static struct ddb_order order(const char *id, const char *region, const char *customer,
                              const char *sku, int64_t quantity, int64_t unit_price_cents,
                              int64_t placed_at_us)
{
	struct ddb_order o;
	memset(&o, 0, sizeof o);
	copy(o.id, sizeof o.id, id);
	copy(o.region, sizeof o.region, region);
	copy(o.customer, sizeof o.customer, customer);
	copy(o.sku, sizeof o.sku, sku);
	o.quantity = quantity;
	o.unit_price_cents = unit_price_cents;
	o.placed_at_us = placed_at_us;
	return o;
}

/* An order of REGION, id REGION-NNNNNN, customer "c1", placed at n. */
static struct ddb_order simple_order(int n, const char *sku, int64_t quantity)
{
	char id[DDB_ID_MAX];
	snprintf(id, sizeof id, "%s-%06d", REGION, n);
	return order(id, REGION, "c1", sku, quantity, 250, 1000 + n);
}

/* A product; components as alternating sku, quantity pairs ended by NULL. */
static struct ddb_product product(const char *sku, const char *name, int64_t price,
                                  int64_t version, ...)
{
	struct ddb_product p;
	memset(&p, 0, sizeof p);
	copy(p.sku, sizeof p.sku, sku);
	copy(p.name, sizeof p.name, name);
	p.price_cents = price;
	p.version = version;
	va_list ap;
	va_start(ap, version);
	const char *c;
	while ((c = va_arg(ap, const char *)) != NULL) {
		assert_true(p.n_components < DDB_COMPONENTS_MAX);
		copy(p.components[p.n_components].sku, DDB_SKU_MAX, c);
		p.components[p.n_components].quantity = va_arg(ap, int64_t);
		p.n_components++;
	}
	va_end(ap);
	return p;
}

/* The events a region would have written; for stores without one. */
static struct ddb_event order_event(const struct ddb_order *o, int64_t seq)
{
	struct ddb_event ev;
	memset(&ev, 0, sizeof ev);
	ev.seq = seq;
	snprintf(ev.id, sizeof ev.id, "%s:%lld", o->region, (long long)seq);
	copy(ev.origin, sizeof ev.origin, o->region);
	ev.kind = DDB_EVENT_ORDER;
	ev.created_at_us = o->placed_at_us;
	ev.order = *o;
	return ev;
}

static struct ddb_event product_event(const struct ddb_product *p, int64_t seq)
{
	struct ddb_event ev;
	memset(&ev, 0, sizeof ev);
	ev.seq = seq;
	snprintf(ev.id, sizeof ev.id, "r:%lld", (long long)seq);
	copy(ev.origin, sizeof ev.origin, "r");
	ev.kind = DDB_EVENT_PRODUCT;
	ev.product = *p;
	return ev;
}

static void add_product(void *h, const char *sku, int64_t stock)
{
	struct ddb_product p = product(sku, sku, 100, 1, NULL);
	CHECK(S->upsert_product(h, &p, 1, &e_));
	if (stock > 0)
		CHECK(S->restock(h, sku, stock, &e_));
}

/* Places one order; the call must succeed; returns the order's result. */
static enum ddb_status place(void *h, const struct ddb_order *o)
{
	enum ddb_status result = DDB_INTERNAL;
	CHECK(S->place_orders(h, o, 1, &result, &e_));
	return result;
}

static void assert_order_equal(const struct ddb_order *want, const struct ddb_order *got)
{
	assert_string_equal(got->id, want->id);
	assert_string_equal(got->region, want->region);
	assert_string_equal(got->customer, want->customer);
	assert_string_equal(got->sku, want->sku);
	assert_int_equal(got->quantity, want->quantity);
	assert_int_equal(got->unit_price_cents, want->unit_price_cents);
	assert_int_equal(got->placed_at_us, want->placed_at_us);
}

static void assert_product_equal(const struct ddb_product *want, const struct ddb_product *got)
{
	assert_string_equal(got->sku, want->sku);
	assert_string_equal(got->name, want->name);
	assert_int_equal(got->price_cents, want->price_cents);
	assert_int_equal(got->version, want->version);
	assert_int_equal(got->n_components, want->n_components);
	for (size_t i = 0; i < want->n_components; i++) {
		assert_string_equal(got->components[i].sku, want->components[i].sku);
		assert_int_equal(got->components[i].quantity, want->components[i].quantity);
	}
}

/* Every row of a dataset into a new array (free it); their count in *n. */
static struct ddb_row *scan_all(void *h, int dataset, const char *region, size_t *n)
{
	void *cur = NULL;
	CHECK(S->scan_open(h, dataset, region, &cur, &e_));
	size_t cap = 16, len = 0;
	struct ddb_row *rows = malloc(cap * sizeof *rows);
	assert_non_null(rows);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			struct ddb_row *grown = realloc(rows, cap * sizeof *rows);
			assert_non_null(grown);
			rows = grown;
		}
		struct ddb_err e = { "" };
		memset(&rows[len], 0, sizeof rows[len]);
		enum ddb_status st = S->scan_next(cur, &rows[len], &e);
		if (st == DDB_NOT_FOUND)
			break;
		if (st != DDB_OK) {
			S->scan_close(cur);
			free(rows);
			fail_msg("scan_next of dataset %d: %s: %s", dataset, ddb_status_name(st),
			         e.msg);
		}
		assert_int_equal(rows[len].dataset, dataset);
		len++;
	}
	/* Past the end it stays at the end. */
	struct ddb_row extra;
	EXPECT_STATUS(DDB_NOT_FOUND, S->scan_next(cur, &extra, &e_));
	S->scan_close(cur);
	*n = len;
	return rows;
}

static size_t count_rows(void *h, int dataset, const char *region)
{
	size_t n;
	free(scan_all(h, dataset, region, &n));
	return n;
}

/* The inventory row of sku; 0 when there is none. */
static int get_stock(void *h, const char *sku, struct ddb_stock *out)
{
	size_t n;
	struct ddb_row *rows = scan_all(h, DDB_DS_INVENTORY, NULL, &n);
	int found = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(rows[i].stock.sku, sku) == 0) {
			*out = rows[i].stock;
			found = 1;
		}
	}
	free(rows);
	return found;
}

static int64_t stock_of(void *h, const char *sku)
{
	struct ddb_stock st = { .stock = 0 };
	if (!get_stock(h, sku, &st))
		fail_msg("no inventory row for %s", sku);
	return st.stock;
}

/* Outbox events with seq > after in state want (all of them). */
static size_t read_events(void *h, int64_t after, int want, struct ddb_event *ev, size_t max)
{
	size_t n = 0;
	CHECK(S->outbox_read(h, after, want, ev, max, &n, &e_));
	assert_true(n <= max);
	return n;
}

/* Every row of every regional dataset, to check that nothing changed. */
struct snapshot {
	size_t n[5];
	struct ddb_row *rows[5];
};

static void take_snapshot(void *h, struct snapshot *s)
{
	for (int ds = DDB_DS_PRODUCTS; ds <= DDB_DS_OUTBOX; ds++)
		s->rows[ds - 1] = scan_all(h, ds, NULL, &s->n[ds - 1]);
}

static void free_snapshot(struct snapshot *s)
{
	for (int i = 0; i < 4; i++)
		free(s->rows[i]);
}

/* The regional store is as it was in `before` (which is freed). */
static void assert_unchanged(void *h, struct snapshot *before)
{
	struct snapshot now;
	take_snapshot(h, &now);
	for (int i = 0; i < 4; i++) {
		if (now.n[i] != before->n[i])
			fail_msg("dataset %d: %zu rows, was %zu", i + 1, now.n[i], before->n[i]);
		for (size_t r = 0; r < now.n[i]; r++) {
			const struct ddb_row *a = &before->rows[i][r], *b = &now.rows[i][r];
			switch (i + 1) {
			case DDB_DS_PRODUCTS:
				assert_product_equal(&a->product, &b->product);
				break;
			case DDB_DS_INVENTORY:
				assert_string_equal(b->stock.sku, a->stock.sku);
				assert_int_equal(b->stock.stock, a->stock.stock);
				assert_int_equal(b->stock.received, a->stock.received);
				assert_int_equal(b->stock.sold, a->stock.sold);
				break;
			case DDB_DS_ORDERS:
				assert_order_equal(&a->order, &b->order);
				break;
			case DDB_DS_OUTBOX:
				assert_int_equal(b->event.seq, a->event.seq);
				assert_int_equal(b->event.state, a->event.state);
				break;
			}
		}
	}
	free_snapshot(&now);
	free_snapshot(before);
}

/* Closes every instance of the fixture and opens them again, without a
 * reset. */
static void reopen_all(void)
{
	if (G.cust && G.cust != G.region)
		S->close(G.cust);
	G.cust = NULL;
	void **hs[] = { &G.region, &G.central, &G.docs };
	for (size_t i = 0; i < 3; i++) {
		if (*hs[i])
			S->close(*hs[i]);
		*hs[i] = NULL;
	}
	if (has(REG))
		G.region = open_node(REGION, REG);
	if (has(CEN))
		G.central = open_node("central", CEN);
	if (has(DOC))
		G.docs = open_node("documents", DOC);
	if (G.cust_roles)
		G.cust = G.cust_roles == REG ? G.region : open_node(REGION, G.cust_roles);
}

/* ---- customer helpers ------------------------------------------------------ */

/* The engine clock of a write of version v, in the test records. */
static int64_t written_at(int64_t v)
{
	return v > -INT64_MAX / 1000 && v < INT64_MAX / 1000 ? 1000 * v : v;
}

/* A live customer of home REGION; the other fields follow from id and
 * version. */
static struct ddb_customer customer(const char *id, int64_t version, int64_t zip,
                                    const char *city, const char *state)
{
	struct ddb_customer c;
	memset(&c, 0, sizeof c);
	copy(c.id, sizeof c.id, id);
	snprintf(c.unique_id, sizeof c.unique_id, "u-%.60s", id);
	c.zip_prefix = zip;
	copy(c.city, sizeof c.city, city);
	copy(c.state, sizeof c.state, state);
	snprintf(c.name, sizeof c.name, "Name of %.60s v%lld", id, (long long)version);
	snprintf(c.email, sizeof c.email, "%.60s@example.com", id);
	copy(c.home, sizeof c.home, REGION);
	c.version = version;
	c.deleted = 0;
	c.updated_at_us = written_at(version);
	return c;
}

/* The tombstone of c at a version. */
static struct ddb_customer tombstone(struct ddb_customer c, int64_t version)
{
	c.version = version;
	c.deleted = 1;
	c.updated_at_us = written_at(version);
	return c;
}

static void assert_customer_equal(const struct ddb_customer *want, const struct ddb_customer *got)
{
	assert_string_equal(got->id, want->id);
	assert_string_equal(got->unique_id, want->unique_id);
	assert_int_equal(got->zip_prefix, want->zip_prefix);
	assert_string_equal(got->city, want->city);
	assert_string_equal(got->state, want->state);
	assert_string_equal(got->name, want->name);
	assert_string_equal(got->email, want->email);
	assert_string_equal(got->home, want->home);
	assert_int_equal(got->version, want->version);
	assert_int_equal(got->deleted, want->deleted);
	assert_int_equal(got->updated_at_us, want->updated_at_us);
}

/* Puts one record; the call must succeed; returns the record's result. */
static enum ddb_status put_customer(void *h, const struct ddb_customer *c)
{
	enum ddb_status result = DDB_INTERNAL;
	CHECK(S->put_customers(h, c, 1, &result, &e_));
	return result;
}

/* Puts n records in one call, which must succeed, and checks each result. */
static void put_customers_expect(void *h, const struct ddb_customer *c, size_t n,
                                 const enum ddb_status *want)
{
	enum ddb_status *r = calloc(n ? n : 1, sizeof *r);
	assert_non_null(r);
	for (size_t i = 0; i < n; i++)
		r[i] = DDB_INTERNAL;
	struct ddb_err e = { "" };
	enum ddb_status st = S->put_customers(h, c, n, r, &e);
	size_t bad = 0;
	while (st == DDB_OK && bad < n && r[bad] == want[bad])
		bad++;
	enum ddb_status got = st == DDB_OK && bad < n ? r[bad] : DDB_OK;
	free(r);
	if (st != DDB_OK)
		fail_msg("put_customers of %zu -> %s: %s", n, ddb_status_name(st), e.msg);
	if (bad < n)
		fail_msg("put_customers: record %zu (%.63s v%lld): %s, want %s", bad, c[bad].id,
		         (long long)c[bad].version, ddb_status_name(got), ddb_status_name(want[bad]));
}

static void expect_customer(void *h, const struct ddb_customer *want)
{
	struct ddb_customer got;
	memset(&got, 0x5a, sizeof got);
	CHECK(S->get_customer(h, want->id, &got, &e_));
	assert_customer_equal(want, &got);
}

/* What find_customers emitted.  No assertion in the callback: a failure
 * there would jump out of the plugin in the middle of its loop. */
struct found {
	struct ddb_customer *c;
	size_t n, cap;
	int oom;
};

static void collect_customer(void *ctx, const struct ddb_customer *c)
{
	struct found *f = ctx;
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 16;
		struct ddb_customer *grown = realloc(f->c, cap * sizeof *grown);
		if (!grown) {
			f->oom = 1;
			return;
		}
		f->c = grown;
		f->cap = cap;
	}
	f->c[f->n++] = *c;
}

static int ascii_lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

static int equal_ascii_nocase(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (ascii_lower((unsigned char)*a) != ascii_lower((unsigned char)*b))
			return 0;
	return *a == *b;
}

/* Runs find_customers into f (free f->c), and checks what the ABI promises
 * of every emitted record: live, selected by the filter, strictly in id
 * order (bytewise), at most limit of them. */
static void find_into(void *h, const struct ddb_customer_filter *filter, struct found *f)
{
	memset(f, 0, sizeof *f);
	struct ddb_err e = { "" };
	enum ddb_status st = S->find_customers(h, filter, collect_customer, f, &e);
	if (st != DDB_OK) {
		free(f->c);
		fail_msg("find_customers -> %s: %s", ddb_status_name(st), e.msg);
	}
	assert_false(f->oom);
	if (filter->limit)
		assert_true(f->n <= filter->limit);
	for (size_t i = 0; i < f->n; i++) {
		const struct ddb_customer *c = &f->c[i];
		if (c->deleted || c->zip_prefix < filter->zip_min || c->zip_prefix > filter->zip_max ||
		    (filter->city && !equal_ascii_nocase(c->city, filter->city)) ||
		    (filter->state && !equal_ascii_nocase(c->state, filter->state)) ||
		    (i > 0 && strcmp(f->c[i - 1].id, c->id) >= 0))
			fail_msg("find_customers emitted '%s' (deleted %d, zip %lld, city '%s',"
			         " state '%s') at %zu: not selected by the filter, or out of order",
			         c->id, c->deleted, (long long)c->zip_prefix, c->city, c->state, i);
	}
}

/* The ids find_customers selects, comma-separated ("" for none). */
static const char *find_ids(void *h, int64_t zip_min, int64_t zip_max, const char *city,
                            const char *state, size_t limit)
{
	static char buf[16384];
	struct ddb_customer_filter filter = {
		.zip_min = zip_min, .zip_max = zip_max, .city = city, .state = state, .limit = limit
	};
	struct found f;
	find_into(h, &filter, &f);
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < f.n; i++) {
		int w = snprintf(buf + used, sizeof buf - used, "%s%s", i ? "," : "", f.c[i].id);
		if (w < 0 || (size_t)w >= sizeof buf - used) {
			free(f.c);
			fail_msg("find_ids: more than %zu bytes of ids", sizeof buf);
		}
		used += (size_t)w;
	}
	free(f.c);
	return buf;
}

/* The scan of DDB_DS_CUSTOMERS equals the n records want, in this order. */
static void assert_customers_scan(void *h, const struct ddb_customer *want, size_t n)
{
	size_t got;
	struct ddb_row *rows = scan_all(h, DDB_DS_CUSTOMERS, NULL, &got);
	if (got != n) {
		free(rows);
		fail_msg("customers: %zu rows, want %zu", got, n);
	}
	for (size_t i = 0; i < n; i++)
		assert_customer_equal(&want[i], &rows[i].customer);
	free(rows);
}

/* The customers as they are now (free it), for assert_customers_unchanged. */
static struct ddb_row *customers_snapshot(void *h, size_t *n)
{
	return scan_all(h, DDB_DS_CUSTOMERS, NULL, n);
}

static void assert_customers_unchanged(void *h, struct ddb_row *before, size_t n)
{
	struct ddb_customer *want = calloc(n ? n : 1, sizeof *want);
	assert_non_null(want);
	for (size_t i = 0; i < n; i++)
		want[i] = before[i].customer;
	free(before);
	assert_customers_scan(h, want, n);
	free(want);
}

/* ---- descriptor and instances -------------------------------------------- */

static void test_descriptor(void **state)
{
	(void)state;
	const struct ddb_plugin *d = G.plugin->desc;
	assert_int_equal(d->abi, DDB_PLUGIN_ABI);
	assert_int_equal(d->kind, DDB_KIND_STORAGE);
	assert_string_equal(d->name, G.name);
	assert_non_null(d->version);
	assert_non_null(d->storage);
	assert_null(d->transport);
	/* At least one role, none unknown. */
	assert_true(d->caps & ALL_ROLES);
	assert_int_equal(d->caps & ~ALL_ROLES, 0);
	/* The customer operations come together, and a regional store has
	 * them; a plugin without the role may serve them too. */
	int n_cust = (S->put_customers != NULL) + (S->get_customer != NULL) +
	             (S->find_customers != NULL);
	assert_true(n_cust == 0 || n_cust == 3);
	if (d->caps & DDB_ROLE_REGIONAL)
		assert_int_equal(n_cust, 3);
}

/* Close and reopen: the data is still there, and the outbox goes on
 * numbering after its last event.  Each role served does its part. */
static void test_durable_across_reopen(void **state)
{
	(void)state;
	struct ddb_order o = simple_order(1, "sku-a", 3);
	struct ddb_event ev[4];
	if (has(REG)) {
		add_product(G.region, "sku-a", 10);
		assert_status(DDB_OK, place(G.region, &o));
		assert_int_equal(read_events(G.region, 0, DDB_OUTBOX_NEW, ev, 4), 2);
	} else {
		struct ddb_product p0 = product("sku-a", "sku-a", 100, 1, NULL);
		ev[0] = product_event(&p0, 1);
		ev[1] = order_event(&o, 2);
	}
	if (has(CEN))
		CHECK(S->apply_events(G.central, ev, 2, 77, &e_));
	if (has(DOC)) {
		CHECK(S->put_order_logs(G.docs, &o, 1, 78, &e_));
		struct ddb_product p = product("sku-a", "A", 100, 1, "part", (int64_t)2, NULL);
		CHECK(S->put_components(G.docs, &p, 1, &e_));
	}

	reopen_all();

	size_t n;
	struct ddb_row *rows;
	if (has(REG)) {
		assert_int_equal(stock_of(G.region, "sku-a"), 7);
		rows = scan_all(G.region, DDB_DS_ORDERS, NULL, &n);
		assert_int_equal(n, 1);
		assert_order_equal(&o, &rows[0].order);
		free(rows);
		assert_int_equal(count_rows(G.region, DDB_DS_OUTBOX, NULL), 2);
	}
	if (has(CEN)) {
		rows = scan_all(G.central, DDB_DS_CENTRAL_ORDERS, NULL, &n);
		assert_int_equal(n, 1);
		assert_order_equal(&o, &rows[0].order);
		assert_int_equal(rows[0].applied_at_us, 77);
		free(rows);
		assert_int_equal(count_rows(G.central, DDB_DS_CENTRAL_PRODUCTS, NULL), 1);
	}
	if (has(DOC)) {
		assert_int_equal(count_rows(G.docs, DDB_DS_ORDER_LOGS, NULL), 1);
		assert_int_equal(count_rows(G.docs, DDB_DS_COMPONENTS, NULL), 1);
	}
	if (has(REG)) {
		struct ddb_order o2 = simple_order(2, "sku-a", 1);
		assert_status(DDB_OK, place(G.region, &o2));
		assert_int_equal(read_events(G.region, 2, DDB_OUTBOX_NEW, ev, 4), 1);
		assert_int_equal(ev[0].seq, 3);
		assert_string_equal(ev[0].id, REGION ":3");
	}
}

/* An instance serves the roles it was opened with, no others. */
static void test_roles_enforced(void **state)
{
	(void)state;
	struct ddb_order o = simple_order(1, "x", 1);
	enum ddb_status r;
	void *cur = NULL;
	EXPECT_STATUS(DDB_INVALID, S->place_orders(G.central, &o, 1, &r, &e_));
	EXPECT_STATUS(DDB_INVALID, S->scan_open(G.central, DDB_DS_ORDERS, NULL, &cur, &e_));
	assert_null(cur);
	struct ddb_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = DDB_EVENT_ORDER;
	ev.order = o;
	EXPECT_STATUS(DDB_INVALID, S->apply_events(G.region, &ev, 1, 1, &e_));
	EXPECT_STATUS(DDB_INVALID, S->put_order_logs(G.central, &o, 1, 1, &e_));
	EXPECT_STATUS(DDB_INVALID, S->scan_open(G.docs, DDB_DS_INVENTORY, NULL, &cur, &e_));
	/* Customers are not kept at the center. */
	struct ddb_customer c = customer("c1", 1, 100, "Here", "HR");
	struct ddb_customer out;
	struct ddb_customer_filter any = { .zip_min = INT64_MIN, .zip_max = INT64_MAX };
	struct found f = { 0 };
	EXPECT_STATUS(DDB_INVALID, S->put_customers(G.central, &c, 1, &r, &e_));
	EXPECT_STATUS(DDB_INVALID, S->get_customer(G.central, "c1", &out, &e_));
	EXPECT_STATUS(DDB_INVALID, S->find_customers(G.central, &any, collect_customer, &f, &e_));
	assert_int_equal(f.n, 0);
	EXPECT_STATUS(DDB_INVALID, S->scan_open(G.central, DDB_DS_CUSTOMERS, NULL, &cur, &e_));
	assert_null(cur);

	/* One instance may serve all three roles. */
	void *all = open_node("allroles",
	                      DDB_ROLE_REGIONAL | DDB_ROLE_CENTRAL | DDB_ROLE_DOCUMENTS);
	CHECK(S->reset(all, &e_));
	add_product(all, "sku-a", 5);
	struct ddb_order oa = simple_order(9, "sku-a", 2);
	assert_status(DDB_OK, place(all, &oa));
	struct ddb_event evs[2];
	assert_int_equal(read_events(all, 0, DDB_OUTBOX_NEW, evs, 2), 2);
	CHECK(S->apply_events(all, evs, 2, 5, &e_));
	CHECK(S->put_order_logs(all, &oa, 1, 6, &e_));
	assert_int_equal(count_rows(all, DDB_DS_CENTRAL_ORDERS, NULL), 1);
	assert_int_equal(count_rows(all, DDB_DS_ORDER_LOGS, NULL), 1);
	assert_int_equal(count_rows(all, DDB_DS_ORDERS, NULL), 1);
	assert_status(DDB_OK, put_customer(all, &c));
	expect_customer(all, &c);
	assert_int_equal(count_rows(all, DDB_DS_CUSTOMERS, NULL), 1);
	S->close(all);
}

/* ---- products and stock --------------------------------------------------- */

static void test_product_new(void **state)
{
	(void)state;
	/* Components in no particular order: they come back in this order. */
	struct ddb_product p = product("bike", "Bike", 49900, 1, "wheel", (int64_t)2, "frame",
	                               (int64_t)1, "bell", (int64_t)1, NULL);
	CHECK(S->upsert_product(G.region, &p, 5000, &e_));

	size_t n;
	struct ddb_row *rows = scan_all(G.region, DDB_DS_PRODUCTS, NULL, &n);
	assert_int_equal(n, 1);
	assert_product_equal(&p, &rows[0].product);
	free(rows);

	struct ddb_stock st;
	assert_true(get_stock(G.region, "bike", &st));
	assert_int_equal(st.stock, 0);
	assert_int_equal(st.received, 0);
	assert_int_equal(st.sold, 0);

	struct ddb_event ev[2];
	assert_int_equal(read_events(G.region, 0, DDB_OUTBOX_NEW, ev, 2), 1);
	assert_int_equal(ev[0].seq, 1);
	assert_string_equal(ev[0].id, REGION ":1");
	assert_string_equal(ev[0].origin, REGION);
	assert_int_equal(ev[0].kind, DDB_EVENT_PRODUCT);
	assert_int_equal(ev[0].state, DDB_OUTBOX_NEW);
	assert_int_equal(ev[0].created_at_us, 5000);
	assert_product_equal(&p, &ev[0].product);
}

static void test_product_versions(void **state)
{
	(void)state;
	struct ddb_product v2 = product("desk", "Desk", 1000, 2, "leg", (int64_t)4, NULL);
	CHECK(S->upsert_product(G.region, &v2, 1, &e_));
	CHECK(S->restock(G.region, "desk", 7, &e_));

	/* Same or lower version: DUPLICATE, nothing changed. */
	struct snapshot before;
	take_snapshot(G.region, &before);
	struct ddb_product same = product("desk", "Other", 1, 2, NULL);
	struct ddb_product lower = product("desk", "Older", 2, 1, "top", (int64_t)1, NULL);
	EXPECT_STATUS(DDB_DUPLICATE, S->upsert_product(G.region, &same, 2, &e_));
	EXPECT_STATUS(DDB_DUPLICATE, S->upsert_product(G.region, &lower, 3, &e_));
	assert_unchanged(G.region, &before);

	/* Higher: replaces name, price and components; the stock stays. */
	struct ddb_product v3 = product("desk", "Desk Pro", 1500, 3, "top", (int64_t)1, "leg",
	                                (int64_t)3, "drawer", (int64_t)2, NULL);
	CHECK(S->upsert_product(G.region, &v3, 4, &e_));
	size_t n;
	struct ddb_row *rows = scan_all(G.region, DDB_DS_PRODUCTS, NULL, &n);
	assert_int_equal(n, 1);
	assert_product_equal(&v3, &rows[0].product);
	free(rows);
	struct ddb_stock st;
	assert_true(get_stock(G.region, "desk", &st));
	assert_int_equal(st.stock, 7);
	assert_int_equal(st.received, 7);

	/* And down to no components at all. */
	struct ddb_product v4 = product("desk", "Desk Lite", 900, 4, NULL);
	CHECK(S->upsert_product(G.region, &v4, 5, &e_));
	rows = scan_all(G.region, DDB_DS_PRODUCTS, NULL, &n);
	assert_product_equal(&v4, &rows[0].product);
	free(rows);

	/* One event per accepted version, each with its own payload. */
	struct ddb_event ev[8];
	assert_int_equal(read_events(G.region, 0, DDB_OUTBOX_NEW, ev, 8), 3);
	assert_product_equal(&v2, &ev[0].product);
	assert_product_equal(&v3, &ev[1].product);
	assert_product_equal(&v4, &ev[2].product);
	assert_int_equal(ev[1].created_at_us, 4);
}

static void test_product_invalid(void **state)
{
	(void)state;
	add_product(G.region, "existing", 3);
	struct snapshot before;
	take_snapshot(G.region, &before);

	struct ddb_product bad[12];
	int nb = 0;
	bad[nb++] = product("", "empty sku", 1, 1, NULL);
	bad[nb++] = product("neg", "negative price", -1, 1, NULL);
	bad[nb++] = product("v0", "version 0", 1, 0, NULL);
	bad[nb++] = product("vneg", "version -3", 1, -3, NULL);
	bad[nb++] = product("q0", "component quantity 0", 1, 1, "part", (int64_t)0, NULL);
	bad[nb++] = product("qneg", "component quantity -2", 1, 1, "part", (int64_t)-2, NULL);
	bad[nb++] = product("csku", "empty component sku", 1, 1, "", (int64_t)1, NULL);
	bad[nb++] = product("many", "too many components", 1, 1, NULL);
	bad[nb - 1].n_components = DDB_COMPONENTS_MAX + 1;
	for (int i = 0; i < DDB_COMPONENTS_MAX; i++)
		snprintf(bad[nb - 1].components[i].sku, DDB_SKU_MAX, "p%d", i);
	bad[nb++] = product("unterminated", "sku without NUL", 1, 1, NULL);
	memset(bad[nb - 1].sku, 'x', sizeof bad[nb - 1].sku);
	bad[nb++] = product("noname", "", 1, 1, NULL);
	memset(bad[nb - 1].name, 'n', sizeof bad[nb - 1].name);
	bad[nb++] = product("twice", "a component twice", 1, 1, "p", (int64_t)1, "p",
	                    (int64_t)2, NULL);
	bad[nb++] = product("existing", "an existing one, invalid", 1, 0, NULL);
	for (int i = 0; i < nb; i++) {
		struct ddb_err e = { "" };
		enum ddb_status st = S->upsert_product(G.region, &bad[i], 1, &e);
		if (st != DDB_INVALID)
			fail_msg("product %d (%.20s): %s, want INVALID", i, bad[i].name,
			         ddb_status_name(st));
		assert_true(e.msg[0] != '\0');
	}
	assert_unchanged(G.region, &before);

	/* The limits themselves are fine. */
	struct ddb_product full = product("full", "", 0, 1, NULL);
	full.n_components = DDB_COMPONENTS_MAX;
	for (int i = 0; i < DDB_COMPONENTS_MAX; i++) {
		snprintf(full.components[i].sku, DDB_SKU_MAX, "part-%02d", DDB_COMPONENTS_MAX - i);
		full.components[i].quantity = INT64_MAX - i;
	}
	memset(full.name, 'N', sizeof full.name - 1);
	CHECK(S->upsert_product(G.region, &full, 1, &e_));
	size_t n;
	struct ddb_row *rows = scan_all(G.region, DDB_DS_PRODUCTS, NULL, &n);
	assert_int_equal(n, 2);
	assert_product_equal(&full, &rows[1].product);
	free(rows);
	struct ddb_event ev[4];
	assert_int_equal(read_events(G.region, 1, DDB_OUTBOX_NEW, ev, 4), 1);
	assert_product_equal(&full, &ev[0].product);
}

static void test_restock(void **state)
{
	(void)state;
	add_product(G.region, "tea", 0);
	CHECK(S->restock(G.region, "tea", 5, &e_));
	CHECK(S->restock(G.region, "tea", 20, &e_));
	struct ddb_stock st;
	assert_true(get_stock(G.region, "tea", &st));
	assert_int_equal(st.stock, 25);
	assert_int_equal(st.received, 25);

	struct snapshot before;
	take_snapshot(G.region, &before);
	EXPECT_STATUS(DDB_NOT_FOUND, S->restock(G.region, "coffee", 5, &e_));
	EXPECT_STATUS(DDB_INVALID, S->restock(G.region, "tea", 0, &e_));
	EXPECT_STATUS(DDB_INVALID, S->restock(G.region, "tea", -4, &e_));
	EXPECT_STATUS(DDB_INVALID, S->restock(G.region, "", 4, &e_));
	/* Beyond the int64 range: refused, not wrapped or rounded. */
	EXPECT_STATUS(DDB_INVALID, S->restock(G.region, "tea", INT64_MAX - 10, &e_));
	assert_unchanged(G.region, &before);
	/* A restock writes no outbox event. */
	assert_int_equal(count_rows(G.region, DDB_DS_OUTBOX, NULL), 1);
}

/* ---- orders ---------------------------------------------------------------- */

static void test_place_ok(void **state)
{
	(void)state;
	add_product(G.region, "pen", 10);
	struct ddb_order o = order(REGION "-000001", REGION, "alice", "pen", 4, 199, 123456);
	assert_status(DDB_OK, place(G.region, &o));

	struct ddb_stock st;
	assert_true(get_stock(G.region, "pen", &st));
	assert_int_equal(st.stock, 6);
	assert_int_equal(st.received, 10);
	assert_int_equal(st.sold, 4);

	size_t n;
	struct ddb_row *rows = scan_all(G.region, DDB_DS_ORDERS, NULL, &n);
	assert_int_equal(n, 1);
	assert_order_equal(&o, &rows[0].order);
	free(rows);

	struct ddb_event ev[4];
	assert_int_equal(read_events(G.region, 1, DDB_OUTBOX_NEW, ev, 4), 1);
	assert_int_equal(ev[0].seq, 2);
	assert_string_equal(ev[0].id, REGION ":2");
	assert_string_equal(ev[0].origin, REGION);
	assert_int_equal(ev[0].kind, DDB_EVENT_ORDER);
	assert_int_equal(ev[0].state, DDB_OUTBOX_NEW);
	assert_int_equal(ev[0].created_at_us, 123456);
	assert_order_equal(&o, &ev[0].order);

	/* Exactly the stock left: fine, down to zero. */
	struct ddb_order all = simple_order(2, "pen", 6);
	assert_status(DDB_OK, place(G.region, &all));
	assert_int_equal(stock_of(G.region, "pen"), 0);
	/* A price of zero is allowed. */
	add_product(G.region, "free", 1);
	struct ddb_order gift = order("gift-1", REGION, "bob", "free", 1, 0, 5);
	assert_status(DDB_OK, place(G.region, &gift));
}

static void test_place_insufficient(void **state)
{
	(void)state;
	add_product(G.region, "pen", 3);
	add_product(G.region, "empty", 0);
	struct snapshot before;
	take_snapshot(G.region, &before);
	struct ddb_order o = simple_order(1, "pen", 4);
	assert_status(DDB_INSUFFICIENT, place(G.region, &o));
	struct ddb_order z = simple_order(2, "empty", 1);
	assert_status(DDB_INSUFFICIENT, place(G.region, &z));
	/* No order, no event, the stock untouched. */
	assert_unchanged(G.region, &before);
	/* The id is free: once there is stock, the same order goes through. */
	CHECK(S->restock(G.region, "pen", 1, &e_));
	assert_status(DDB_OK, place(G.region, &o));
	assert_int_equal(stock_of(G.region, "pen"), 0);
}

static void test_place_unknown_sku(void **state)
{
	(void)state;
	add_product(G.region, "pen", 3);
	struct snapshot before;
	take_snapshot(G.region, &before);
	struct ddb_order o = simple_order(1, "no-such-sku", 1);
	assert_status(DDB_NOT_FOUND, place(G.region, &o));
	assert_unchanged(G.region, &before);
}

static void test_place_duplicate(void **state)
{
	(void)state;
	add_product(G.region, "pen", 10);
	add_product(G.region, "ink", 10);
	struct ddb_order o = simple_order(1, "pen", 4);
	assert_status(DDB_OK, place(G.region, &o));

	struct snapshot before;
	take_snapshot(G.region, &before);
	/* The same order again, and other orders under its id: DUPLICATE,
	 * whatever they ask for, even what could not be placed now. */
	assert_status(DDB_DUPLICATE, place(G.region, &o));
	struct ddb_order other = o;
	copy(other.sku, sizeof other.sku, "ink");
	other.quantity = 1;
	assert_status(DDB_DUPLICATE, place(G.region, &other));
	other.quantity = 1000;
	assert_status(DDB_DUPLICATE, place(G.region, &other));
	copy(other.sku, sizeof other.sku, "no-such-sku");
	assert_status(DDB_DUPLICATE, place(G.region, &other));
	assert_unchanged(G.region, &before);

	/* Twice in one batch: the second is the duplicate. */
	struct ddb_order pair[2] = { simple_order(2, "pen", 1), simple_order(2, "ink", 1) };
	enum ddb_status r[2];
	CHECK(S->place_orders(G.region, pair, 2, r, &e_));
	assert_status(DDB_OK, r[0]);
	assert_status(DDB_DUPLICATE, r[1]);
	assert_int_equal(stock_of(G.region, "pen"), 5);
	assert_int_equal(stock_of(G.region, "ink"), 10);
	assert_int_equal(count_rows(G.region, DDB_DS_ORDERS, NULL), 2);
	assert_int_equal(count_rows(G.region, DDB_DS_OUTBOX, NULL), 4);
}

static void test_place_mixed_batch(void **state)
{
	(void)state;
	add_product(G.region, "a", 5);
	add_product(G.region, "b", 1);
	struct ddb_order first = simple_order(1, "a", 1);
	assert_status(DDB_OK, place(G.region, &first));

	struct ddb_order batch[8] = {
		simple_order(10, "a", 2),          /* OK */
		simple_order(11, "b", 2),          /* INSUFFICIENT */
		simple_order(12, "b", 1),          /* OK */
		simple_order(13, "nope", 1),       /* NOT_FOUND */
		simple_order(14, "a", 0),          /* INVALID */
		simple_order(1, "a", 1),           /* DUPLICATE of the first */
		simple_order(15, "b", 1),          /* INSUFFICIENT: 12 took the last */
		simple_order(16, "a", 2),          /* OK, stock 0 after */
	};
	enum ddb_status want[8] = { DDB_OK, DDB_INSUFFICIENT, DDB_OK, DDB_NOT_FOUND,
		                    DDB_INVALID, DDB_DUPLICATE, DDB_INSUFFICIENT, DDB_OK };
	enum ddb_status r[8];
	CHECK(S->place_orders(G.region, batch, 8, r, &e_));
	for (int i = 0; i < 8; i++)
		if (r[i] != want[i])
			fail_msg("order %d: %s, want %s", i, ddb_status_name(r[i]),
			         ddb_status_name(want[i]));

	assert_int_equal(stock_of(G.region, "a"), 0);
	assert_int_equal(stock_of(G.region, "b"), 0);
	size_t n;
	struct ddb_row *rows = scan_all(G.region, DDB_DS_ORDERS, NULL, &n);
	assert_int_equal(n, 4);
	assert_order_equal(&first, &rows[0].order);
	assert_order_equal(&batch[0], &rows[1].order);
	assert_order_equal(&batch[2], &rows[2].order);
	assert_order_equal(&batch[7], &rows[3].order);
	free(rows);
	/* Events for the OK ones, in batch order, numbered without gaps. */
	struct ddb_event ev[8];
	assert_int_equal(read_events(G.region, 3, DDB_OUTBOX_NEW, ev, 8), 3);
	assert_int_equal(ev[0].seq, 4);
	assert_order_equal(&batch[0], &ev[0].order);
	assert_int_equal(ev[1].seq, 5);
	assert_order_equal(&batch[2], &ev[1].order);
	assert_int_equal(ev[2].seq, 6);
	assert_order_equal(&batch[7], &ev[2].order);
}

static void test_place_invalid(void **state)
{
	(void)state;
	add_product(G.region, "a", 100);
	struct snapshot before;
	take_snapshot(G.region, &before);

	struct ddb_order bad[12];
	int nb = 0;
	bad[nb++] = simple_order(1, "a", 0);
	bad[nb++] = simple_order(2, "a", -1);
	bad[nb++] = simple_order(3, "a", INT64_MIN);
	bad[nb] = simple_order(4, "a", INT64_MAX / 2 + 1); /* * 2 overflows */
	bad[nb++].unit_price_cents = 2;
	bad[nb] = simple_order(5, "a", 1);
	bad[nb++].unit_price_cents = -1;
	bad[nb++] = order("", REGION, "c", "a", 1, 1, 1);
	bad[nb++] = order("id-7", "", "c", "a", 1, 1, 1);
	bad[nb++] = order("id-8", REGION, "c", "", 1, 1, 1);
	bad[nb] = simple_order(9, "a", 1);
	memset(bad[nb++].id, 'i', DDB_ID_MAX);
	bad[nb] = simple_order(10, "a", 1);
	memset(bad[nb++].customer, 'c', DDB_NAME_MAX);
	bad[nb] = simple_order(11, "a", 1);
	memset(bad[nb++].sku, 's', DDB_SKU_MAX);
	bad[nb] = simple_order(12, "a", 1);
	memset(bad[nb++].region, 'r', DDB_NAME_MAX);
	enum ddb_status r[12];
	CHECK(S->place_orders(G.region, bad, (size_t)nb, r, &e_));
	for (int i = 0; i < nb; i++)
		if (r[i] != DDB_INVALID)
			fail_msg("order %d: %s, want INVALID", i, ddb_status_name(r[i]));
	assert_unchanged(G.region, &before);

	/* The largest product that fits is fine (and then short of stock). */
	struct ddb_order big = simple_order(20, "a", INT64_MAX / 2);
	big.unit_price_cents = 2;
	assert_status(DDB_INSUFFICIENT, place(G.region, &big));
	/* An empty customer is allowed; an empty batch is a no-op. */
	struct ddb_order anon = order("anon-1", REGION, "", "a", 1, 5, 1);
	assert_status(DDB_OK, place(G.region, &anon));
	CHECK(S->place_orders(G.region, NULL, 0, NULL, &e_));
	assert_int_equal(count_rows(G.region, DDB_DS_ORDERS, NULL), 1);
}

/* An order with a name that is not UTF-8: a backend that keeps text as
 * UTF-8 (postgres, mongo) refuses that order alone (ddbsim/validate.h);
 * SQLite keeps the bytes. */
static void test_place_not_utf8(void **state)
{
	(void)state;
	add_product(G.region, "a", 100);
	struct ddb_order o[2] = { simple_order(1, "a", 1),
	                          order("id-latin1", REGION, "caf\xe9", "a", 1, 1, 1) };
	enum ddb_status r[2];
	CHECK(S->place_orders(G.region, o, 2, r, &e_));
	assert_status(DDB_OK, r[0]);
	assert_status(strcmp(G.name, "sqlite") == 0 ? DDB_OK : DDB_INVALID, r[1]);
}

/* An order takes effect whole or not at all, whichever path refused it, and
 * the books balance over a long mixed run. */
static void test_order_atomicity(void **state)
{
	(void)state;
	const char *skus[] = { "s0", "s1", "s2", "s3", "s4" };
	int64_t received[5] = { 0 };
	for (int i = 0; i < 5; i++) {
		add_product(G.region, skus[i], 20 + i);
		received[i] = 20 + i;
	}
	struct ddb_order batch[100];
	enum ddb_status r[100];
	int64_t sold[5] = { 0 };
	int ok = 0;
	unsigned x = 12345;
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 100; i++) {
			x = x * 1103515245u + 12345u;
			int k = (int)((x >> 16) % 5);
			int64_t q = (int64_t)((x >> 8) % 4); /* 0 is invalid */
			/* Every fifth id repeats an earlier one. */
			int id = (i % 5 == 4) ? (int)((x >> 4) % (unsigned)(round * 100 + i + 1))
			                      : round * 100 + i;
			batch[i] = simple_order(id, skus[k], q);
			if (i % 17 == 0)
				copy(batch[i].sku, sizeof batch[i].sku, "ghost");
		}
		CHECK(S->place_orders(G.region, batch, 100, r, &e_));
		for (int i = 0; i < 100; i++) {
			if (r[i] != DDB_OK)
				continue;
			ok++;
			for (int k = 0; k < 5; k++)
				if (!strcmp(batch[i].sku, skus[k]))
					sold[k] += batch[i].quantity;
		}
		CHECK(S->restock(G.region, skus[round], 7, &e_));
		received[round] += 7;
	}
	assert_true(ok > 30);
	for (int k = 0; k < 5; k++) {
		struct ddb_stock st;
		assert_true(get_stock(G.region, skus[k], &st));
		assert_int_equal(st.received, received[k]);
		assert_int_equal(st.sold, sold[k]);
		assert_int_equal(st.stock, received[k] - sold[k]);
	}
	/* One ORDER event per order row, with that order's payload. */
	size_t no, ne;
	struct ddb_row *orders = scan_all(G.region, DDB_DS_ORDERS, NULL, &no);
	struct ddb_row *events = scan_all(G.region, DDB_DS_OUTBOX, NULL, &ne);
	assert_int_equal(no, (size_t)ok);
	assert_int_equal(ne, 5 + (size_t)ok);
	for (size_t i = 0; i < no; i++) {
		size_t found = 0;
		for (size_t j = 0; j < ne; j++)
			if (events[j].event.kind == DDB_EVENT_ORDER &&
			    !strcmp(events[j].event.order.id, orders[i].order.id)) {
				assert_order_equal(&orders[i].order, &events[j].event.order);
				found++;
			}
		assert_int_equal(found, 1);
	}
	free(orders);
	free(events);
}

static void test_large_batch(void **state)
{
	(void)state;
	add_product(G.region, "bulk", 1000);
	enum { N = 1000 };
	struct ddb_order *batch = calloc(N, sizeof *batch);
	enum ddb_status *r = calloc(N, sizeof *r);
	assert_non_null(batch);
	assert_non_null(r);
	for (int i = 0; i < N; i++)
		batch[i] = simple_order(i, "bulk", 1 + i % 2);
	CHECK(S->place_orders(G.region, batch, N, r, &e_));
	int ok = 0;
	int64_t taken = 0;
	for (int i = 0; i < N; i++) {
		if (r[i] == DDB_OK) {
			ok++;
			taken += batch[i].quantity;
		} else {
			assert_status(DDB_INSUFFICIENT, r[i]);
		}
	}
	assert_int_equal(taken, 1000);
	assert_int_equal(stock_of(G.region, "bulk"), 0);
	/* Page through the outbox: every event once, seq contiguous. */
	struct ddb_event ev[64];
	int64_t after = 0;
	int seen = 0;
	size_t n;
	while ((n = read_events(G.region, after, DDB_OUTBOX_NEW, ev, 64)) > 0) {
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(ev[i].seq, after + 1 + (int64_t)i);
			seen++;
		}
		after = ev[n - 1].seq;
	}
	assert_int_equal(seen, ok + 1);
	free(batch);
	free(r);
}

/* ---- hostile and non-ASCII text --------------------------------------------- */

static void test_strings_roundtrip(void **state)
{
	(void)state;
	static const char *const texts[] = {
		"Robert'); DROP TABLE orders;--",
		"Café Ünïcødé 東京",
		"quote ' double \" semi ; back \\ percent % under _",
		"tab\there\nnewline",
		"1' OR '1'='1",
		"$1 ?1 :name @x",
	};
	enum { NT = sizeof texts / sizeof texts[0] };
	struct ddb_order orders[NT + 1];
	struct ddb_product prods[NT + 1];
	for (int i = 0; i < NT; i++) {
		char id[DDB_ID_MAX], sku[DDB_SKU_MAX];
		snprintf(id, sizeof id, "id-%d %.60s", i, texts[i]);
		snprintf(sku, sizeof sku, "%.50s %d", texts[i], i);
		prods[i] = product(sku, texts[i], 100, 1, texts[(i + 1) % NT], (int64_t)i + 1, NULL);
		orders[i] = order(id, i % 2 ? texts[1] : REGION, texts[i], sku, 2, 300, 7);
	}
	/* Every field at its longest. */
	struct ddb_order *lo = &orders[NT];
	memset(lo, 0, sizeof *lo);
	memset(lo->id, 'I', DDB_ID_MAX - 1);
	memset(lo->region, 'R', DDB_NAME_MAX - 1);
	memset(lo->customer, 'C', DDB_NAME_MAX - 1);
	memset(lo->sku, 'S', DDB_SKU_MAX - 1);
	lo->quantity = 1;
	lo->unit_price_cents = INT64_MAX;
	lo->placed_at_us = INT64_MIN;
	struct ddb_product *lp = &prods[NT];
	*lp = product("x", "x", INT64_MAX, INT64_MAX, NULL);
	memcpy(lp->sku, lo->sku, DDB_SKU_MAX);
	memset(lp->name, 'N', DDB_TITLE_MAX - 1);

	/* Through the outbox to the center and the order logs, byte for byte;
	 * without a regional store, the events it would have written. */
	struct ddb_event ev[2 * NT + 4];
	size_t n = 0;
	if (has(REG)) {
		for (int i = 0; i <= NT; i++) {
			CHECK(S->upsert_product(G.region, &prods[i], 1, &e_));
			CHECK(S->restock(G.region, prods[i].sku, i < NT ? 10 : 1, &e_));
		}
		enum ddb_status r[NT + 1];
		CHECK(S->place_orders(G.region, orders, NT + 1, r, &e_));
		for (int i = 0; i <= NT; i++)
			assert_status(DDB_OK, r[i]);
		n = read_events(G.region, 0, DDB_OUTBOX_NEW, ev, 2 * NT + 4);
		assert_int_equal(n, 2 * NT + 2);
		size_t np = 0, no = 0;
		for (size_t i = 0; i < n; i++) {
			if (ev[i].kind == DDB_EVENT_PRODUCT)
				assert_product_equal(&prods[np++], &ev[i].product);
			else
				assert_order_equal(&orders[no++], &ev[i].order);
		}
		assert_int_equal(np, NT + 1);
		assert_int_equal(no, NT + 1);
	} else {
		for (int i = 0; i <= NT; i++) {
			ev[n] = product_event(&prods[i], (int64_t)n + 1);
			n++;
		}
		for (int i = 0; i <= NT; i++) {
			ev[n] = order_event(&orders[i], (int64_t)n + 1);
			n++;
		}
	}
	if (has(CEN))
		CHECK(S->apply_events(G.central, ev, n, 9, &e_));
	if (has(DOC)) {
		CHECK(S->put_order_logs(G.docs, orders, NT + 1, 10, &e_));
		CHECK(S->put_components(G.docs, prods, NT + 1, &e_));
	}

	struct {
		void *h;
		int ds;
	} order_sets[] = {
		{ G.region, DDB_DS_ORDERS },
		{ G.central, DDB_DS_CENTRAL_ORDERS },
		{ G.docs, DDB_DS_ORDER_LOGS },
	}, prod_sets[] = {
		{ G.region, DDB_DS_PRODUCTS },
		{ G.central, DDB_DS_CENTRAL_PRODUCTS },
		{ G.docs, DDB_DS_COMPONENTS },
	};
	for (size_t s = 0; s < 3; s++) {
		if (!order_sets[s].h)
			continue;
		size_t nr;
		struct ddb_row *rows = scan_all(order_sets[s].h, order_sets[s].ds, NULL, &nr);
		assert_int_equal(nr, NT + 1);
		for (int i = 0; i <= NT; i++) {
			size_t hits = 0;
			for (size_t j = 0; j < nr; j++)
				if (!memcmp(rows[j].order.id, orders[i].id, DDB_ID_MAX)) {
					assert_order_equal(&orders[i], &rows[j].order);
					hits++;
				}
			assert_int_equal(hits, 1);
		}
		free(rows);
		/* Region filter with a non-ASCII region. */
		assert_int_equal(count_rows(order_sets[s].h, order_sets[s].ds, texts[1]), NT / 2);
	}
	for (size_t s = 0; s < 3; s++) {
		if (!prod_sets[s].h)
			continue;
		size_t nr;
		struct ddb_row *rows = scan_all(prod_sets[s].h, prod_sets[s].ds, NULL, &nr);
		assert_int_equal(nr, NT + 1);
		for (size_t i = 0; i <= NT; i++) {
			size_t hits = 0;
			for (size_t j = 0; j < nr; j++)
				if (!strcmp(rows[j].product.sku, prods[i].sku)) {
					assert_product_equal(&prods[i], &rows[j].product);
					hits++;
				}
			assert_int_equal(hits, 1);
		}
		free(rows);
	}
}

/* ---- outbox ------------------------------------------------------------------ */

static void place_n(void *h, const char *sku, int n)
{
	for (int i = 1; i <= n; i++) {
		struct ddb_order o = simple_order(i, sku, 1);
		assert_status(DDB_OK, place(h, &o));
	}
}

static void test_outbox_read(void **state)
{
	(void)state;
	add_product(G.region, "a", 100); /* event 1 */
	place_n(G.region, "a", 6);        /* events 2..7 */
	struct ddb_event ev[8];
	size_t n = read_events(G.region, 0, DDB_OUTBOX_NEW, ev, 3);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ev[i].seq, (int64_t)i + 1);
	n = read_events(G.region, 3, DDB_OUTBOX_NEW, ev, 8);
	assert_int_equal(n, 4);
	assert_int_equal(ev[0].seq, 4);
	assert_int_equal(ev[3].seq, 7);
	assert_int_equal(read_events(G.region, 7, DDB_OUTBOX_NEW, ev, 8), 0);
	assert_int_equal(read_events(G.region, 1000, DDB_OUTBOX_NEW, ev, 8), 0);
	assert_int_equal(read_events(G.region, -5, DDB_OUTBOX_NEW, ev, 8), 7);
	assert_int_equal(read_events(G.region, 0, DDB_OUTBOX_PUBLISHED, ev, 8), 0);
	assert_int_equal(read_events(G.region, 0, DDB_OUTBOX_APPLIED, ev, 8), 0);
	/* max 0 reads nothing. */
	size_t got = 99;
	CHECK(S->outbox_read(G.region, 0, DDB_OUTBOX_NEW, ev, 0, &got, &e_));
	assert_int_equal(got, 0);
	EXPECT_STATUS(DDB_INVALID, S->outbox_read(G.region, 0, 3, ev, 8, &got, &e_));
	EXPECT_STATUS(DDB_INVALID, S->outbox_read(G.region, 0, -1, ev, 8, &got, &e_));
}

static void test_outbox_mark_monotonic(void **state)
{
	(void)state;
	add_product(G.region, "a", 100);
	place_n(G.region, "a", 5); /* events 1..6 */
	int64_t pub[] = { 2, 3, 5 };
	CHECK(S->outbox_mark(G.region, pub, 3, DDB_OUTBOX_PUBLISHED, &e_));
	struct ddb_event ev[8];
	size_t n = read_events(G.region, 0, DDB_OUTBOX_NEW, ev, 8);
	assert_int_equal(n, 3);
	assert_int_equal(ev[0].seq, 1);
	assert_int_equal(ev[1].seq, 4);
	assert_int_equal(ev[2].seq, 6);
	n = read_events(G.region, 0, DDB_OUTBOX_PUBLISHED, ev, 8);
	assert_int_equal(n, 3);
	assert_int_equal(ev[0].state, DDB_OUTBOX_PUBLISHED);
	/* A state read that skips past the first events. */
	n = read_events(G.region, 2, DDB_OUTBOX_PUBLISHED, ev, 8);
	assert_int_equal(n, 2);
	assert_int_equal(ev[0].seq, 3);

	int64_t app[] = { 3, 4 };
	CHECK(S->outbox_mark(G.region, app, 2, DDB_OUTBOX_APPLIED, &e_));
	/* Never down: PUBLISHED or NEW on an APPLIED event changes nothing,
	 * NEW on a PUBLISHED one neither. */
	int64_t back[] = { 3, 4, 5 };
	CHECK(S->outbox_mark(G.region, back, 3, DDB_OUTBOX_PUBLISHED, &e_));
	CHECK(S->outbox_mark(G.region, back, 3, DDB_OUTBOX_NEW, &e_));
	/* Marking twice, and an unknown seq, are harmless. */
	CHECK(S->outbox_mark(G.region, app, 2, DDB_OUTBOX_APPLIED, &e_));
	int64_t unknown[] = { 999 };
	CHECK(S->outbox_mark(G.region, unknown, 1, DDB_OUTBOX_APPLIED, &e_));
	CHECK(S->outbox_mark(G.region, NULL, 0, DDB_OUTBOX_APPLIED, &e_));

	int want[] = { DDB_OUTBOX_NEW, DDB_OUTBOX_PUBLISHED, DDB_OUTBOX_APPLIED,
		       DDB_OUTBOX_APPLIED, DDB_OUTBOX_PUBLISHED, DDB_OUTBOX_NEW };
	size_t nr;
	struct ddb_row *rows = scan_all(G.region, DDB_DS_OUTBOX, NULL, &nr);
	assert_int_equal(nr, 6);
	for (size_t i = 0; i < nr; i++) {
		assert_int_equal(rows[i].event.seq, (int64_t)i + 1);
		assert_int_equal(rows[i].event.state, want[i]);
	}
	free(rows);
	n = read_events(G.region, 0, DDB_OUTBOX_APPLIED, ev, 8);
	assert_int_equal(n, 2);
	assert_int_equal(ev[0].seq, 3);
	assert_int_equal(ev[1].seq, 4);
	assert_int_equal(read_events(G.region, 3, DDB_OUTBOX_APPLIED, ev, 8), 1);

	EXPECT_STATUS(DDB_INVALID, S->outbox_mark(G.region, app, 2, 7, &e_));
	EXPECT_STATUS(DDB_INVALID, S->outbox_mark(G.region, app, 2, -1, &e_));
}

static void test_outbox_requeue(void **state)
{
	(void)state;
	add_product(G.region, "a", 100);
	place_n(G.region, "a", 3); /* events 1..4 */
	int64_t pub[] = { 1, 2, 3 };
	CHECK(S->outbox_mark(G.region, pub, 3, DDB_OUTBOX_PUBLISHED, &e_));
	int64_t app[] = { 1 };
	CHECK(S->outbox_mark(G.region, app, 1, DDB_OUTBOX_APPLIED, &e_));
	CHECK(S->outbox_requeue(G.region, &e_));
	struct ddb_event ev[8];
	size_t n = read_events(G.region, 0, DDB_OUTBOX_NEW, ev, 8);
	assert_int_equal(n, 3);
	assert_int_equal(ev[0].seq, 2);
	assert_int_equal(ev[1].seq, 3);
	assert_int_equal(ev[2].seq, 4);
	assert_int_equal(read_events(G.region, 0, DDB_OUTBOX_PUBLISHED, ev, 8), 0);
	assert_int_equal(read_events(G.region, 0, DDB_OUTBOX_APPLIED, ev, 8), 1);
	/* Nothing published: a no-op. */
	CHECK(S->outbox_requeue(G.region, &e_));
	assert_int_equal(read_events(G.region, 0, DDB_OUTBOX_NEW, ev, 8), 3);
}

/* ---- central ------------------------------------------------------------------ */

static void test_apply_idempotent(void **state)
{
	(void)state;
	struct ddb_product p = product("lamp", "Lamp", 2500, 1, "bulb", (int64_t)1, NULL);
	CHECK(S->upsert_product(G.region, &p, 1, &e_));
	CHECK(S->restock(G.region, "lamp", 50, &e_));
	place_n(G.region, "lamp", 4);
	struct ddb_event ev[8];
	size_t n = read_events(G.region, 0, DDB_OUTBOX_NEW, ev, 8);
	assert_int_equal(n, 5);
	CHECK(S->apply_events(G.central, ev, n, 1000, &e_));

	size_t no, np;
	struct ddb_row *orders = scan_all(G.central, DDB_DS_CENTRAL_ORDERS, NULL, &no);
	struct ddb_row *prods = scan_all(G.central, DDB_DS_CENTRAL_PRODUCTS, NULL, &np);
	assert_int_equal(no, 4);
	assert_int_equal(np, 1);
	assert_product_equal(&p, &prods[0].product);
	for (size_t i = 0; i < no; i++) {
		assert_order_equal(&ev[i + 1].order, &orders[i].order);
		assert_int_equal(orders[i].applied_at_us, 1000);
	}

	/* Again, all of it, and again in pieces and out of order: the same
	 * rows, applied_at_us of the first application. */
	CHECK(S->apply_events(G.central, ev, n, 2000, &e_));
	struct ddb_event shuffled[3] = { ev[3], ev[0], ev[1] };
	CHECK(S->apply_events(G.central, shuffled, 3, 3000, &e_));
	CHECK(S->apply_events(G.central, NULL, 0, 4000, &e_));
	size_t no2, np2;
	struct ddb_row *orders2 = scan_all(G.central, DDB_DS_CENTRAL_ORDERS, NULL, &no2);
	struct ddb_row *prods2 = scan_all(G.central, DDB_DS_CENTRAL_PRODUCTS, NULL, &np2);
	assert_int_equal(no2, no);
	assert_int_equal(np2, np);
	for (size_t i = 0; i < no; i++) {
		assert_order_equal(&orders[i].order, &orders2[i].order);
		assert_int_equal(orders2[i].applied_at_us, 1000);
	}
	assert_product_equal(&prods[0].product, &prods2[0].product);
	free(orders);
	free(prods);
	free(orders2);
	free(prods2);
}

static void test_apply_product_versions(void **state)
{
	(void)state;
	struct ddb_product v1 = product("chair", "Chair", 100, 1, "leg", (int64_t)4, NULL);
	struct ddb_product v2 = product("chair", "Chair II", 120, 2, "seat", (int64_t)1, "leg",
	                                (int64_t)3, NULL);
	struct ddb_product v3 = product("chair", "Chair III", 140, 3, NULL);
	struct ddb_event e2 = product_event(&v2, 2), e1 = product_event(&v1, 1),
	                 e3 = product_event(&v3, 3);
	size_t n;
	struct ddb_row *rows;

	CHECK(S->apply_events(G.central, &e2, 1, 1, &e_));
	CHECK(S->apply_events(G.central, &e1, 1, 2, &e_)); /* older: ignored */
	rows = scan_all(G.central, DDB_DS_CENTRAL_PRODUCTS, NULL, &n);
	assert_int_equal(n, 1);
	assert_product_equal(&v2, &rows[0].product);
	free(rows);
	struct ddb_product v2b = v2; /* same version, other content: ignored */
	copy(v2b.name, sizeof v2b.name, "Impostor");
	struct ddb_event e2b = product_event(&v2b, 4);
	CHECK(S->apply_events(G.central, &e2b, 1, 3, &e_));
	rows = scan_all(G.central, DDB_DS_CENTRAL_PRODUCTS, NULL, &n);
	assert_product_equal(&v2, &rows[0].product);
	free(rows);
	/* In one batch, the highest version wins whatever the order. */
	struct ddb_event batch[3] = { e3, e1, e2 };
	CHECK(S->apply_events(G.central, batch, 3, 4, &e_));
	rows = scan_all(G.central, DDB_DS_CENTRAL_PRODUCTS, NULL, &n);
	assert_int_equal(n, 1);
	assert_product_equal(&v3, &rows[0].product);
	free(rows);
}

/* Two regions may number their events alike; the center keys orders by
 * their global id, so neither is lost. */
static void test_apply_two_regions(void **state)
{
	(void)state;
	struct ddb_order a = order("eu-000001", "eu", "c", "x", 1, 10, 1);
	struct ddb_order b = order("us-000001", "us", "c", "x", 2, 10, 1);
	struct ddb_event ea = order_event(&a, 1), eb = order_event(&b, 1);
	CHECK(S->apply_events(G.central, &ea, 1, 5, &e_));
	CHECK(S->apply_events(G.central, &eb, 1, 6, &e_));
	assert_int_equal(count_rows(G.central, DDB_DS_CENTRAL_ORDERS, NULL), 2);
	assert_int_equal(count_rows(G.central, DDB_DS_CENTRAL_ORDERS, "eu"), 1);
	assert_int_equal(count_rows(G.central, DDB_DS_CENTRAL_ORDERS, "us"), 1);
}

static void test_apply_invalid(void **state)
{
	(void)state;
	struct ddb_order good = order("ok-1", "eu", "c", "x", 1, 10, 1);
	struct ddb_order bad = order("bad-1", "eu", "c", "x", 0, 10, 1);
	struct ddb_event evs[2] = { order_event(&good, 1), order_event(&bad, 2) };
	EXPECT_STATUS(DDB_INVALID, S->apply_events(G.central, evs, 2, 1, &e_));
	evs[1] = order_event(&good, 2);
	evs[1].kind = 99;
	EXPECT_STATUS(DDB_INVALID, S->apply_events(G.central, evs, 2, 1, &e_));
	struct ddb_product p = product("p", "P", 1, 0, NULL);
	evs[1] = product_event(&p, 2);
	EXPECT_STATUS(DDB_INVALID, S->apply_events(G.central, evs, 2, 1, &e_));
	/* All or nothing: the good event was not applied either. */
	assert_int_equal(count_rows(G.central, DDB_DS_CENTRAL_ORDERS, NULL), 0);
	assert_int_equal(count_rows(G.central, DDB_DS_CENTRAL_PRODUCTS, NULL), 0);
}

struct sales_lines {
	struct ddb_sales line[16];
	size_t n;
};

static void collect_sales(void *ctx, const struct ddb_sales *line)
{
	struct sales_lines *s = ctx;
	assert_true(s->n < 16);
	s->line[s->n++] = *line;
}

static void test_sales_report(void **state)
{
	(void)state;
	struct sales_lines s = { .n = 0 };
	CHECK(S->sales_report(G.central, DDB_SALES_BY_REGION, collect_sales, &s, &e_));
	assert_int_equal(s.n, 0);

	struct ddb_order o[] = {
		order("eu-1", "eu", "c", "pen", 2, 150, 1),
		order("eu-2", "eu", "c", "ink", 1, 999, 1),
		order("us-1", "us", "c", "pen", 5, 150, 1),
		order("EU-1", "EU", "c", "Pen", 1, 1, 1),
		order("ap-1", "ap", "c", "ink", 3, 1000, 1),
		order("ap-2", "ap", "c", "pen", 1, 0, 1),
	};
	enum { NO = sizeof o / sizeof o[0] };
	struct ddb_event ev[NO];
	for (int i = 0; i < NO; i++)
		ev[i] = order_event(&o[i], i + 1);
	CHECK(S->apply_events(G.central, ev, NO, 1, &e_));
	CHECK(S->apply_events(G.central, ev, NO, 2, &e_)); /* counted once */

	CHECK(S->sales_report(G.central, DDB_SALES_BY_REGION, collect_sales, &s, &e_));
	struct ddb_sales want_r[] = {
		{ "EU", 1, 1, 1 },
		{ "ap", 2, 4, 3000 },
		{ "eu", 2, 3, 1299 },
		{ "us", 1, 5, 750 },
	};
	assert_int_equal(s.n, 4);
	for (size_t i = 0; i < s.n; i++) {
		assert_string_equal(s.line[i].key, want_r[i].key);
		assert_int_equal(s.line[i].orders, want_r[i].orders);
		assert_int_equal(s.line[i].units, want_r[i].units);
		assert_int_equal(s.line[i].revenue_cents, want_r[i].revenue_cents);
	}

	s.n = 0;
	CHECK(S->sales_report(G.central, DDB_SALES_BY_PRODUCT, collect_sales, &s, &e_));
	struct ddb_sales want_p[] = {
		{ "Pen", 1, 1, 1 },
		{ "ink", 2, 4, 3999 },
		{ "pen", 3, 8, 1050 },
	};
	assert_int_equal(s.n, 3);
	for (size_t i = 0; i < s.n; i++) {
		assert_string_equal(s.line[i].key, want_p[i].key);
		assert_int_equal(s.line[i].orders, want_p[i].orders);
		assert_int_equal(s.line[i].units, want_p[i].units);
		assert_int_equal(s.line[i].revenue_cents, want_p[i].revenue_cents);
	}
	EXPECT_STATUS(DDB_INVALID, S->sales_report(G.central, 0, collect_sales, &s, &e_));
	EXPECT_STATUS(DDB_INVALID, S->sales_report(G.central, 3, collect_sales, &s, &e_));
}

/* ---- documents ------------------------------------------------------------------ */

static void test_order_logs(void **state)
{
	(void)state;
	struct ddb_order o[] = {
		order("n-2", "north", "c2", "pen", 2, 10, 20),
		order("n-1", "north", "c1", "ink", 1, 20, 10),
		order("s-1", "south", "c3", "pen", 4, 10, 30),
	};
	CHECK(S->put_order_logs(G.docs, o, 3, 100, &e_));
	CHECK(S->put_order_logs(G.docs, o, 3, 100, &e_));
	CHECK(S->put_order_logs(G.docs, &o[1], 1, 200, &e_)); /* a late duplicate */
	CHECK(S->put_order_logs(G.docs, NULL, 0, 300, &e_));
	size_t n;
	struct ddb_row *rows = scan_all(G.docs, DDB_DS_ORDER_LOGS, NULL, &n);
	assert_int_equal(n, 3);
	assert_order_equal(&o[1], &rows[0].order);
	assert_order_equal(&o[0], &rows[1].order);
	assert_order_equal(&o[2], &rows[2].order);
	free(rows);
	rows = scan_all(G.docs, DDB_DS_ORDER_LOGS, "north", &n);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].order.id, "n-1");
	assert_string_equal(rows[1].order.id, "n-2");
	free(rows);
	assert_int_equal(count_rows(G.docs, DDB_DS_ORDER_LOGS, "east"), 0);

	struct ddb_order bad[2] = { order("ok", "north", "c", "pen", 1, 1, 1),
		                    order("", "north", "c", "pen", 1, 1, 1) };
	EXPECT_STATUS(DDB_INVALID, S->put_order_logs(G.docs, bad, 2, 1, &e_));
	assert_int_equal(count_rows(G.docs, DDB_DS_ORDER_LOGS, NULL), 3);
}

static void test_components_docs(void **state)
{
	(void)state;
	struct ddb_product v1 = product("car", "Car", 1, 1, "wheel", (int64_t)4, "engine",
	                                (int64_t)1, NULL);
	struct ddb_product bike = product("bike", "Bike", 1, 5, "wheel", (int64_t)2, NULL);
	struct ddb_product two[2] = { v1, bike };
	CHECK(S->put_components(G.docs, two, 2, &e_));
	CHECK(S->put_components(G.docs, two, 2, &e_));
	size_t n;
	struct ddb_row *rows = scan_all(G.docs, DDB_DS_COMPONENTS, NULL, &n);
	assert_int_equal(n, 2);
	assert_product_equal(&bike, &rows[0].product);
	assert_product_equal(&v1, &rows[1].product);
	free(rows);

	struct ddb_product v2 = product("car", "Car 2", 2, 2, "engine", (int64_t)1, "seat",
	                                (int64_t)5, NULL);
	CHECK(S->put_components(G.docs, &v2, 1, &e_));
	CHECK(S->put_components(G.docs, &v1, 1, &e_)); /* older: kept v2 */
	rows = scan_all(G.docs, DDB_DS_COMPONENTS, NULL, &n);
	assert_int_equal(n, 2);
	assert_product_equal(&v2, &rows[1].product);
	free(rows);

	struct ddb_product bad = product("car", "Car 3", 3, 3, "x", (int64_t)0, NULL);
	EXPECT_STATUS(DDB_INVALID, S->put_components(G.docs, &bad, 1, &e_));
	rows = scan_all(G.docs, DDB_DS_COMPONENTS, NULL, &n);
	assert_product_equal(&v2, &rows[1].product);
	free(rows);
}

/* ---- scans -------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_scans_bytewise(void **state)
{
	(void)state;
	/* Bytewise: upper case before lower, ' ' before letters, UTF-8
	 * lead bytes after ASCII; not locale or case-insensitive order. */
	const char *keys[] = { "b", "B", "a", "A", "é", "z", "aa", "a b", "Z9", "_", "10", "9" };
	enum { NK = sizeof keys / sizeof keys[0] };
	struct ddb_order o[NK];
	struct ddb_event ev[NK];
	for (int i = 0; i < NK; i++) {
		if (has(REG))
			add_product(G.region, keys[i], 1);
		o[i] = order(keys[i], REGION, "c", keys[i], 1, 1, i);
		ev[i] = order_event(&o[i], i + 1);
	}
	if (has(REG)) {
		enum ddb_status r[NK];
		CHECK(S->place_orders(G.region, o, NK, r, &e_));
		for (int i = 0; i < NK; i++)
			assert_status(DDB_OK, r[i]);
	}
	struct ddb_product prods[NK];
	struct ddb_event pev[NK];
	for (int i = 0; i < NK; i++) {
		prods[i] = product(keys[i], "p", 1, 1, NULL);
		pev[i] = product_event(&prods[i], i + 1);
	}
	if (has(CEN)) {
		CHECK(S->apply_events(G.central, ev, NK, 1, &e_));
		CHECK(S->apply_events(G.central, pev, NK, 1, &e_));
	}
	if (has(DOC)) {
		CHECK(S->put_order_logs(G.docs, o, NK, 1, &e_));
		CHECK(S->put_components(G.docs, prods, NK, &e_));
	}

	const char *sorted[NK];
	memcpy(sorted, keys, sizeof sorted);
	qsort(sorted, NK, sizeof sorted[0], cmp_str);

	struct {
		void *h;
		int ds;
	} sets[] = {
		{ G.region, DDB_DS_PRODUCTS },         { G.region, DDB_DS_INVENTORY },
		{ G.region, DDB_DS_ORDERS },           { G.central, DDB_DS_CENTRAL_PRODUCTS },
		{ G.central, DDB_DS_CENTRAL_ORDERS }, { G.docs, DDB_DS_ORDER_LOGS },
		{ G.docs, DDB_DS_COMPONENTS },
	};
	for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
		if (!sets[s].h)
			continue;
		size_t n;
		struct ddb_row *rows = scan_all(sets[s].h, sets[s].ds, NULL, &n);
		assert_int_equal(n, NK);
		for (int i = 0; i < NK; i++) {
			const char *key = sets[s].ds == DDB_DS_INVENTORY ? rows[i].stock.sku
			                  : (sets[s].ds == DDB_DS_ORDERS ||
			                     sets[s].ds == DDB_DS_CENTRAL_ORDERS ||
			                     sets[s].ds == DDB_DS_ORDER_LOGS)
			                          ? rows[i].order.id
			                          : rows[i].product.sku;
			if (strcmp(key, sorted[i]) != 0)
				fail_msg("dataset %d row %d: '%s', want '%s'", sets[s].ds, i, key,
				         sorted[i]);
		}
		free(rows);
	}
	/* The outbox scans in seq order. */
	if (!has(REG))
		return;
	size_t n;
	struct ddb_row *rows = scan_all(G.region, DDB_DS_OUTBOX, NULL, &n);
	assert_int_equal(n, 2 * NK);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(rows[i].event.seq, (int64_t)i + 1);
	free(rows);
}

static void test_scan_region_filter(void **state)
{
	(void)state;
	struct ddb_order o[] = {
		order("o-3", "north", "c", "x", 1, 1, 1), order("o-1", "south", "c", "x", 1, 1, 1),
		order("o-2", "north", "c", "x", 1, 1, 1), order("o-4", "northeast", "c", "x", 1, 1, 1),
		order("o-5", "North", "c", "x", 1, 1, 1),
	};
	enum { NO = sizeof o / sizeof o[0] };
	enum ddb_status r[NO];
	struct ddb_event ev[NO];
	for (int i = 0; i < NO; i++)
		ev[i] = order_event(&o[i], i + 1);
	if (has(REG)) {
		add_product(G.region, "x", 100);
		CHECK(S->place_orders(G.region, o, NO, r, &e_));
		for (int i = 0; i < NO; i++)
			assert_status(DDB_OK, r[i]);
	}
	if (has(CEN))
		CHECK(S->apply_events(G.central, ev, NO, 1, &e_));
	if (has(DOC))
		CHECK(S->put_order_logs(G.docs, o, NO, 1, &e_));
	struct {
		void *h;
		int ds;
	} sets[] = { { G.region, DDB_DS_ORDERS },
		     { G.central, DDB_DS_CENTRAL_ORDERS },
		     { G.docs, DDB_DS_ORDER_LOGS } };
	for (size_t s = 0; s < 3; s++) {
		if (!sets[s].h)
			continue;
		size_t n;
		struct ddb_row *rows = scan_all(sets[s].h, sets[s].ds, "north", &n);
		assert_int_equal(n, 2); /* exact match: not "northeast", not "North" */
		assert_string_equal(rows[0].order.id, "o-2");
		assert_string_equal(rows[1].order.id, "o-3");
		free(rows);
		assert_int_equal(count_rows(sets[s].h, sets[s].ds, NULL), NO);
		assert_int_equal(count_rows(sets[s].h, sets[s].ds, "west"), 0);
		assert_int_equal(count_rows(sets[s].h, sets[s].ds, ""), 0);
	}
}

/* Two cursors at once on one instance, of the same dataset and of others,
 * each sees every row; a cursor closed early leaks nothing. */
static void test_scan_cursors(void **state)
{
	(void)state;
	for (int i = 0; i < 5; i++) {
		char sku[8];
		snprintf(sku, sizeof sku, "k%d", i);
		add_product(G.region, sku, 3);
	}
	void *c1 = NULL, *c2 = NULL, *c3 = NULL;
	CHECK(S->scan_open(G.region, DDB_DS_PRODUCTS, NULL, &c1, &e_));
	CHECK(S->scan_open(G.region, DDB_DS_PRODUCTS, NULL, &c2, &e_));
	CHECK(S->scan_open(G.region, DDB_DS_INVENTORY, NULL, &c3, &e_));
	struct ddb_row a, b, c;
	for (int i = 0; i < 5; i++) {
		CHECK(S->scan_next(c1, &a, &e_));
		CHECK(S->scan_next(c2, &b, &e_));
		CHECK(S->scan_next(c3, &c, &e_));
		assert_string_equal(a.product.sku, b.product.sku);
		assert_string_equal(a.product.sku, c.stock.sku);
	}
	EXPECT_STATUS(DDB_NOT_FOUND, S->scan_next(c1, &a, &e_));
	S->scan_close(c1);
	S->scan_close(c2);
	S->scan_close(c3);
	CHECK(S->scan_open(G.region, DDB_DS_PRODUCTS, NULL, &c1, &e_));
	CHECK(S->scan_next(c1, &a, &e_));
	S->scan_close(c1);
	/* Empty datasets end at once. */
	CHECK(S->scan_open(G.region, DDB_DS_ORDERS, NULL, &c1, &e_));
	EXPECT_STATUS(DDB_NOT_FOUND, S->scan_next(c1, &a, &e_));
	S->scan_close(c1);
	if (has(CEN)) {
		CHECK(S->scan_open(G.central, DDB_DS_CENTRAL_ORDERS, NULL, &c1, &e_));
		EXPECT_STATUS(DDB_NOT_FOUND, S->scan_next(c1, &a, &e_));
		S->scan_close(c1);
	}
	void *bad = NULL;
	EXPECT_STATUS(DDB_INVALID, S->scan_open(G.region, 0, NULL, &bad, &e_));
	EXPECT_STATUS(DDB_INVALID, S->scan_open(G.region, 99, NULL, &bad, &e_));
	assert_null(bad);
}

static void test_inventory_sold(void **state)
{
	(void)state;
	add_product(G.region, "a", 10);
	add_product(G.region, "b", 4);
	add_product(G.region, "c", 0);
	struct ddb_order o[] = { simple_order(1, "a", 3), simple_order(2, "b", 4),
		                 simple_order(3, "a", 2), simple_order(4, "b", 1) };
	enum ddb_status r[4];
	CHECK(S->place_orders(G.region, o, 4, r, &e_));
	assert_status(DDB_INSUFFICIENT, r[3]);
	CHECK(S->restock(G.region, "b", 6, &e_));
	size_t n;
	struct ddb_row *rows = scan_all(G.region, DDB_DS_INVENTORY, NULL, &n);
	assert_int_equal(n, 3);
	struct ddb_stock want[] = { { "a", 5, 10, 5 }, { "b", 6, 10, 4 }, { "c", 0, 0, 0 } };
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(rows[i].stock.sku, want[i].sku);
		assert_int_equal(rows[i].stock.stock, want[i].stock);
		assert_int_equal(rows[i].stock.received, want[i].received);
		assert_int_equal(rows[i].stock.sold, want[i].sold);
	}
	free(rows);
}

/* ---- reset ------------------------------------------------------------------- */

static void test_reset(void **state)
{
	(void)state;
	struct ddb_product p = product("a", "A", 1, 1, "b", (int64_t)1, NULL);
	struct ddb_order o = simple_order(1, "a", 1);
	struct ddb_event ev[8];
	size_t n = 0;
	if (has(REG)) {
		CHECK(S->upsert_product(G.region, &p, 1, &e_));
		CHECK(S->restock(G.region, "a", 10, &e_));
		place_n(G.region, "a", 3);
		n = read_events(G.region, 0, DDB_OUTBOX_NEW, ev, 8);
	} else {
		ev[n++] = product_event(&p, 1);
		for (int i = 1; i <= 3; i++) {
			struct ddb_order oi = simple_order(i, "a", 1);
			ev[n] = order_event(&oi, (int64_t)n + 1);
			n++;
		}
	}
	if (has(CEN))
		CHECK(S->apply_events(G.central, ev, n, 1, &e_));
	if (has(DOC)) {
		CHECK(S->put_order_logs(G.docs, &o, 1, 1, &e_));
		CHECK(S->put_components(G.docs, &p, 1, &e_));
	}

	if (has(REG)) {
		CHECK(S->reset(G.region, &e_));
		for (int ds = DDB_DS_PRODUCTS; ds <= DDB_DS_OUTBOX; ds++)
			assert_int_equal(count_rows(G.region, ds, NULL), 0);
	}
	if (has(CEN)) {
		CHECK(S->reset(G.central, &e_));
		assert_int_equal(count_rows(G.central, DDB_DS_CENTRAL_ORDERS, NULL), 0);
		assert_int_equal(count_rows(G.central, DDB_DS_CENTRAL_PRODUCTS, NULL), 0);
		struct sales_lines s = { .n = 0 };
		CHECK(S->sales_report(G.central, DDB_SALES_BY_PRODUCT, collect_sales, &s, &e_));
		assert_int_equal(s.n, 0);
	}
	if (has(DOC)) {
		CHECK(S->reset(G.docs, &e_));
		assert_int_equal(count_rows(G.docs, DDB_DS_ORDER_LOGS, NULL), 0);
		assert_int_equal(count_rows(G.docs, DDB_DS_COMPONENTS, NULL), 0);
	}

	/* Numbering starts again at 1; the old ids are free. */
	struct ddb_event again = order_event(&o, 2);
	if (has(REG)) {
		add_product(G.region, "a", 5);
		assert_status(DDB_OK, place(G.region, &o));
		n = read_events(G.region, 0, DDB_OUTBOX_NEW, ev, 8);
		assert_int_equal(n, 2);
		assert_int_equal(ev[0].seq, 1);
		assert_string_equal(ev[0].id, REGION ":1");
		assert_int_equal(ev[1].seq, 2);
		assert_string_equal(ev[1].id, REGION ":2");
		again = ev[1];
	}
	if (has(CEN)) {
		CHECK(S->apply_events(G.central, &again, 1, 1, &e_));
		assert_int_equal(count_rows(G.central, DDB_DS_CENTRAL_ORDERS, NULL), 1);
	}
	if (has(DOC)) {
		CHECK(S->put_order_logs(G.docs, &o, 1, 2, &e_));
		assert_int_equal(count_rows(G.docs, DDB_DS_ORDER_LOGS, NULL), 1);
	}
}

/* Two instances of one node (two connections to one database) see each
 * other's commits, and an order id is unique across both. */
static void test_two_instances_one_node(void **state)
{
	(void)state;
	void *h2 = open_node(REGION, DDB_ROLE_REGIONAL);
	add_product(G.region, "a", 10);
	struct ddb_order o1 = simple_order(1, "a", 4), o2 = simple_order(2, "a", 4),
	                 o3 = simple_order(3, "a", 4);
	assert_status(DDB_OK, place(G.region, &o1));
	assert_status(DDB_OK, place(h2, &o2));
	assert_status(DDB_INSUFFICIENT, place(G.region, &o3));
	assert_status(DDB_DUPLICATE, place(h2, &o1));
	assert_int_equal(stock_of(h2, "a"), 2);
	struct ddb_event ev[4];
	assert_int_equal(read_events(h2, 0, DDB_OUTBOX_NEW, ev, 4), 3);
	S->close(h2);
}

/* ---- customers ------------------------------------------------------------------ */

static void test_customers_new(void **state)
{
	(void)state;
	void *h = G.cust;
	struct ddb_customer c = customer("cust-1", 1, 1234, "Seattle", "WA");
	struct ddb_customer out;
	EXPECT_STATUS(DDB_NOT_FOUND, S->get_customer(h, "cust-1", &out, &e_));
	assert_status(DDB_OK, put_customer(h, &c));
	expect_customer(h, &c);
	assert_customers_scan(h, &c, 1);
	assert_string_equal(find_ids(h, 1234, 1234, NULL, NULL, 0), "cust-1");
	struct ddb_customer_filter one = { .zip_min = 0, .zip_max = 9999 };
	struct found f;
	find_into(h, &one, &f);
	assert_int_equal(f.n, 1);
	assert_customer_equal(&c, &f.c[0]);
	free(f.c);

	/* The same record again: DUPLICATE, nothing changed. */
	size_t n;
	struct ddb_row *before = customers_snapshot(h, &n);
	assert_status(DDB_DUPLICATE, put_customer(h, &c));
	assert_customers_unchanged(h, before, n);
	/* An empty batch is a no-op. */
	CHECK(S->put_customers(h, NULL, 0, NULL, &e_));
	assert_int_equal(count_rows(h, DDB_DS_CUSTOMERS, NULL), 1);
	/* A customer write is no order or product event. */
	if (h == G.region)
		assert_int_equal(count_rows(G.region, DDB_DS_OUTBOX, NULL), 0);
}

static void test_customers_versions(void **state)
{
	(void)state;
	void *h = G.cust;
	struct ddb_customer v2 = customer("alice", 2, 2100, "Boston", "MA");
	assert_status(DDB_OK, put_customer(h, &v2));

	/* Same version with other content, and lower versions: DUPLICATE,
	 * nothing changed. */
	size_t n;
	struct ddb_row *before = customers_snapshot(h, &n);
	struct ddb_customer same = customer("alice", 2, 6000, "Chicago", "IL");
	copy(same.name, sizeof same.name, "Impostor");
	copy(same.home, sizeof same.home, "elsewhere");
	same.updated_at_us = 1;
	struct ddb_customer lower = customer("alice", 1, 2100, "Boston", "MA");
	struct ddb_customer lower_dead = tombstone(v2, 1);
	assert_status(DDB_DUPLICATE, put_customer(h, &same));
	assert_status(DDB_DUPLICATE, put_customer(h, &lower));
	assert_status(DDB_DUPLICATE, put_customer(h, &lower_dead));
	assert_customers_unchanged(h, before, n);
	expect_customer(h, &v2);

	/* Higher: replaces every field, optional ones emptied included. */
	struct ddb_customer v7 = customer("alice", 7, 9800, "Denver", "CO");
	copy(v7.unique_id, sizeof v7.unique_id, "another-unique-id");
	copy(v7.home, sizeof v7.home, "otherregion");
	v7.name[0] = '\0';
	v7.email[0] = '\0';
	v7.updated_at_us = -5;
	assert_status(DDB_OK, put_customer(h, &v7));
	expect_customer(h, &v7);
	/* Versions need not be consecutive; a late v3 is stale. */
	struct ddb_customer v3 = customer("alice", 3, 1, "Late", "LT");
	assert_status(DDB_DUPLICATE, put_customer(h, &v3));
	expect_customer(h, &v7);
	/* The highest version there is. */
	struct ddb_customer vmax = customer("alice", INT64_MAX, 1, "Last", "LS");
	assert_status(DDB_OK, put_customer(h, &vmax));
	assert_status(DDB_DUPLICATE, put_customer(h, &vmax));
	assert_customers_scan(h, &vmax, 1);
}

static void test_customers_mixed_batch(void **state)
{
	(void)state;
	void *h = G.cust;
	struct ddb_customer first[2] = { customer("a", 2, 10, "A", "AA"),
		                         customer("b", 2, 20, "B", "BB") };
	enum ddb_status ok2[2] = { DDB_OK, DDB_OK };
	put_customers_expect(h, first, 2, ok2);

	struct ddb_customer batch[10] = {
		customer("c", 1, 30, "C", "CC"),   /* OK: new */
		first[0],                          /* DUPLICATE: same version */
		customer("b", 1, 21, "B1", "BB"),  /* DUPLICATE: lower */
		customer("a", 3, 11, "A3", "AA"),  /* OK: higher */
		customer("e", 0, 50, "E", "EE"),   /* INVALID: version 0 */
		customer("c", 1, 31, "C'", "CC"),  /* DUPLICATE: c v1 is stored now */
		customer("c", 2, 32, "C2", "CC"),  /* OK: replaces the c of this batch */
		customer("d", 1, 40, "D", "DD"),   /* OK: new */
		customer("b", 9, 29, "B9", "BB"),  /* OK: higher */
		customer("a", 3, 12, "A3'", "AA"), /* DUPLICATE: a v3 of this batch */
	};
	enum ddb_status want[10] = { DDB_OK,      DDB_DUPLICATE, DDB_DUPLICATE, DDB_OK,
		                     DDB_INVALID, DDB_DUPLICATE, DDB_OK,        DDB_OK,
		                     DDB_OK,      DDB_DUPLICATE };
	put_customers_expect(h, batch, 10, want);

	struct ddb_customer final[4] = { batch[3], batch[8], batch[6], batch[7] };
	assert_customers_scan(h, final, 4);
	struct ddb_customer out;
	EXPECT_STATUS(DDB_NOT_FOUND, S->get_customer(h, "e", &out, &e_));
	assert_string_equal(find_ids(h, 0, 100, NULL, NULL, 0), "a,b,c,d");
}

/* A delete is a tombstone: a newer version that hides the record from
 * find; get and the scan still return it; stale writes do not bring it
 * back; only a higher version does. */
static void test_customers_tombstone(void **state)
{
	(void)state;
	void *h = G.cust;
	struct ddb_customer live = customer("t", 1, 500, "Austin", "TX");
	assert_status(DDB_OK, put_customer(h, &live));
	assert_string_equal(find_ids(h, 500, 500, NULL, NULL, 0), "t");
	struct ddb_customer dead = tombstone(live, 2);
	assert_status(DDB_OK, put_customer(h, &dead));
	expect_customer(h, &dead);
	assert_customers_scan(h, &dead, 1);
	assert_string_equal(find_ids(h, INT64_MIN, INT64_MAX, NULL, NULL, 0), "");
	assert_string_equal(find_ids(h, 500, 500, "Austin", "TX", 0), "");

	/* Stale writes, the tombstone replayed: nothing changes. */
	size_t n;
	struct ddb_row *before = customers_snapshot(h, &n);
	struct ddb_customer same_version_live = live;
	same_version_live.version = 2;
	assert_status(DDB_DUPLICATE, put_customer(h, &live));
	assert_status(DDB_DUPLICATE, put_customer(h, &same_version_live));
	assert_status(DDB_DUPLICATE, put_customer(h, &dead));
	assert_customers_unchanged(h, before, n);
	assert_string_equal(find_ids(h, INT64_MIN, INT64_MAX, NULL, NULL, 0), "");

	/* An older tombstone leaves a newer live record live. */
	struct ddb_customer x3 = customer("x", 3, 501, "Austin", "TX");
	assert_status(DDB_OK, put_customer(h, &x3));
	struct ddb_customer x_old_dead = tombstone(x3, 2);
	assert_status(DDB_DUPLICATE, put_customer(h, &x_old_dead));
	expect_customer(h, &x3);

	/* The first write of an id may be its tombstone (the delete arrived
	 * before the record); the record then is stale. */
	struct ddb_customer g4 = customer("g", 4, 502, "Austin", "TX");
	struct ddb_customer g_dead = tombstone(g4, 5);
	assert_status(DDB_OK, put_customer(h, &g_dead));
	assert_status(DDB_DUPLICATE, put_customer(h, &g4));
	expect_customer(h, &g_dead);
	assert_string_equal(find_ids(h, 0, 1000, "austin", NULL, 0), "x");

	/* A higher version after the tombstone is a live record again. */
	struct ddb_customer reborn = customer("t", 3, 600, "Dallas", "TX");
	assert_status(DDB_OK, put_customer(h, &reborn));
	expect_customer(h, &reborn);
	assert_string_equal(find_ids(h, 0, 1000, NULL, "tx", 0), "t,x");
	struct ddb_customer want[3] = { g_dead, reborn, x3 };
	assert_customers_scan(h, want, 3);
}

static void test_customers_find_zip(void **state)
{
	(void)state;
	void *h = G.cust;
	/* Ids in another order than zips. */
	struct ddb_customer cs[] = {
		customer("z-250", 1, 250, "C", "S"), customer("z-100", 1, 100, "C", "S"),
		customer("zz", 1, 199, "C", "S"),    customer("z-200", 1, 200, "C", "S"),
		customer("z-300", 1, 300, "C", "S"), customer("A", 1, 250, "C", "S"),
		customer("z-301", 1, 301, "C", "S"), customer("z-0", 1, 0, "C", "S"),
		customer("z-max", 1, INT64_MAX, "C", "S"),
	};
	enum { NC = sizeof cs / sizeof cs[0] };
	enum ddb_status want[NC];
	for (int i = 0; i < NC; i++)
		want[i] = DDB_OK;
	put_customers_expect(h, cs, NC, want);

	/* Both bounds inclusive. */
	assert_string_equal(find_ids(h, 200, 300, NULL, NULL, 0), "A,z-200,z-250,z-300");
	assert_string_equal(find_ids(h, 199, 250, NULL, NULL, 0), "A,z-200,z-250,zz");
	assert_string_equal(find_ids(h, 200, 200, NULL, NULL, 0), "z-200");
	assert_string_equal(find_ids(h, 201, 249, NULL, NULL, 0), "");
	assert_string_equal(find_ids(h, 302, 1000000, NULL, NULL, 0), "");
	/* An empty range selects nothing. */
	assert_string_equal(find_ids(h, 300, 200, NULL, NULL, 0), "");
	assert_string_equal(find_ids(h, INT64_MIN, 0, NULL, NULL, 0), "z-0");
	assert_string_equal(find_ids(h, INT64_MIN, -1, NULL, NULL, 0), "");
	assert_string_equal(find_ids(h, INT64_MAX, INT64_MAX, NULL, NULL, 0), "z-max");
	const char *all = "A,z-0,z-100,z-200,z-250,z-300,z-301,z-max,zz";
	assert_string_equal(find_ids(h, 0, INT64_MAX, NULL, NULL, 0), all);
	assert_string_equal(find_ids(h, INT64_MIN, INT64_MAX, NULL, NULL, 0), all);

	/* find returns the whole records. */
	struct ddb_customer_filter f250 = { .zip_min = 250, .zip_max = 250 };
	struct found f;
	find_into(h, &f250, &f);
	assert_int_equal(f.n, 2);
	assert_customer_equal(&cs[5], &f.c[0]);
	assert_customer_equal(&cs[0], &f.c[1]);
	free(f.c);
}

static void test_customers_find_city_state(void **state)
{
	(void)state;
	void *h = G.cust;
	struct ddb_customer cs[] = {
		customer("c01", 1, 10, "Seattle", "WA"),
		customer("c02", 1, 20, "SEATTLE", "wa"),
		customer("c03", 1, 30, "seattle", "Wa"),
		customer("c04", 1, 40, "Seattle ", "WA"), /* a trailing space */
		customer("c05", 1, 50, "Tacoma", "WA"),
		customer("c06", 1, 60, "Seattle", "OR"),
		customer("c07", 1, 70, "São Paulo", "SP"),
		customer("c08", 1, 80, "", ""),
		customer("c09", 1, 90, "Seattlé", "WA"),
		tombstone(customer("c10", 1, 15, "SeAtTlE", "WA"), 2),
		customer("c11", 1, 25, "Seattle", "WAS"),
	};
	enum { NC = sizeof cs / sizeof cs[0] };
	enum ddb_status want[NC];
	for (int i = 0; i < NC; i++)
		want[i] = DDB_OK;
	put_customers_expect(h, cs, NC, want);
	const int64_t lo = INT64_MIN, hi = INT64_MAX;

	/* Equality, ignoring ASCII case. */
	assert_string_equal(find_ids(h, lo, hi, "SEATTLE", NULL, 0), "c01,c02,c03,c06,c11");
	assert_string_equal(find_ids(h, lo, hi, "seattle", NULL, 0), "c01,c02,c03,c06,c11");
	assert_string_equal(find_ids(h, lo, hi, NULL, "wa", 0), "c01,c02,c03,c04,c05,c09");
	assert_string_equal(find_ids(h, lo, hi, NULL, "WA", 0), "c01,c02,c03,c04,c05,c09");
	assert_string_equal(find_ids(h, lo, hi, "Seattle ", NULL, 0), "c04");
	assert_string_equal(find_ids(h, lo, hi, "Seattl", NULL, 0), "");
	/* Combined: city, state and zip range together. */
	assert_string_equal(find_ids(h, lo, hi, "seattle", "wA", 0), "c01,c02,c03");
	assert_string_equal(find_ids(h, 15, 25, "Seattle", "wa", 0), "c02");
	assert_string_equal(find_ids(h, 15, 30, "SEATTLE", NULL, 0), "c02,c03,c11");
	assert_string_equal(find_ids(h, 0, 100, "tacoma", "or", 0), "");
	/* Only ASCII letters fold: 'S' and 's' do, 'Ã' and 'ã', 'É' and 'é'
	 * do not. */
	assert_string_equal(find_ids(h, lo, hi, "SãO PAULO", "sp", 0), "c07");
	assert_string_equal(find_ids(h, lo, hi, "SÃO PAULO", NULL, 0), "");
	assert_string_equal(find_ids(h, lo, hi, "SEATTLé", NULL, 0), "c09");
	assert_string_equal(find_ids(h, lo, hi, "SEATTLÉ", NULL, 0), "");
	/* No pattern matching. */
	assert_string_equal(find_ids(h, lo, hi, "Seattle%", NULL, 0), "");
	assert_string_equal(find_ids(h, lo, hi, "S_attle", NULL, 0), "");
	assert_string_equal(find_ids(h, lo, hi, "%", NULL, 0), "");
	assert_string_equal(find_ids(h, lo, hi, NULL, "W*", 0), "");
	/* "" is a value, NULL is any. */
	assert_string_equal(find_ids(h, lo, hi, "", NULL, 0), "c08");
	assert_string_equal(find_ids(h, lo, hi, NULL, "", 0), "c08");
	assert_string_equal(find_ids(h, lo, hi, NULL, NULL, 0),
	                    "c01,c02,c03,c04,c05,c06,c07,c08,c09,c11");
}

static void test_customers_find_limit(void **state)
{
	(void)state;
	void *h = G.cust;
	struct ddb_customer cs[10];
	enum ddb_status want[10];
	for (int i = 0; i < 10; i++) {
		char id[8];
		snprintf(id, sizeof id, "k%02d", 9 - i); /* stored in reverse */
		cs[i] = customer(id, 1, 10 * (9 - i), i % 2 ? "Lyon" : "Nice", "FR");
		/* k00, k02, ... in Lyon; k01, k03, ... in Nice */
		want[i] = DDB_OK;
	}
	put_customers_expect(h, cs, 10, want);
	struct ddb_customer dead = tombstone(cs[8], 2); /* k01 */
	assert_status(DDB_OK, put_customer(h, &dead));

	const char *live = "k00,k02,k03,k04,k05,k06,k07,k08,k09";
	/* The limit counts the records emitted: the tombstone is no part. */
	assert_string_equal(find_ids(h, 0, 100, NULL, NULL, 3), "k00,k02,k03");
	assert_string_equal(find_ids(h, 0, 100, NULL, NULL, 1), "k00");
	assert_string_equal(find_ids(h, 0, 100, NULL, NULL, 0), live);
	assert_string_equal(find_ids(h, 0, 100, NULL, NULL, 9), live);
	assert_string_equal(find_ids(h, 0, 100, NULL, NULL, 10), live);
	assert_string_equal(find_ids(h, 0, 100, NULL, NULL, SIZE_MAX), live);
	/* After the filter, the first ones by id. */
	assert_string_equal(find_ids(h, 35, 100, NULL, NULL, 2), "k04,k05");
	assert_string_equal(find_ids(h, 0, 100, "NICE", "fr", 2), "k03,k05");
	assert_string_equal(find_ids(h, 0, 100, "lyon", NULL, 2), "k00,k02");
	assert_string_equal(find_ids(h, 95, 100, NULL, NULL, 2), "");
}

static void test_customers_invalid(void **state)
{
	(void)state;
	void *h = G.cust;
	struct ddb_customer existing = customer("existing", 5, 100, "Oslo", "NO");
	assert_status(DDB_OK, put_customer(h, &existing));
	size_t n;
	struct ddb_row *before = customers_snapshot(h, &n);

	struct ddb_customer bad[20];
	int nb = 0;
	bad[nb++] = customer("", 1, 1, "C", "S");
	bad[nb] = customer("no-home", 1, 1, "C", "S");
	bad[nb++].home[0] = '\0';
	bad[nb++] = customer("v0", 0, 1, "C", "S");
	bad[nb++] = customer("vneg", -1, 1, "C", "S");
	bad[nb++] = customer("vmin", INT64_MIN, 1, "C", "S");
	bad[nb++] = customer("zneg", 1, -1, "C", "S");
	bad[nb++] = customer("zmin", 1, INT64_MIN, "C", "S");
	bad[nb] = customer("id", 1, 1, "C", "S");
	memset(bad[nb++].id, 'i', DDB_NAME_MAX);
	bad[nb] = customer("unique", 1, 1, "C", "S");
	memset(bad[nb++].unique_id, 'u', DDB_NAME_MAX);
	bad[nb] = customer("city", 1, 1, "C", "S");
	memset(bad[nb++].city, 'c', DDB_TITLE_MAX);
	bad[nb] = customer("state", 1, 1, "C", "S");
	memset(bad[nb++].state, 's', DDB_NAME_MAX);
	bad[nb] = customer("name", 1, 1, "C", "S");
	memset(bad[nb++].name, 'n', DDB_TITLE_MAX);
	bad[nb] = customer("email", 1, 1, "C", "S");
	memset(bad[nb++].email, 'e', DDB_TITLE_MAX);
	bad[nb] = customer("home", 1, 1, "C", "S");
	memset(bad[nb++].home, 'h', DDB_NAME_MAX);
	bad[nb] = customer("deleted2", 1, 1, "C", "S");
	bad[nb++].deleted = 2;
	bad[nb] = customer("deletedneg", 1, 1, "C", "S");
	bad[nb++].deleted = -1;
	/* A higher version of a stored record, invalid: the stored one stays. */
	bad[nb++] = customer("existing", 6, -5, "Oslo", "NO");
	bad[nb] = customer("existing", 7, 100, "Oslo", "NO");
	bad[nb++].home[0] = '\0';
	enum ddb_status want[20];
	for (int i = 0; i < nb; i++)
		want[i] = DDB_INVALID;
	put_customers_expect(h, bad, (size_t)nb, want);
	for (int i = 0; i < nb; i++)
		put_customers_expect(h, &bad[i], 1, want);
	assert_customers_unchanged(h, before, n);

	/* Among valid records, only the invalid ones are refused. */
	struct ddb_customer mixed[3] = { customer("ok-1", 1, 1, "C", "S"), bad[5],
		                         customer("ok-2", 1, 2, "C", "S") };
	enum ddb_status want_mixed[3] = { DDB_OK, DDB_INVALID, DDB_OK };
	put_customers_expect(h, mixed, 3, want_mixed);
	assert_string_equal(find_ids(h, 0, 10, NULL, NULL, 0), "ok-1,ok-2");

	/* The limits are fine: every string at its longest, the optional
	 * ones empty, zip 0 and the largest one. */
	struct ddb_customer full;
	memset(&full, 0, sizeof full);
	memset(full.id, 'I', DDB_NAME_MAX - 1);
	memset(full.unique_id, 'U', DDB_NAME_MAX - 1);
	memset(full.city, 'C', DDB_TITLE_MAX - 1);
	memset(full.state, 'S', DDB_NAME_MAX - 1);
	memset(full.name, 'N', DDB_TITLE_MAX - 1);
	memset(full.email, 'E', DDB_TITLE_MAX - 1);
	memset(full.home, 'H', DDB_NAME_MAX - 1);
	full.zip_prefix = INT64_MAX;
	full.version = INT64_MAX;
	full.updated_at_us = INT64_MIN;
	struct ddb_customer sparse = customer("sparse", 1, 0, "", "");
	sparse.unique_id[0] = sparse.name[0] = sparse.email[0] = '\0';
	assert_status(DDB_OK, put_customer(h, &full));
	assert_status(DDB_OK, put_customer(h, &sparse));
	expect_customer(h, &full);
	expect_customer(h, &sparse);
	assert_string_equal(find_ids(h, INT64_MAX, INT64_MAX, full.city, full.state, 0), full.id);

	/* Bad arguments. */
	struct ddb_customer out;
	enum ddb_status r[1];
	struct ddb_customer_filter any = { .zip_min = INT64_MIN, .zip_max = INT64_MAX };
	struct found f = { 0 };
	before = customers_snapshot(h, &n);
	EXPECT_STATUS(DDB_INVALID, S->get_customer(h, "", &out, &e_));
	EXPECT_STATUS(DDB_INVALID, S->get_customer(h, NULL, &out, &e_));
	EXPECT_STATUS(DDB_INVALID, S->put_customers(h, NULL, 1, r, &e_));
	struct ddb_customer never = customer("never", 1, 1, "C", "S");
	EXPECT_STATUS(DDB_INVALID, S->put_customers(h, &never, 1, NULL, &e_));
	EXPECT_STATUS(DDB_INVALID, S->find_customers(h, NULL, collect_customer, &f, &e_));
	EXPECT_STATUS(DDB_INVALID, S->find_customers(h, &any, NULL, &f, &e_));
	assert_int_equal(f.n, 0);
	assert_customers_unchanged(h, before, n);
}

static void test_customers_get_unknown(void **state)
{
	(void)state;
	void *h = G.cust;
	struct ddb_customer out;
	struct ddb_err e = { "" };
	assert_status(DDB_NOT_FOUND, S->get_customer(h, "nobody", &out, &e));
	assert_true(e.msg[0] != '\0');
	struct ddb_customer alice = customer("alice", 1, 1, "C", "S");
	assert_status(DDB_OK, put_customer(h, &alice));
	/* Ids are exact, case included. */
	const char *others[] = { "Alice", "ALICE", "alice ", " alice", "alic", "alicee", "nobody" };
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
		struct ddb_err e2 = { "" };
		enum ddb_status st = S->get_customer(h, others[i], &out, &e2);
		if (st != DDB_NOT_FOUND)
			fail_msg("get_customer '%s': %s (%s), want NOT_FOUND", others[i],
			         ddb_status_name(st), e2.msg);
	}
	/* Another case is another customer. */
	struct ddb_customer Alice = customer("Alice", 1, 2, "C", "S");
	assert_status(DDB_OK, put_customer(h, &Alice));
	expect_customer(h, &alice);
	expect_customer(h, &Alice);
	struct ddb_customer both[2] = { Alice, alice };
	assert_customers_scan(h, both, 2);
}

static void test_customers_strings_roundtrip(void **state)
{
	(void)state;
	void *h = G.cust;
	static const char *const texts[] = {
		"Robert'); DROP TABLE customers;--",
		"Café Ünïcødé 東京",
		"quote ' double \" semi ; back \\ pct % _",
		"tab\there\nnewline",
		"1' OR '1'='1",
		"$1 ?1 :name @x {\"$gt\": \"\"}",
	};
	enum { NT = sizeof texts / sizeof texts[0] };
	struct ddb_customer cs[NT];
	enum ddb_status want[NT];
	for (int i = 0; i < NT; i++) {
		struct ddb_customer *c = &cs[i];
		memset(c, 0, sizeof *c);
		snprintf(c->id, sizeof c->id, "%d %.55s", i, texts[i]);
		copy(c->unique_id, sizeof c->unique_id, texts[(i + 1) % NT]);
		c->zip_prefix = 1000 + i;
		copy(c->city, sizeof c->city, texts[i]);
		copy(c->state, sizeof c->state, texts[(i + 2) % NT]);
		copy(c->name, sizeof c->name, texts[(i + 3) % NT]);
		copy(c->email, sizeof c->email, texts[(i + 4) % NT]);
		copy(c->home, sizeof c->home, texts[(i + 5) % NT]);
		c->version = i + 1;
		c->updated_at_us = -i;
		want[i] = DDB_OK;
	}
	put_customers_expect(h, cs, NT, want);
	for (int i = 0; i < NT; i++)
		expect_customer(h, &cs[i]);
	size_t n;
	struct ddb_row *rows = scan_all(h, DDB_DS_CUSTOMERS, NULL, &n);
	assert_int_equal(n, NT);
	for (int i = 0; i < NT; i++) {
		size_t hits = 0;
		for (size_t j = 0; j < n; j++)
			if (!strcmp(rows[j].customer.id, cs[i].id)) {
				assert_customer_equal(&cs[i], &rows[j].customer);
				hits++;
			}
		assert_int_equal(hits, 1);
	}
	free(rows);
	/* Found by its own city and state, in other ASCII case. */
	for (int i = 0; i < NT; i++) {
		char city[DDB_TITLE_MAX], st[DDB_NAME_MAX];
		copy(city, sizeof city, cs[i].city);
		copy(st, sizeof st, cs[i].state);
		for (char *p = city; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		for (char *p = st; *p; p++)
			*p = (char)ascii_lower((unsigned char)*p);
		struct ddb_customer_filter filter = { .zip_min = 0, .zip_max = 9999, .city = city,
			                              .state = st };
		struct found f;
		find_into(h, &filter, &f);
		assert_int_equal(f.n, 1);
		assert_customer_equal(&cs[i], &f.c[0]);
		free(f.c);
	}
}

static void test_customers_scan(void **state)
{
	(void)state;
	void *h = G.cust;
	/* Bytewise, tombstones included. */
	const char *keys[] = { "b", "B", "a", "A", "é", "z", "aa", "a b", "Z9", "_", "10", "9" };
	enum { NK = sizeof keys / sizeof keys[0] };
	struct ddb_customer cs[NK];
	enum ddb_status want[NK];
	for (int i = 0; i < NK; i++) {
		cs[i] = customer(keys[i], 1 + i, i, "C", "S");
		if (i % 3 == 1)
			cs[i] = tombstone(cs[i], 2 + i);
		want[i] = DDB_OK;
	}
	put_customers_expect(h, cs, NK, want);

	const char *sorted[NK];
	memcpy(sorted, keys, sizeof sorted);
	qsort(sorted, NK, sizeof sorted[0], cmp_str);
	struct ddb_customer in_order[NK];
	char live[256] = "";
	for (int i = 0; i < NK; i++) {
		for (int j = 0; j < NK; j++)
			if (!strcmp(cs[j].id, sorted[i]))
				in_order[i] = cs[j];
		if (!in_order[i].deleted) {
			assert_true(strlen(live) + strlen(in_order[i].id) + 2 <= sizeof live);
			if (live[0])
				strcat(live, ",");
			strcat(live, in_order[i].id);
		}
	}
	assert_customers_scan(h, in_order, NK);
	/* find orders the live ones the same way. */
	assert_string_equal(find_ids(h, INT64_MIN, INT64_MAX, NULL, NULL, 0), live);
	/* The region filter is for orders only: customers ignore it. */
	assert_int_equal(count_rows(h, DDB_DS_CUSTOMERS, "elsewhere"), NK);
	assert_int_equal(count_rows(h, DDB_DS_CUSTOMERS, REGION), NK);

	/* Two cursors at once. */
	void *c1 = NULL, *c2 = NULL;
	CHECK(S->scan_open(h, DDB_DS_CUSTOMERS, NULL, &c1, &e_));
	CHECK(S->scan_open(h, DDB_DS_CUSTOMERS, NULL, &c2, &e_));
	struct ddb_row a, b;
	for (int i = 0; i < NK; i++) {
		CHECK(S->scan_next(c1, &a, &e_));
		CHECK(S->scan_next(c2, &b, &e_));
		assert_int_equal(a.dataset, DDB_DS_CUSTOMERS);
		assert_string_equal(a.customer.id, sorted[i]);
		assert_string_equal(b.customer.id, sorted[i]);
	}
	EXPECT_STATUS(DDB_NOT_FOUND, S->scan_next(c1, &a, &e_));
	S->scan_close(c1);
	S->scan_close(c2);
}

static void test_customers_large_batch(void **state)
{
	(void)state;
	void *h = G.cust;
	enum { N = 2000 };
	struct ddb_customer *cs = calloc(N, sizeof *cs);
	enum ddb_status *want = calloc(N, sizeof *want);
	assert_non_null(cs);
	assert_non_null(want);
	for (int i = 0; i < N; i++) {
		char id[24];
		snprintf(id, sizeof id, "bulk-%05d", (i * 7919) % N); /* a permutation */
		cs[i] = customer(id, 1, i % 100, i % 2 ? "Odd" : "Even", "ST");
		want[i] = DDB_OK;
	}
	put_customers_expect(h, cs, N, want);
	for (int i = 0; i < N; i++)
		want[i] = DDB_DUPLICATE;
	put_customers_expect(h, cs, N, want);
	struct ddb_customer_filter all = { .zip_min = 0, .zip_max = 99 };
	struct found f;
	find_into(h, &all, &f);
	assert_int_equal(f.n, N);
	free(f.c);
	struct ddb_customer_filter some = { .zip_min = 10, .zip_max = 19, .city = "even" };
	find_into(h, &some, &f);
	assert_int_equal(f.n, N / 20);
	free(f.c);
	assert_int_equal(count_rows(h, DDB_DS_CUSTOMERS, NULL), N);
	free(cs);
	free(want);
}

static void test_customers_reset(void **state)
{
	(void)state;
	void *h = G.cust;
	struct ddb_customer cs[3] = { customer("r1", 5, 1, "C", "S"),
		                      tombstone(customer("r2", 1, 2, "C", "S"), 3),
		                      customer("r3", 1, 3, "C", "S") };
	enum ddb_status ok3[3] = { DDB_OK, DDB_OK, DDB_OK };
	put_customers_expect(h, cs, 3, ok3);
	CHECK(S->reset(h, &e_));
	assert_int_equal(count_rows(h, DDB_DS_CUSTOMERS, NULL), 0);
	struct ddb_customer out;
	EXPECT_STATUS(DDB_NOT_FOUND, S->get_customer(h, "r1", &out, &e_));
	EXPECT_STATUS(DDB_NOT_FOUND, S->get_customer(h, "r2", &out, &e_));
	assert_string_equal(find_ids(h, INT64_MIN, INT64_MAX, NULL, NULL, 0), "");
	/* The old versions are forgotten. */
	struct ddb_customer r1 = customer("r1", 1, 1, "C", "S");
	assert_status(DDB_OK, put_customer(h, &r1));
	assert_customers_scan(h, &r1, 1);
}

static void test_customers_durable(void **state)
{
	(void)state;
	struct ddb_customer cs[3] = { customer("d1", 3, 10, "Rome", "RM"),
		                      tombstone(customer("d2", 1, 20, "Rome", "RM"), 2),
		                      customer("d3", 1, 30, "Rome", "RM") };
	enum ddb_status ok3[3] = { DDB_OK, DDB_OK, DDB_OK };
	put_customers_expect(G.cust, cs, 3, ok3);

	reopen_all();

	void *h = G.cust;
	assert_customers_scan(h, cs, 3);
	expect_customer(h, &cs[1]);
	assert_string_equal(find_ids(h, 0, 100, "rome", NULL, 0), "d1,d3");
	/* Versions still count: stale writes change nothing, the tombstone
	 * holds. */
	struct ddb_customer stale[2] = { customer("d1", 2, 10, "Rome", "RM"),
		                         customer("d2", 1, 20, "Rome", "RM") };
	enum ddb_status dup2[2] = { DDB_DUPLICATE, DDB_DUPLICATE };
	put_customers_expect(h, stale, 2, dup2);
	assert_customers_scan(h, cs, 3);
}

/* Replaying a batch changes nothing; a replica that gets the same records
 * in another order, in other batches, ends in the same state (distinct
 * versions per id: two records of one id and one version would leave the
 * first one written). */
static void test_customers_idempotent_replay(void **state)
{
	(void)state;
	void *h = G.cust;
	struct ddb_customer batch[] = {
		customer("p", 2, 1, "Paris", "IF"),
		customer("q", 1, 2, "Quito", "PI"),
		customer("p", 1, 1, "Pau", "NA"),
		tombstone(customer("q", 1, 2, "Quito", "PI"), 3),
		customer("r", 4, 3, "Riga", "LV"),
		customer("p", 5, 9, "Porto", "PT"),
		customer("s", 1, 4, "Sofia", "SF"),
		customer("q", 2, 2, "Quebec", "QC"),
		customer("bad", 0, 5, "Bad", "BD"),
		customer("r", 3, 3, "Reims", "GE"),
	};
	enum { NB = sizeof batch / sizeof batch[0] };
	enum ddb_status first[NB] = { DDB_OK, DDB_OK, DDB_DUPLICATE, DDB_OK,
		                      DDB_OK, DDB_OK, DDB_OK, DDB_DUPLICATE,
		                      DDB_INVALID, DDB_DUPLICATE };
	put_customers_expect(h, batch, NB, first);
	size_t n;
	struct ddb_row *after_first = customers_snapshot(h, &n);
	assert_int_equal(n, 4);
	struct ddb_customer *state1 = calloc(n, sizeof *state1);
	assert_non_null(state1);
	for (size_t i = 0; i < n; i++)
		state1[i] = after_first[i].customer;
	free(after_first);
	struct ddb_customer want1[4] = { batch[5], batch[3], batch[4], batch[6] };
	assert_customers_scan(h, want1, 4);

	/* The same batch again: every record DUPLICATE (or INVALID). */
	enum ddb_status again[NB];
	for (int i = 0; i < NB; i++)
		again[i] = i == 8 ? DDB_INVALID : DDB_DUPLICATE;
	put_customers_expect(h, batch, NB, again);
	assert_customers_scan(h, state1, n);

	/* A replica: reversed, one record per call, then the batch once more. */
	void *replica = open_node("replica", G.cust_roles);
	CHECK(S->reset(replica, &e_));
	for (int i = NB - 1; i >= 0; i--) {
		enum ddb_status r = DDB_INTERNAL;
		CHECK(S->put_customers(replica, &batch[i], 1, &r, &e_));
		assert_true(r == DDB_OK || r == DDB_DUPLICATE || (i == 8 && r == DDB_INVALID));
	}
	assert_customers_scan(replica, state1, n);
	put_customers_expect(replica, batch, NB, again);
	assert_customers_scan(replica, state1, n);
	S->close(replica);
	free(state1);
}

/* ---- read-only ----------------------------------------------------------- */

static int is_sqlite(void)
{
	return strcmp(G.name, "sqlite") == 0;
}

/* Opened read-only (ddbsim check), a store observes and changes nothing:
 * it reads what an instance wrote, refuses a reset, creates no store that
 * is not there (a second read-only open finds none either), and refuses
 * one without the tables of a role it is asked to serve. */
static void test_readonly_open(void **state)
{
	(void)state;
	unsigned role = has(REG) ? REG : has(CEN) ? CEN : DOC;
	const char *node = role == REG ? REGION : role == CEN ? "central" : "documents";
	void *rw = role == REG ? G.region : role == CEN ? G.central : G.docs;
	int dataset = role == REG ? DDB_DS_PRODUCTS : role == CEN ? DDB_DS_CENTRAL_PRODUCTS
	                                                            : DDB_DS_COMPONENTS;
	struct ddb_product p = product("sku-ro", "Read only", 100, 1, NULL);
	if (role == REG) {
		add_product(rw, "sku-ro", 5);
	} else if (role == CEN) {
		struct ddb_event ev = product_event(&p, 1);
		CHECK(S->apply_events(rw, &ev, 1, 1, &e_));
	} else {
		CHECK(S->put_components(rw, &p, 1, &e_));
	}

	void *ro = NULL;
	CHECK(open_readonly(node, role, &ro, &e_));
	assert_non_null(ro);
	assert_int_equal(count_rows(ro, dataset, NULL), 1);
	struct ddb_err e = { "" };
	assert_int_equal(S->reset(ro, &e), DDB_INVALID);
	assert_non_null(strstr(e.msg, "reset: opened read-only"));
	assert_int_equal(count_rows(ro, dataset, NULL), 1);
	S->close(ro);
	assert_int_equal(count_rows(rw, dataset, NULL), 1);

	for (int i = 0; i < 2; i++) {
		ro = NULL;
		e.msg[0] = '\0';
		assert_status(DDB_NOT_FOUND, open_readonly("ro_never_set_up", role, &ro, &e));
		assert_null(ro);
		assert_non_null(strstr(e.msg, "ro_never_set_up"));
	}
	if (is_sqlite()) {
		char path[600];
		snprintf(path, sizeof path, "%s/ro_never_set_up.db", G.data_dir);
		assert_int_equal(access(path, F_OK), -1);
	}
	if (has(REG) && has(CEN)) {
		/* The region's store has no central tables. */
		ro = NULL;
		assert_status(DDB_NOT_FOUND, open_readonly(REGION, CEN, &ro, &e));
		assert_null(ro);
	}
}

/* The argument checks every plugin shares (ddbsim/validate.h) refuse with
 * the same words in every plugin: "NAME: WHERE: OP: reason". */
#define EXPECT_SHARED_REFUSAL(needle, call)                                               \
	do {                                                                              \
		struct ddb_err e_ = { "" };                                               \
		enum ddb_status st_ = (call);                                             \
		const char *name_ = G.plugin->desc->name;                                 \
		if (st_ != DDB_INVALID || !strstr(e_.msg, (needle)) ||                    \
		    strncmp(e_.msg, name_, strlen(name_)) != 0 ||                         \
		    e_.msg[strlen(name_)] != ':')                                         \
			fail_msg("%s -> %s '%s', want INVALID '%s: ...%s'", #call,        \
			         ddb_status_name(st_), e_.msg, name_, (needle));          \
	} while (0)

static void test_shared_refusals(void **state)
{
	(void)state;
	void *cur = &cur;
	struct ddb_customer_filter any = { .zip_min = INT64_MIN, .zip_max = INT64_MAX };
	struct ddb_order o = simple_order(1, "x", 1);
	enum ddb_status r;
	int64_t seq = 1;
	EXPECT_SHARED_REFUSAL("scan_open: unknown dataset 99",
	                      S->scan_open(G.region, 99, NULL, &cur, &e_));
	assert_null(cur);
	EXPECT_SHARED_REFUSAL("scan_open: no cursor pointer",
	                      S->scan_open(G.region, DDB_DS_PRODUCTS, NULL, NULL, &e_));
	EXPECT_SHARED_REFUSAL("scan_open: this instance does not serve the regional role",
	                      S->scan_open(G.central, DDB_DS_ORDERS, NULL, &cur, &e_));
	EXPECT_SHARED_REFUSAL("scan_open: this instance does not serve the central role",
	                      S->scan_open(G.region, DDB_DS_CENTRAL_ORDERS, NULL, &cur, &e_));
	EXPECT_SHARED_REFUSAL("upsert_product: no product", S->upsert_product(G.region, NULL, 1, &e_));
	EXPECT_SHARED_REFUSAL("find_customers: no filter or no emit function",
	                      S->find_customers(G.region, &any, NULL, NULL, &e_));
	EXPECT_SHARED_REFUSAL("sales_report: no emit function",
	                      S->sales_report(G.central, DDB_SALES_BY_REGION, NULL, NULL, &e_));
	EXPECT_SHARED_REFUSAL("sales_report: this instance does not serve the central role",
	                      S->sales_report(G.region, DDB_SALES_BY_REGION, collect_sales, NULL, &e_));
	EXPECT_SHARED_REFUSAL("place_orders: this instance does not serve the regional role",
	                      S->place_orders(G.docs, &o, 1, &r, &e_));
	EXPECT_SHARED_REFUSAL("place_orders: no orders or no results array",
	                      S->place_orders(G.region, &o, 1, NULL, &e_));
	EXPECT_SHARED_REFUSAL("outbox_mark: unknown state 7",
	                      S->outbox_mark(G.region, &seq, 1, 7, &e_));
	EXPECT_SHARED_REFUSAL("put_order_logs: this instance does not serve the documents role",
	                      S->put_order_logs(G.region, &o, 1, 1, &e_));
	EXPECT_SHARED_REFUSAL("reset: no handle", S->reset(NULL, &e_));
}

int main(void)
{
	/* Each test with what it needs (0: nothing); see run_gated(). */
	const struct CMUnitTest tests[] = {
#define TEST(f, needs)                                                                    \
	{ .name = #f, .test_func = run_gated, .setup_func = test_setup,                   \
	  .teardown_func = test_teardown, .initial_state = &(struct gate){ f, needs } }
		TEST(test_descriptor, 0),
		TEST(test_durable_across_reopen, 0),
		TEST(test_roles_enforced, REG | CEN | DOC),
		TEST(test_shared_refusals, REG | CEN | DOC),
		TEST(test_product_new, REG),
		TEST(test_product_versions, REG),
		TEST(test_product_invalid, REG),
		TEST(test_restock, REG),
		TEST(test_place_ok, REG),
		TEST(test_place_insufficient, REG),
		TEST(test_place_unknown_sku, REG),
		TEST(test_place_duplicate, REG),
		TEST(test_place_mixed_batch, REG),
		TEST(test_place_invalid, REG),
		TEST(test_place_not_utf8, REG),
		TEST(test_order_atomicity, REG),
		TEST(test_large_batch, REG),
		TEST(test_strings_roundtrip, 0),
		TEST(test_outbox_read, REG),
		TEST(test_outbox_mark_monotonic, REG),
		TEST(test_outbox_requeue, REG),
		TEST(test_apply_idempotent, REG | CEN),
		TEST(test_apply_product_versions, CEN),
		TEST(test_apply_two_regions, CEN),
		TEST(test_apply_invalid, CEN),
		TEST(test_sales_report, CEN),
		TEST(test_order_logs, DOC),
		TEST(test_components_docs, DOC),
		TEST(test_scans_bytewise, 0),
		TEST(test_scan_region_filter, 0),
		TEST(test_scan_cursors, REG),
		TEST(test_inventory_sold, REG),
		TEST(test_reset, 0),
		TEST(test_two_instances_one_node, REG),
		TEST(test_customers_new, CUST),
		TEST(test_customers_versions, CUST),
		TEST(test_customers_mixed_batch, CUST),
		TEST(test_customers_tombstone, CUST),
		TEST(test_customers_find_zip, CUST),
		TEST(test_customers_find_city_state, CUST),
		TEST(test_customers_find_limit, CUST),
		TEST(test_customers_invalid, CUST),
		TEST(test_customers_get_unknown, CUST),
		TEST(test_customers_strings_roundtrip, CUST),
		TEST(test_customers_scan, CUST),
		TEST(test_customers_large_batch, CUST),
		TEST(test_customers_reset, CUST),
		TEST(test_customers_durable, CUST),
		TEST(test_customers_idempotent_replay, CUST),
		TEST(test_readonly_open, 0),
#undef TEST
	};
	int failed = cmocka_run_group_tests_name("storage conformance", tests, group_setup,
	                                         group_teardown);
	return failed ? 1 : 0;
}
