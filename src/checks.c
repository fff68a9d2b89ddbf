/*
 * checks.c - the built-in invariants (see checks.h).  Every check streams
 * the stores through scan cursors in key order and merge-joins them, so it
 * runs in constant memory whatever the number of orders.
 */
#include "checks.h"

#include <cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "customers.h"
#include "metrics.h"
#include "queued_writes.h"
#include "scenario.h"
#include "sync.h"
#include "world.h"
#include "util.h"

#define EXAMPLES 3

/* ---- scan cursors -------------------------------------------------------- */

struct scan {
	struct store *s;
	void *cur;
	struct ddb_row row;
	int has;   /* row holds a row */
	int error; /* the scan failed: msg says why */
	char msg[DDB_ERR_MAX + 64];
};

static void scan_advance(struct scan *sc)
{
	struct ddb_err e = { "" };
	enum ddb_status st = sc->s->ops->scan_next(sc->cur, &sc->row, &e);
	sc->has = st == DDB_OK;
	if (st != DDB_OK && st != DDB_NOT_FOUND) {
		sc->error = 1;
		snprintf(sc->msg, sizeof sc->msg, "%s: scan: %s", sc->s->node->name, e.msg);
	}
}

static int scan_begin(struct scan *sc, struct store *s, int dataset, const char *region)
{
	memset(sc, 0, sizeof *sc);
	sc->s = s;
	struct ddb_err e = { "" };
	if (store_scan_observed(s, dataset, region, &sc->cur, &e) != DDB_OK) {
		sc->error = 1;
		snprintf(sc->msg, sizeof sc->msg, "%s: scan: %s", s->node->name, e.msg);
		return -1;
	}
	scan_advance(sc);
	return sc->error ? -1 : 0;
}

static void scan_end(struct scan *sc)
{
	if (sc->cur)
		sc->s->ops->scan_close(sc->cur);
	sc->cur = NULL;
}

/* ---- results ------------------------------------------------------------- */

/* One check being computed.  It names its result by index: the list may
 * grow (and move) while other checks add theirs. */
struct finding {
	struct check_list *l;
	size_t idx;
	int examples;
	uint64_t count;
};

#define RESULT(f) (&(f)->l->v[(f)->idx])

static struct check_result *add_result(struct check_list *l, const char *name)
{
	struct check_result *grown = realloc(l->v, (l->n + 1) * sizeof *grown);
	if (!grown)
		return NULL;
	l->v = grown;
	struct check_result *r = &l->v[l->n++];
	memset(r, 0, sizeof *r);
	copy_str(r->name, sizeof r->name, name);
	r->ok = 1;
	return r;
}

/* Starts a finding for a new result; -1 on ENOMEM. */
static int begin(struct finding *f, struct check_list *l, const char *name)
{
	memset(f, 0, sizeof *f);
	if (!add_result(l, name))
		return -1;
	f->l = l;
	f->idx = l->n - 1;
	return 0;
}

__attribute__((format(printf, 2, 3))) static void offend(struct finding *f, const char *fmt, ...)
{
	struct check_result *r = RESULT(f);
	r->ok = 0;
	f->count++;
	if (f->examples >= EXAMPLES)
		return;
	f->examples++;
	size_t used = strlen(r->detail);
	if (used + 4 >= sizeof r->detail)
		return;
	if (used)
		used += (size_t)snprintf(r->detail + used, sizeof r->detail - used, "; ");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->detail + used, sizeof r->detail - used, fmt, ap);
	va_end(ap);
}

static void conclude(struct finding *f, const char *ok_detail)
{
	struct check_result *r = RESULT(f);
	if (r->ok) {
		copy_str(r->detail, sizeof r->detail, ok_detail);
		return;
	}
	if (f->count > (uint64_t)f->examples) {
		size_t used = strlen(r->detail);
		snprintf(r->detail + used, sizeof r->detail - used, " (%" PRIu64 " in all)", f->count);
	}
}

/* ---- per-SKU sums ------------------------------------------------------- */

struct sums {
	char key[DDB_SKU_MAX];
	int64_t orders, units, revenue;
	int overflow; /* the regions' rows add up past int64 (stores no run wrote) */
};

struct sum_table {
	struct sums *v;
	size_t n, cap;
};

static struct sums *sum_get(struct sum_table *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].key, key) == 0)
			return &t->v[i];
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct sums *grown = realloc(t->v, cap * sizeof *grown);
		if (!grown)
			return NULL;
		t->v = grown;
		t->cap = cap;
	}
	struct sums *s = &t->v[t->n++];
	memset(s, 0, sizeof *s);
	copy_str(s->key, sizeof s->key, key);
	return s;
}

static void sum_add(struct sum_table *t, const char *key, const struct ddb_order *o)
{
	struct sums *s = sum_get(t, key);
	if (!s)
		return;
	/* Validation bounds what a run sells (SCENARIO_UNITS_MAX): only rows
	 * no run wrote can go past int64, and then the check says so. */
	int64_t line;
	s->orders++;
	if (__builtin_add_overflow(s->units, o->quantity, &s->units) ||
	    __builtin_mul_overflow(o->quantity, o->unit_price_cents, &line) ||
	    __builtin_add_overflow(s->revenue, line, &s->revenue))
		s->overflow = 1;
}

static cJSON *sums_json(const struct sums *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "orders", (double)s->orders);
	cJSON_AddNumberToObject(o, "units", (double)s->units);
	cJSON_AddNumberToObject(o, "revenue_cents", (double)s->revenue);
	return o;
}

/* ---- the checks ---------------------------------------------------------- */

struct ctx {
	struct world *w;
	struct check_list *out;
	cJSON *facts;
	struct sum_table by_region, by_product; /* from the regions' orders */
	uint64_t regional_orders;
	char *err;
	size_t errlen;
};

static int scan_failed(struct ctx *c, struct scan *sc)
{
	if (!sc->error)
		return 0;
	errorf(c->err, c->errlen, "%s", sc->msg);
	scan_end(sc);
	return 1;
}

static int check_stock(struct ctx *c)
{
	struct finding neg, bal;
	if (begin(&neg, c->out, "stock_never_negative") != 0 || begin(&bal, c->out, "stock_balance") != 0)
		return errorf(c->err, c->errlen, "out of memory");
	cJSON *regions = cJSON_AddObjectToObject(c->facts, "regions");
	for (size_t r = 0; r < c->w->n_regions; r++) {
		struct store *s = &c->w->regions[r];
		cJSON *reg = cJSON_AddObjectToObject(regions, s->node->name);
		cJSON *stock = cJSON_AddObjectToObject(reg, "stock");
		cJSON *sold = cJSON_AddObjectToObject(reg, "sold");
		cJSON *received = cJSON_AddObjectToObject(reg, "received");
		struct scan sc;
		scan_begin(&sc, s, DDB_DS_INVENTORY, NULL);
		for (; sc.has; scan_advance(&sc)) {
			const struct ddb_stock *k = &sc.row.stock;
			cJSON_AddNumberToObject(stock, k->sku, (double)k->stock);
			cJSON_AddNumberToObject(sold, k->sku, (double)k->sold);
			cJSON_AddNumberToObject(received, k->sku, (double)k->received);
			if (k->stock < 0)
				offend(&neg, "%s %s: stock %" PRId64, s->node->name, k->sku, k->stock);
			if (k->received - k->sold != k->stock)
				offend(&bal, "%s %s: received %" PRId64 " - sold %" PRId64 " = %" PRId64
				             ", but stock is %" PRId64,
				       s->node->name, k->sku, k->received, k->sold, k->received - k->sold,
				       k->stock);
		}
		if (scan_failed(c, &sc))
			return -1;
		scan_end(&sc);
	}
	conclude(&neg, "no stock below zero");
	conclude(&bal, "initial stock + restocks - sold = stock, for every SKU in every region");
	return 0;
}

/* Compares the fields both sides keep. */
static int same_order(const struct ddb_order *a, const struct ddb_order *b, int with_price)
{
	return strcmp(a->region, b->region) == 0 && strcmp(a->customer, b->customer) == 0 &&
	       strcmp(a->sku, b->sku) == 0 && a->quantity == b->quantity &&
	       (!with_price ||
	        (a->unit_price_cents == b->unit_price_cents && a->placed_at_us == b->placed_at_us));
}

/* Merge-joins each region's orders with the rows of `dataset` in `target`
 * that carry that region; then counts target rows of no known region. */
static int match_orders(struct ctx *c, struct store *target, int dataset, const char *name,
                        const char *where, int with_price, int collect)
{
	struct finding f;
	if (begin(&f, c->out, name) != 0)
		return errorf(c->err, c->errlen, "out of memory");
	for (size_t r = 0; r < c->w->n_regions; r++) {
		struct store *s = &c->w->regions[r];
		struct scan a, b;
		if (scan_begin(&a, s, DDB_DS_ORDERS, s->node->name) != 0)
			{
			scan_failed(c, &a);
			return -1;
		}
		if (scan_begin(&b, target, dataset, s->node->name) != 0) {
			scan_end(&a);
			{
			scan_failed(c, &b);
			return -1;
		}
		}
		while (a.has || b.has) {
			int cmp = !a.has ? 1 : !b.has ? -1 : strcmp(a.row.order.id, b.row.order.id);
			if (cmp <= 0 && collect) {
				c->regional_orders++;
				sum_add(&c->by_region, s->node->name, &a.row.order);
				sum_add(&c->by_product, a.row.order.sku, &a.row.order);
			}
			if (cmp < 0) {
				offend(&f, "%s accepted by %s is missing %s", a.row.order.id, s->node->name,
				       where);
				scan_advance(&a);
			} else if (cmp > 0) {
				offend(&f, "%s %s was never accepted by %s", b.row.order.id, where,
				       s->node->name);
				scan_advance(&b);
			} else {
				if (!same_order(&a.row.order, &b.row.order, with_price))
					offend(&f, "%s differs %s from %s", a.row.order.id, where, s->node->name);
				scan_advance(&a);
				scan_advance(&b);
			}
		}
		int failed = a.error || b.error;
		if (failed)
			errorf(c->err, c->errlen, "%s", a.error ? a.msg : b.msg);
		scan_end(&a);
		scan_end(&b);
		if (failed)
			return -1;
	}
	/* Rows of regions this system does not have. */
	struct scan all;
	uint64_t total = 0;
	if (scan_begin(&all, target, dataset, NULL) != 0)
		{
		scan_failed(c, &all);
		return -1;
	}
	for (; all.has; scan_advance(&all)) {
		total++;
		if (!world_region(c->w, all.row.order.region))
			offend(&f, "%s %s comes from unknown region '%s'", all.row.order.id, where,
			       all.row.order.region);
	}
	if (scan_failed(c, &all))
		return -1;
	scan_end(&all);
	char ok[160];
	snprintf(ok, sizeof ok, "%" PRIu64 " rows %s, each matching one accepted order", total, where);
	conclude(&f, ok);
	return 0;
}

static void collect_line(void *ctx, const struct ddb_sales *line)
{
	struct sum_table *t = ctx;
	struct sums *s = sum_get(t, line->key);
	if (s) {
		s->orders = line->orders;
		s->units = line->units;
		s->revenue = line->revenue_cents;
	}
}

static void compare_sales(struct finding *f, const char *by, const struct sum_table *regional,
                          const struct sum_table *central, cJSON *into)
{
	for (size_t i = 0; i < regional->n; i++) {
		const struct sums *a = &regional->v[i];
		const struct sums *b = NULL;
		for (size_t k = 0; k < central->n; k++)
			if (strcmp(central->v[k].key, a->key) == 0)
				b = &central->v[k];
		if (a->overflow)
			offend(f, "%s %s: the regions' sales do not fit in 64 bits", by, a->key);
		else if (!b)
			offend(f, "%s %s: no central sales", by, a->key);
		else if (a->orders != b->orders || a->units != b->units || a->revenue != b->revenue)
			offend(f,
			       "%s %s: regions sold %" PRId64 " orders, %" PRId64 " units, %" PRId64
			       " cents; center reports %" PRId64 ", %" PRId64 ", %" PRId64,
			       by, a->key, a->orders, a->units, a->revenue, b->orders, b->units, b->revenue);
	}
	for (size_t k = 0; k < central->n; k++) {
		int found = 0;
		for (size_t i = 0; i < regional->n; i++)
			found |= strcmp(central->v[k].key, regional->v[i].key) == 0;
		if (!found)
			offend(f, "%s %s: central sales that no region made", by, central->v[k].key);
		cJSON_AddItemToObject(into, central->v[k].key, sums_json(&central->v[k]));
	}
}

static int check_sales(struct ctx *c)
{
	struct finding f;
	if (begin(&f, c->out, "central_sales_match_regions") != 0)
		return errorf(c->err, c->errlen, "out of memory");
	cJSON *central = cJSON_AddObjectToObject(c->facts, "central");
	static const struct {
		int by;
		const char *name, *json;
	} views[] = { { DDB_SALES_BY_REGION, "region", "by_region" },
		      { DDB_SALES_BY_PRODUCT, "product", "by_product" } };
	for (size_t v = 0; v < ARRAY_LEN(views); v++) {
		struct sum_table got = { 0 };
		struct ddb_err e = { "" };
		struct store *s = &c->w->central;
		if (s->ops->sales_report(s->h, views[v].by, collect_line, &got, &e) != DDB_OK) {
			free(got.v);
			return errorf(c->err, c->errlen, "central: sales report: %s", e.msg);
		}
		compare_sales(&f, views[v].name, v == 0 ? &c->by_region : &c->by_product, &got,
		              cJSON_AddObjectToObject(central, views[v].json));
		free(got.v);
	}
	conclude(&f, "central sales by region and by product equal the sums of the regions' orders");
	return 0;
}

static int same_components(const struct ddb_product *a, const struct ddb_product *b)
{
	if (a->n_components != b->n_components)
		return 0;
	for (size_t i = 0; i < a->n_components; i++)
		if (strcmp(a->components[i].sku, b->components[i].sku) != 0 ||
		    a->components[i].quantity != b->components[i].quantity)
			return 0;
	return 1;
}

/* Every region's products at the center (same or newer version) and in the
 * documents store's product-component relationships. */
static int check_products(struct ctx *c)
{
	struct finding f;
	if (begin(&f, c->out, "products_at_center_and_components") != 0)
		return errorf(c->err, c->errlen, "out of memory");
	for (size_t r = 0; r < c->w->n_regions; r++) {
		static const int targets[] = { DDB_DS_CENTRAL_PRODUCTS, DDB_DS_COMPONENTS };
		for (size_t t = 0; t < ARRAY_LEN(targets); t++) {
			struct store *target = t == 0 ? &c->w->central : &c->w->documents;
			const char *where = t == 0 ? "at the center" : "in the documents store";
			struct scan a, b;
			if (scan_begin(&a, &c->w->regions[r], DDB_DS_PRODUCTS, NULL) != 0)
				{
			scan_failed(c, &a);
			return -1;
		}
			if (scan_begin(&b, target, targets[t], NULL) != 0) {
				scan_end(&a);
				{
			scan_failed(c, &b);
			return -1;
		}
			}
			while (a.has) {
				int cmp = !b.has ? -1 : strcmp(a.row.product.sku, b.row.product.sku);
				if (cmp > 0) {
					scan_advance(&b);
					continue;
				}
				const struct ddb_product *p = &a.row.product, *q = &b.row.product;
				if (cmp < 0)
					offend(&f, "product %s of %s is missing %s", p->sku,
					       c->w->regions[r].node->name, where);
				else if (q->version < p->version)
					offend(&f, "product %s %s has version %" PRId64 ", %s has %" PRId64,
					       p->sku, where, q->version, c->w->regions[r].node->name,
					       p->version);
				else if (q->version == p->version && !same_components(p, q))
					offend(&f, "product %s %s has other components than in %s", p->sku,
					       where, c->w->regions[r].node->name);
				scan_advance(&a);
			}
			int failed = a.error || b.error;
			if (failed)
				errorf(c->err, c->errlen, "%s", a.error ? a.msg : b.msg);
			scan_end(&a);
			scan_end(&b);
			if (failed)
				return -1;
		}
	}
	conclude(&f, "every product is at the center and its components in the documents store");
	return 0;
}

/* ---- customer records ------------------------------------------------------ */

static int same_customer(const struct ddb_customer *a, const struct ddb_customer *b)
{
	return a->version == b->version && a->deleted == b->deleted &&
	       a->zip_prefix == b->zip_prefix && strcmp(a->unique_id, b->unique_id) == 0 &&
	       strcmp(a->city, b->city) == 0 && strcmp(a->state, b->state) == 0 &&
	       strcmp(a->name, b->name) == 0 && strcmp(a->email, b->email) == 0 &&
	       strcmp(a->home, b->home) == 0;
}

/* Merges every region's customer records by id: all copies of a record
 * must be the same (its latest version), its home must hold one, and with
 * the run's own record of it, exactly its home and replicas hold it. */
static int check_customers(struct ctx *c, struct customers *cs)
{
	struct finding conv, dup;
	if (begin(&conv, c->out, "customers_converged") != 0 ||
	    begin(&dup, c->out, "customers_no_duplicates") != 0)
		return errorf(c->err, c->errlen, "out of memory");
	size_t n = c->w->n_regions;
	struct scan *sc = calloc(n ? n : 1, sizeof *sc);
	if (!sc)
		return errorf(c->err, c->errlen, "out of memory");
	int rc = 0;
	for (size_t r = 0; r < n && rc == 0; r++)
		if (scan_begin(&sc[r], &c->w->regions[r], DDB_DS_CUSTOMERS, NULL) != 0)
			rc = errorf(c->err, c->errlen, "%s", sc[r].msg);
	uint64_t ids = 0, live = 0, matched = 0;
	struct ddb_customer first;
	while (rc == 0) {
		const char *min = NULL;
		for (size_t r = 0; r < n; r++)
			if (sc[r].has && (!min || strcmp(sc[r].row.customer.id, min) < 0))
				min = sc[r].row.customer.id;
		if (!min)
			break;
		char id[DDB_NAME_MAX];
		copy_str(id, sizeof id, min);
		uint64_t holders = 0;
		int have_first = 0, differ = 0;
		for (size_t r = 0; r < n; r++) {
			if (!sc[r].has || strcmp(sc[r].row.customer.id, id) != 0)
				continue;
			holders |= 1ULL << r;
			if (!have_first) {
				first = sc[r].row.customer;
				have_first = 1;
			} else if (!same_customer(&first, &sc[r].row.customer)) {
				if (!differ)
					offend(&conv, "%s: version %" PRId64 " on one copy, %" PRId64 " on %s", id,
					       first.version, sc[r].row.customer.version,
					       c->w->regions[r].node->name);
				differ = 1;
			}
			scan_advance(&sc[r]);
			if (sc[r].has && strcmp(sc[r].row.customer.id, id) == 0)
				offend(&dup, "%s appears twice in %s", id, c->w->regions[r].node->name);
			while (sc[r].has && strcmp(sc[r].row.customer.id, id) == 0)
				scan_advance(&sc[r]);
			if (sc[r].error)
				rc = errorf(c->err, c->errlen, "%s", sc[r].msg);
		}
		ids++;
		live += !first.deleted;
		struct store *home = world_region(c->w, first.home);
		if (!home || !(holders & (1ULL << (size_t)(home - c->w->regions))))
			offend(&conv, "%s: its home %s has no copy", id, first.home);
		const struct customer_entry *e = cs ? customers_find(cs, id) : NULL;
		if (cs && !e) {
			offend(&conv, "%s: in the stores, but never written by the run", id);
		} else if (e) {
			matched++;
			uint64_t want = 1ULL << e->home;
			for (size_t k = 0; k < e->n_replicas; k++)
				want |= 1ULL << e->replicas[k];
			if (holders != want)
				offend(&conv, "%s: held by other regions than its home and replicas", id);
			else if (!same_customer(&first, &e->latest))
				offend(&conv, "%s: the copies have version %" PRId64 ", the latest write was %" PRId64,
				       id, first.version, e->latest.version);
		}
	}
	for (size_t r = 0; r < n; r++)
		scan_end(&sc[r]);
	free(sc);
	if (rc != 0)
		return rc;
	if (cs && matched != cs->entries.n)
		offend(&conv, "%" PRIu64 " customers written by the run are in no store",
		       (uint64_t)cs->entries.n - matched);
	char ok[160];
	snprintf(ok, sizeof ok, "%" PRIu64 " customers (%" PRIu64 " live): every copy at the latest version",
	         ids, live);
	conclude(&conv, ok);
	conclude(&dup, "no customer twice in a store");
	cJSON *facts = cJSON_AddObjectToObject(c->facts, "customers");
	cJSON_AddNumberToObject(facts, "records", (double)ids);
	cJSON_AddNumberToObject(facts, "live", (double)live);
	cJSON_AddNumberToObject(facts, "deleted", (double)(ids - live));
	return 0;
}

/* The writes DATA_DIR/queued_writes says were queued for region r (v[0..n),
 * its records, by id, highest version first) that its store does not hold
 * at that version or a later one.  -1 on a scan error. */
static int count_unapplied(struct ctx *c, size_t r, const struct queued_write *v, size_t n,
                           uint64_t *missing, char *example, size_t exlen)
{
	*missing = 0;
	if (n == 0)
		return 0;
	struct scan sc;
	if (scan_begin(&sc, &c->w->regions[r], DDB_DS_CUSTOMERS, NULL) != 0) {
		scan_failed(c, &sc);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i].id, v[i - 1].id) == 0)
			continue; /* an older version of the same record */
		while (sc.has && strcmp(sc.row.customer.id, v[i].id) < 0)
			scan_advance(&sc);
		if (sc.error)
			break;
		if (sc.has && strcmp(sc.row.customer.id, v[i].id) == 0 &&
		    sc.row.customer.version >= v[i].version)
			continue;
		if ((*missing)++ == 0)
			snprintf(example, exlen, "%s version %" PRId64, v[i].id, v[i].version);
	}
	if (scan_failed(c, &sc))
		return -1;
	scan_end(&sc);
	return 0;
}

/* Writes held for down nodes: every one delivered once its node was back.
 * What was queued (DATA_DIR/queued_writes) is compared with what the
 * nodes hold: a write neither applied nor still waiting was lost. */
static int check_node_queues(struct ctx *c, struct customers *cs)
{
	struct finding f;
	if (begin(&f, c->out, "no_lost_queued_write") != 0)
		return errorf(c->err, c->errlen, "out of memory");
	struct queued_write *queued = NULL;
	size_t n_queued = 0;
	if (queued_writes_load(c->w->data_dir, &queued, &n_queued, c->err, c->errlen) != 0)
		return -1;
	for (size_t r = 0; r < c->w->n_regions; r++) {
		char q[DDB_ID_MAX];
		uint64_t depth;
		struct ddb_err e = { "" };
		const char *name = c->w->regions[r].node->name;
		world_node_queue(c->w->regions[r].node, q, sizeof q);
		int asked = world_node_queue_depth(c->w, r, &depth, &e) == DDB_OK;
		if (!asked)
			offend(&f, "%s: cannot be asked: %s", q, e.msg);
		else if (depth)
			offend(&f, "%" PRIu64 " writes still wait in %s (%s is %s)", depth, q, name,
			       node_state_name(c->w->regions[r].node->state));
		/* Its records: queued is sorted by node. */
		size_t at = 0;
		while (at < n_queued && strcmp(queued[at].node, name) != 0)
			at++;
		size_t end = at;
		while (end < n_queued && strcmp(queued[end].node, name) == 0)
			end++;
		uint64_t missing = 0;
		char example[DDB_NAME_MAX + 64] = "";
		if (count_unapplied(c, r, queued + at, end - at, &missing, example, sizeof example) != 0) {
			free(queued);
			return -1;
		}
		/* What still waits (in the queue, or held back by a delay
		 * fault) may be among those not applied yet; past that, they
		 * are gone. */
		uint64_t waiting = depth + c->w->faults.n_delayed;
		if (asked && missing > waiting)
			offend(&f, "%" PRIu64 " writes queued for %s were lost: neither applied nor waiting "
			           "in %s (%s, ...)", missing - waiting, name, q, example);
	}
	free(queued);
	if (cs && cs->n_held)
		offend(&f, "%zu writes are held in memory: the broker could not take them", cs->n_held);
	conclude(&f, "every write queued for a down node was replayed into it");
	return 0;
}

static int check_pending(struct ctx *c, struct sync *sync)
{
	struct finding f;
	if (begin(&f, c->out, "nothing_pending") != 0)
		return errorf(c->err, c->errlen, "out of memory");
	struct sync_backlog b;
	int rc = sync_pending(sync, &b);
	if (rc < 0)
		offend(&f, "a store or the transport could not be asked");
	if (b.outbox_new || b.outbox_published)
		offend(&f, "events not yet applied remain in an outbox");
	if (b.central_queue)
		offend(&f, "%" PRIu64 " messages wait in %s", b.central_queue, QUEUE_CENTRAL);
	if (b.documents_queue)
		offend(&f, "%" PRIu64 " messages wait in %s", b.documents_queue, QUEUE_DOCUMENTS);
	if (b.marks)
		offend(&f, "%" PRIu64 " applied events not yet marked in their region", b.marks);
	if (c->w->faults.n_delayed)
		offend(&f, "%zu delayed messages not yet delivered", c->w->faults.n_delayed);
	if (sync->relay_down || sync->applier_down)
		offend(&f, "the %s crashed and did not restart", sync->relay_down ? "relay" : "applier");
	conclude(&f, "every outbox event applied; queues empty");
	return 0;
}

static void check_counts(struct ctx *c, const struct metrics *m)
{
	struct finding f;
	if (begin(&f, c->out, "accepted_orders_all_stored") != 0)
		return;
	if (c->regional_orders != m->orders_accepted)
		offend(&f, "the run accepted %" PRIu64 " orders, the regions hold %" PRIu64,
		       m->orders_accepted, c->regional_orders);
	conclude(&f, "the regions hold exactly the orders the run counted as accepted");
}

static void lua_result(void *ctx, const char *name, int ok, const char *detail)
{
	struct check_list *out = ctx;
	char full[96];
	snprintf(full, sizeof full, "lua:%s", name);
	struct check_result *r = add_result(out, full);
	if (!r)
		return;
	r->ok = ok;
	copy_str(r->detail, sizeof r->detail, detail && *detail ? detail : (ok ? "holds" : "failed"));
}

static void add_order_facts(cJSON *facts, const struct metrics *m, uint64_t regional_orders)
{
	cJSON *orders = cJSON_AddObjectToObject(facts, "orders");
	cJSON_AddNumberToObject(orders, "accepted", (double)(m ? m->orders_accepted : regional_orders));
	cJSON *rejected = cJSON_AddObjectToObject(orders, "rejected");
	for (size_t i = 0; m && i < m->n_reasons; i++)
		cJSON_AddNumberToObject(rejected, m->reasons[i].reason, (double)m->reasons[i].n);
	cJSON *customers = cJSON_GetObjectItem(facts, "customers");
	if (m && customers) {
		cJSON *crj = cJSON_AddObjectToObject(customers, "rejected");
		for (size_t i = 0; i < m->customers.n_reasons; i++)
			cJSON_AddNumberToObject(crj, m->customers.reasons[i].reason,
			                        (double)m->customers.reasons[i].n);
	}
}

int checks_run(struct world *w, struct sync *sync, struct customers *cs, struct scenario *sc,
               const struct metrics *m, struct check_list *out, cJSON **facts, char *err,
               size_t errlen)
{
	struct ctx c = { w, out, cJSON_CreateObject(), { 0 }, { 0 }, 0, err, errlen };
	int rc = -1;
	if (!c.facts) {
		errorf(err, errlen, "out of memory");
		return -1;
	}
	if (check_stock(&c) != 0 ||
	    match_orders(&c, &w->central, DDB_DS_CENTRAL_ORDERS, "center_has_each_order_once",
	                 "at the center", 1, 1) != 0 ||
	    check_sales(&c) != 0 ||
	    match_orders(&c, &w->documents, DDB_DS_ORDER_LOGS, "one_order_log_per_order",
	                 "in the order logs", 0, 0) != 0 ||
	    check_products(&c) != 0 || check_customers(&c, cs) != 0 ||
	    check_node_queues(&c, cs) != 0 || check_pending(&c, sync) != 0)
		goto done;
	if (m)
		check_counts(&c, m);
	add_order_facts(c.facts, m, c.regional_orders);
	if (sc)
		scenario_run_checks(sc, c.facts, lua_result, out);
	rc = 0;
	for (size_t i = 0; i < out->n; i++)
		rc += !out->v[i].ok;
done:
	free(c.by_region.v);
	free(c.by_product.v);
	if (rc < 0)
		cJSON_Delete(c.facts);
	else
		*facts = c.facts;
	return rc;
}

void check_list_free(struct check_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
