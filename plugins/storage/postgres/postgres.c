/*
 * postgres.c - the PostgreSQL storage plugin (libpq): one database per node,
 * serving the regional, central and documents roles (any combination), with
 * the same behaviour as the SQLite plugin.  This file holds the operations
 * and the descriptor (the plugin's one exported symbol); beside it:
 *   pg_conn.c    options, connecting (and the schema), reconnecting, running
 *                a statement, resolving a write of unknown outcome
 *   statements.sql  the SQL of every statement (pg_statements.h at build
 *                time: plugins/storage/stmt2c.awk)
 *   pg_binary.c  binary parameters and results
 *   schema.sql   the tables and PL/pgSQL functions of each role
 *
 * Round trips.  Every operation is one statement, prepared once per
 * connection, with binary parameters (arrays for batches: never any value in
 * SQL text) and binary results, in its own implicit transaction, committed
 * with synchronous_commit on.  place_orders sends a whole batch to
 * ddbsim_place_orders(), which returns one status letter per order: set-based
 * when every order's fate is clear up front (no id twice in the batch, the
 * stock of each sku enough for all of them), else order by order
 * (conditional stock decrement first, then the order row ON CONFLICT DO
 * NOTHING, then the outbox event), with the same results either way.
 *
 * Every operation is idempotent except place_orders and restock (each op
 * says why below): after a lost connection they are resolved through the
 * write log (pg_conn.c).
 *
 * Scans page through a dataset by key (keyset pagination, SCAN_PAGE rows a
 * round trip): constant memory, any number of cursors at once, no
 * transaction held open between calls.  Each page is consistent; a scan
 * that runs while others write sees each key once, in order.
 */
#include <ddbsim/plugin.h>
#include <ddbsim/validate.h>
#include <libpq-fe.h>

#include "pg_binary.h"
#include "pg_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLUGIN_VERSION "0.1.0"
#define SCAN_PAGE 500

/* ---- scan statements -------------------------------------------------------- */

/* The scan statements of each dataset (its role: ddb_dataset_role): all
 * rows, one region's rows (S_COUNT: no region filter); whether the key is
 * the seq (else text). */
static const struct {
	enum stmt_id all, by_region;
	int int_key;
} scan_stmt[] = {
	[DDB_DS_PRODUCTS] = { S_SCAN_PRODUCTS, S_COUNT, 0 },
	[DDB_DS_INVENTORY] = { S_SCAN_INVENTORY, S_COUNT, 0 },
	[DDB_DS_ORDERS] = { S_SCAN_ORDERS, S_SCAN_ORDERS_REGION, 0 },
	[DDB_DS_OUTBOX] = { S_SCAN_OUTBOX, S_COUNT, 1 },
	[DDB_DS_CENTRAL_PRODUCTS] = { S_SCAN_CENTRAL_PRODUCTS, S_COUNT, 0 },
	[DDB_DS_CENTRAL_ORDERS] = { S_SCAN_CENTRAL_ORDERS, S_SCAN_CENTRAL_ORDERS_REGION, 0 },
	[DDB_DS_ORDER_LOGS] = { S_SCAN_ORDER_LOGS, S_SCAN_ORDER_LOGS_REGION, 0 },
	[DDB_DS_COMPONENTS] = { S_SCAN_COMPONENTS, S_COUNT, 0 },
	[DDB_DS_CUSTOMERS] = { S_SCAN_CUSTOMERS, S_COUNT, 0 },
};

/* ---- scan cursors ------------------------------------------------------- */

struct pg_cursor {
	struct pg *h;
	int dataset;
	enum stmt_id id;
	int by_region;
	char region[DDB_NAME_MAX];
	char last_key[DDB_ID_MAX]; /* text keys: the last one returned */
	int64_t last_seq;          /* seq keys */
	PGresult *page;
	int row, rows;
	int last_page; /* the page came back short: nothing after it */
	int done;
};

/* The argument checks that open an operation (ddbsim/validate.h). */
/* Its role, then its pointer arguments (ddb_call_problem): 1 to go on. */
static int need_args(const struct pg *h, unsigned role, int given, const char *missing,
                     const char *op, struct ddb_err *err)
{
	const char *why = ddb_call_problem(h->roles, role, given, missing);
	if (why)
		pgc_fail(h, DDB_INVALID, err, "%s: %s", op, why);
	return !why;
}

static int need_role(const struct pg *h, unsigned role, const char *op, struct ddb_err *err)
{
	return need_args(h, role, 1, NULL, op, err);
}

/* The preamble of a batch operation: 1 to go on, else 0 and *st what to
 * return (DDB_OK: an empty batch, nothing to do). */
static int batch_go(const struct pg *h, unsigned role, size_t n, int arrays_given,
                    const char *missing, const char *op, enum ddb_status *st, struct ddb_err *err)
{
	int empty;
	const char *why = ddb_batch_problem(h->roles, role, n, arrays_given, missing, &empty);
	*st = why ? pgc_fail(h, DDB_INVALID, err, "%s: %s", op, why) : DDB_OK;
	return !why && !empty;
}

/* ---- validation --------------------------------------------------------- */

/* PostgreSQL refuses text that is not UTF-8 in a UTF8 database: records
 * are checked with the ddb_*_problem_utf8 rules, keys with text_len
 * (ddbsim/validate.h). */

/* A text field: -1 not terminated within size, -2 not UTF-8, else length. */
static int text_len(const char *s, size_t size)
{
	int n = ddb_field_len(s, size);
	if (n < 0)
		return -1;
	return ddb_utf8_ok(s, (size_t)n) ? n : -2;
}

/* ---- regional: products and stock ---------------------------------------- */

static enum ddb_status pg_upsert_product(void *handle, const struct ddb_product *p,
                                         int64_t now_us, struct ddb_err *err)
{
	static const char op[] = "upsert_product";
	struct pg *h = handle;
	if (!need_args(h, DDB_ROLE_REGIONAL, p != NULL, "no product", op, err))
		return DDB_INVALID;
	const char *why = ddb_product_problem_utf8(p);
	if (why) {
		int l = ddb_field_len(p->sku, sizeof p->sku);
		return pgc_fail(h, DDB_INVALID, err, "%s: %.*s: %s", op, l > 0 ? l : 0, p->sku, why);
	}
	struct pgb_req r;
	pgb_begin(&r, &h->buf);
	pgb_text(&r, h->node);
	pgb_i64(&r, now_us);
	pgb_text(&r, p->sku);
	pgb_text(&r, p->name);
	pgb_i64(&r, p->price_cents);
	pgb_i64(&r, p->version);
	pgb_array(&r, PGB_OID_TEXT, p->n_components);
	for (size_t i = 0; i < p->n_components; i++)
		pgb_elem_text(&r, p->components[i].sku);
	pgb_end(&r);
	pgb_array(&r, PGB_OID_INT8, p->n_components);
	for (size_t i = 0; i < p->n_components; i++)
		pgb_elem_i64(&r, p->components[i].quantity);
	pgb_end(&r);
	/* Idempotent by (sku, version): after a lost connection the caller
	 * may send it again; if the first one committed, that says DUPLICATE. */
	enum ddb_status st;
	PGresult *res = pgc_run(h, S_UPSERT_PRODUCT, &r, op, &st, NULL, err);
	if (!res)
		return st;
	int applied = (int)pgb_get_int(res, 0, 0);
	PQclear(res);
	if (!applied)
		return pgc_fail(h, DDB_DUPLICATE, err,
		                "%s: %s: version %lld is not higher than the stored one", op, p->sku,
		                (long long)p->version);
	return DDB_OK;
}

static enum ddb_status pg_restock(void *handle, const char *sku, int64_t quantity,
                                  struct ddb_err *err)
{
	static const char op[] = "restock";
	struct pg *h = handle;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	int len = sku ? text_len(sku, DDB_SKU_MAX) : -1;
	if (len <= 0)
		return pgc_fail(h, DDB_INVALID, err, "%s: empty, unterminated or non-UTF-8 sku", op);
	if (quantity < 1)
		return pgc_fail(h, DDB_INVALID, err, "%s: %s: quantity %lld must be at least 1", op, sku,
		                (long long)quantity);
	struct pgb_req r;
	pgb_begin(&r, &h->buf);
	pgb_i64(&r, quantity);
	pgb_text(&r, sku);
	pgb_text(&r, h->writer);
	pgb_i64(&r, ++h->op);
	/* Not idempotent (it adds): never sent twice.  Recorded in the write
	 * log, so that a lost connection does not leave it in doubt. */
	enum ddb_status st;
	int unknown = 0;
	PGresult *res = pgc_run(h, S_RESTOCK, &r, op, &st, &unknown, err);
	if (!res && unknown) {
		PGresult *row;
		int committed = pgc_resolve(h, op, &row, err);
		PQclear(row);
		if (committed == 1) {
			if (err)
				err->msg[0] = '\0';
			return DDB_OK;
		}
		if (committed == 0)
			pgc_fail(h, DDB_UNAVAILABLE, err, "%s: %s: connection lost; not applied", op, sku);
		return DDB_UNAVAILABLE;
	}
	if (!res)
		return st;
	int changed = (int)pgb_get_int(res, 0, 0), exists = (int)pgb_get_int(res, 0, 2);
	PQclear(res);
	if (changed)
		return DDB_OK;
	if (!exists)
		return pgc_fail(h, DDB_NOT_FOUND, err, "%s: %s: no such product", op, sku);
	return pgc_fail(h, DDB_INVALID, err, "%s: %s: stock would exceed the int64 range", op, sku);
}

/* ---- regional: orders ---------------------------------------------------- */

static enum ddb_status status_of_letter(char c)
{
	switch (c) {
	case 'O': return DDB_OK;
	case 'D': return DDB_DUPLICATE;
	case 'I': return DDB_INSUFFICIENT;
	case 'N': return DDB_NOT_FOUND;
	}
	return DDB_INTERNAL;
}

/* Spreads the letters of the valid orders over results[]. */
static enum ddb_status spread_outcome(struct pg *h, const char *outcome, size_t n_valid,
                                      enum ddb_status *results, size_t n, struct ddb_err *err)
{
	if (strlen(outcome) != n_valid)
		return pgc_fail(h, DDB_INTERNAL, err, "place_orders: %zu results for %zu orders",
		                strlen(outcome), n_valid);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (results[i] != DDB_INVALID)
			results[i] = status_of_letter(outcome[k++]);
	return DDB_OK;
}

static enum ddb_status pg_place_orders(void *handle, const struct ddb_order *orders, size_t n,
                                       enum ddb_status *results, struct ddb_err *err)
{
	static const char op[] = "place_orders";
	struct pg *h = handle;
	enum ddb_status early;
	if (!batch_go(h, DDB_ROLE_REGIONAL, n, orders && results, "no orders or no results array", op, &early, err))
		return early;
	if (err)
		err->msg[0] = '\0';

	size_t n_valid = 0;
	for (size_t i = 0; i < n; i++) {
		const char *why = ddb_order_problem_utf8(&orders[i]);
		if (why) {
			/* Say why the first invalid order is invalid, even
			 * though the call itself succeeds. */
			if (err && !err->msg[0]) {
				int l = ddb_field_len(orders[i].id, sizeof orders[i].id);
				pgc_fail(h, DDB_INVALID, err, "%s: order %zu (%.*s): %s", op, i, l > 0 ? l : 0,
				         orders[i].id, why);
			}
			results[i] = DDB_INVALID;
		} else {
			results[i] = DDB_OK; /* for now: valid */
			n_valid++;
		}
	}
	if (n_valid == 0)
		return DDB_OK;

	struct pgb_req r;
	pgb_begin(&r, &h->buf);
	pgb_text(&r, h->node);
	pgb_text(&r, h->writer);
	pgb_i64(&r, ++h->op);
#define ORDER_ARRAY(oid, put)                                                                \
	do {                                                                                 \
		pgb_array(&r, oid, n_valid);                                                   \
		for (size_t i = 0; i < n; i++)                                               \
			if (results[i] == DDB_OK)                                            \
				put;                                                         \
		pgb_end(&r);                                                                   \
	} while (0)
	ORDER_ARRAY(PGB_OID_TEXT, pgb_elem_text(&r, orders[i].id));
	ORDER_ARRAY(PGB_OID_TEXT, pgb_elem_text(&r, orders[i].region));
	ORDER_ARRAY(PGB_OID_TEXT, pgb_elem_text(&r, orders[i].customer));
	ORDER_ARRAY(PGB_OID_TEXT, pgb_elem_text(&r, orders[i].sku));
	ORDER_ARRAY(PGB_OID_INT8, pgb_elem_i64(&r, orders[i].quantity));
	ORDER_ARRAY(PGB_OID_INT8, pgb_elem_i64(&r, orders[i].unit_price_cents));
	ORDER_ARRAY(PGB_OID_INT8, pgb_elem_i64(&r, orders[i].placed_at_us));
#undef ORDER_ARRAY

	/* One round trip, one transaction.  Not idempotent in its results (a
	 * second try says DUPLICATE for what the first placed): never sent
	 * twice; recorded in the write log instead. */
	enum ddb_status st;
	int unknown = 0;
	PGresult *res = pgc_run(h, S_PLACE, &r, op, &st, &unknown, err);
	if (res) {
		st = spread_outcome(h, PQgetvalue(res, 0, 0), n_valid, results, n, err);
		PQclear(res);
	} else if (unknown) {
		PGresult *row;
		int committed = pgc_resolve(h, op, &row, err);
		if (committed == 1) {
			if (err)
				err->msg[0] = '\0';
			st = spread_outcome(h, PQgetvalue(row, 0, 2), n_valid, results, n, err);
			PQclear(row);
		} else {
			if (committed == 0)
				pgc_fail(h, DDB_UNAVAILABLE, err, "%s: connection lost; the batch did not commit",
				         op);
			st = DDB_UNAVAILABLE;
		}
	}
	if (st != DDB_OK) {
		for (size_t i = 0; i < n; i++)
			results[i] = st;
		if (err) {
			size_t used = strnlen(err->msg, sizeof err->msg);
			snprintf(err->msg + used, sizeof err->msg - used,
			         " (rolled back: no order of the batch was placed)");
		}
	}
	return st;
}

/* ---- regional: outbox ------------------------------------------------------ */

/* Fills ev from a row of EVENT_COLUMNS. */
static enum ddb_status fill_event(struct pg *h, const PGresult *res, int row,
                                  struct ddb_event *ev, struct ddb_err *err)
{
	memset(ev, 0, sizeof *ev);
	ev->seq = pgb_get_int(res, row, 0);
	int bad = pgb_get_text(res, row, 1, ev->origin, sizeof ev->origin) |
	          pgb_get_text(res, row, 2, ev->id, sizeof ev->id);
	ev->kind = (int)pgb_get_int(res, row, 3);
	ev->state = (int)pgb_get_int(res, row, 4);
	ev->created_at_us = pgb_get_int(res, row, 5);
	if (ev->kind == DDB_EVENT_ORDER) {
		struct ddb_order *o = &ev->order;
		bad |= pgb_get_text(res, row, 6, o->id, sizeof o->id) |
		       pgb_get_text(res, row, 7, o->region, sizeof o->region) |
		       pgb_get_text(res, row, 8, o->customer, sizeof o->customer) |
		       pgb_get_text(res, row, 9, o->sku, sizeof o->sku);
		o->quantity = pgb_get_int(res, row, 10);
		o->unit_price_cents = pgb_get_int(res, row, 11);
		o->placed_at_us = pgb_get_int(res, row, 12);
	} else {
		struct ddb_product *p = &ev->product;
		bad |= pgb_get_text(res, row, 9, p->sku, sizeof p->sku) |
		       pgb_get_text(res, row, 13, p->name, sizeof p->name);
		p->price_cents = pgb_get_int(res, row, 14);
		p->version = pgb_get_int(res, row, 15);
		bad |= pgb_get_components(res, row, 16, 17, p);
	}
	if (bad)
		return pgc_fail(h, DDB_INTERNAL, err, "outbox: event %lld: a stored value does not fit",
		                (long long)ev->seq);
	return DDB_OK;
}

static enum ddb_status pg_outbox_read(void *handle, int64_t after_seq, int want_state,
                                      struct ddb_event *events, size_t max, size_t *n_out,
                                      struct ddb_err *err)
{
	static const char op[] = "outbox_read";
	struct pg *h = handle;
	if (n_out)
		*n_out = 0;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (!n_out || (!events && max > 0))
		return pgc_fail(h, DDB_INVALID, err, "%s: no events array or count", op);
	if (!ddb_outbox_state_ok(want_state))
		return pgc_fail(h, DDB_INVALID, err, "%s: unknown state %d", op, want_state);
	if (max == 0)
		return DDB_OK;

	int64_t limit = max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max;
	struct pgb_req r;
	pgb_begin(&r, &h->buf);
	enum stmt_id id;
	if (want_state == DDB_OUTBOX_APPLIED) {
		id = S_OUTBOX_READ_APPLIED;
	} else {
		id = S_OUTBOX_READ_PENDING;
		pgb_i32(&r, want_state);
	}
	pgb_i64(&r, after_seq);
	pgb_i64(&r, limit);
	/* A read: idempotent. */
	enum ddb_status st;
	PGresult *res = pgc_run(h, id, &r, op, &st, NULL, err);
	if (!res)
		return st;
	size_t n = (size_t)PQntuples(res);
	if (n > max)
		n = max;
	st = DDB_OK;
	for (size_t i = 0; st == DDB_OK && i < n; i++)
		st = fill_event(h, res, (int)i, &events[i], err);
	PQclear(res);
	*n_out = st == DDB_OK ? n : 0;
	return st;
}

static enum ddb_status pg_outbox_mark(void *handle, const int64_t *seqs, size_t n, int state,
                                      struct ddb_err *err)
{
	static const char op[] = "outbox_mark";
	struct pg *h = handle;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (!ddb_outbox_state_ok(state))
		return pgc_fail(h, DDB_INVALID, err, "%s: unknown state %d", op, state);
	enum ddb_status early;
	if (!batch_go(h, DDB_ROLE_REGIONAL, n, seqs != NULL, "no seqs array", op, &early, err))
		return early;
	struct pgb_req r;
	pgb_begin(&r, &h->buf);
	pgb_i32(&r, state);
	pgb_array(&r, PGB_OID_INT8, n);
	for (size_t i = 0; i < n; i++)
		pgb_elem_i64(&r, seqs[i]);
	pgb_end(&r);
	/* Idempotent: states only go up; a repeat changes nothing. */
	enum ddb_status st;
	PGresult *res = pgc_run(h, S_OUTBOX_MARK, &r, op, &st, NULL, err);
	PQclear(res);
	return res ? DDB_OK : st;
}

static enum ddb_status pg_outbox_requeue(void *handle, struct ddb_err *err)
{
	static const char op[] = "outbox_requeue";
	struct pg *h = handle;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	/* Idempotent: PUBLISHED back to NEW. */
	enum ddb_status st;
	PGresult *res = pgc_run(h, S_OUTBOX_REQUEUE, NULL, op, &st, NULL, err);
	PQclear(res);
	return res ? DDB_OK : st;
}

/* ---- regional: customers ------------------------------------------------- */

static enum ddb_status pg_put_customers(void *handle, const struct ddb_customer *customers,
                                        size_t n, enum ddb_status *results, struct ddb_err *err)
{
	static const char op[] = "put_customers";
	struct pg *h = handle;
	enum ddb_status early;
	if (!batch_go(h, DDB_ROLE_REGIONAL, n, customers && results, "no customers or no results array", op, &early, err))
		return early;
	if (err)
		err->msg[0] = '\0';
	size_t n_valid = 0;
	for (size_t i = 0; i < n; i++) {
		const char *why = ddb_customer_problem_utf8(&customers[i]);
		if (why) {
			if (err && !err->msg[0]) {
				int l = ddb_field_len(customers[i].id, sizeof customers[i].id);
				pgc_fail(h, DDB_INVALID, err, "%s: customer %zu (%.*s): %s", op, i,
				         l > 0 ? l : 0, customers[i].id, why);
			}
			results[i] = DDB_INVALID;
		} else {
			results[i] = DDB_OK;
			n_valid++;
		}
	}
	if (n_valid == 0)
		return DDB_OK;
	struct pgb_req r;
	pgb_begin(&r, &h->buf);
#define CUSTOMER_ARRAY(oid, put)                                                             \
	do {                                                                                 \
		pgb_array(&r, oid, n_valid);                                                   \
		for (size_t i = 0; i < n; i++)                                               \
			if (results[i] == DDB_OK)                                            \
				put;                                                         \
		pgb_end(&r);                                                                   \
	} while (0)
	CUSTOMER_ARRAY(PGB_OID_TEXT, pgb_elem_text(&r, customers[i].id));
	CUSTOMER_ARRAY(PGB_OID_TEXT, pgb_elem_text(&r, customers[i].unique_id));
	CUSTOMER_ARRAY(PGB_OID_INT8, pgb_elem_i64(&r, customers[i].zip_prefix));
	CUSTOMER_ARRAY(PGB_OID_TEXT, pgb_elem_text(&r, customers[i].city));
	CUSTOMER_ARRAY(PGB_OID_TEXT, pgb_elem_text(&r, customers[i].state));
	CUSTOMER_ARRAY(PGB_OID_TEXT, pgb_elem_text(&r, customers[i].name));
	CUSTOMER_ARRAY(PGB_OID_TEXT, pgb_elem_text(&r, customers[i].email));
	CUSTOMER_ARRAY(PGB_OID_TEXT, pgb_elem_text(&r, customers[i].home));
	CUSTOMER_ARRAY(PGB_OID_INT8, pgb_elem_i64(&r, customers[i].version));
	CUSTOMER_ARRAY(PGB_OID_BOOL, pgb_elem_bool(&r, customers[i].deleted));
	CUSTOMER_ARRAY(PGB_OID_INT8, pgb_elem_i64(&r, customers[i].updated_at_us));
#undef CUSTOMER_ARRAY
	/* Idempotent by (id, version): a replay writes nothing (and says
	 * DUPLICATE). */
	enum ddb_status st;
	PGresult *res = pgc_run(h, S_PUT_CUSTOMERS, &r, op, &st, NULL, err);
	if (res) {
		const char *outcome = PQgetvalue(res, 0, 0);
		if (strlen(outcome) != n_valid) {
			st = pgc_fail(h, DDB_INTERNAL, err, "%s: %zu results for %zu records", op,
			              strlen(outcome), n_valid);
		} else {
			size_t k = 0;
			for (size_t i = 0; i < n; i++)
				if (results[i] == DDB_OK)
					results[i] = outcome[k++] == 'O' ? DDB_OK : DDB_DUPLICATE;
		}
		PQclear(res);
	}
	if (st != DDB_OK)
		for (size_t i = 0; i < n; i++)
			results[i] = st;
	return st;
}

static int fill_customer(const PGresult *res, int row, struct ddb_customer *c)
{
	memset(c, 0, sizeof *c);
	int bad = pgb_get_text(res, row, 0, c->id, sizeof c->id) |
	          pgb_get_text(res, row, 1, c->unique_id, sizeof c->unique_id) |
	          pgb_get_text(res, row, 3, c->city, sizeof c->city) |
	          pgb_get_text(res, row, 4, c->state, sizeof c->state) |
	          pgb_get_text(res, row, 5, c->name, sizeof c->name) |
	          pgb_get_text(res, row, 6, c->email, sizeof c->email) |
	          pgb_get_text(res, row, 7, c->home, sizeof c->home);
	c->zip_prefix = pgb_get_int(res, row, 2);
	c->version = pgb_get_int(res, row, 8);
	c->deleted = pgb_get_int(res, row, 9) != 0;
	c->updated_at_us = pgb_get_int(res, row, 10);
	return bad;
}

static enum ddb_status pg_get_customer(void *handle, const char *id, struct ddb_customer *out,
                                       struct ddb_err *err)
{
	static const char op[] = "get_customer";
	struct pg *h = handle;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (!id || !out)
		return pgc_fail(h, DDB_INVALID, err, "%s: no id or no record to fill", op);
	int len = text_len(id, DDB_NAME_MAX);
	if (len <= 0)
		return pgc_fail(h, DDB_INVALID, err, "%s: empty, unterminated or non-UTF-8 id", op);
	struct pgb_req r;
	pgb_begin(&r, &h->buf);
	pgb_text(&r, id);
	/* A read: idempotent. */
	enum ddb_status st;
	PGresult *res = pgc_run(h, S_GET_CUSTOMER, &r, op, &st, NULL, err);
	if (!res)
		return st;
	if (PQntuples(res) == 0)
		st = pgc_fail(h, DDB_NOT_FOUND, err, "%s: %s: no such customer", op, id);
	else if (fill_customer(res, 0, out))
		st = pgc_fail(h, DDB_INTERNAL, err, "%s: %s: a stored value does not fit", op, id);
	PQclear(res);
	return st;
}

static enum ddb_status pg_find_customers(void *handle, const struct ddb_customer_filter *filter,
                                         void (*emit)(void *ctx, const struct ddb_customer *c),
                                         void *ctx, struct ddb_err *err)
{
	static const char op[] = "find_customers";
	struct pg *h = handle;
	if (!need_args(h, DDB_ROLE_REGIONAL, filter && emit, "no filter or no emit function", op,
	               err))
		return DDB_INVALID;
	if ((filter->city && text_len(filter->city, DDB_TITLE_MAX) < 0) ||
	    (filter->state && text_len(filter->state, DDB_NAME_MAX) < 0))
		return pgc_fail(h, DDB_INVALID, err, "%s: city or state too long or not UTF-8", op);
	char after[DDB_NAME_MAX] = "";
	size_t emitted = 0;
	/* Pages by id: the emit function may call this instance. */
	for (;;) {
		int64_t page = SCAN_PAGE;
		if (filter->limit && filter->limit - emitted < (size_t)page)
			page = (int64_t)(filter->limit - emitted);
		struct pgb_req r;
		pgb_begin(&r, &h->buf);
		pgb_i64(&r, filter->zip_min);
		pgb_i64(&r, filter->zip_max);
		if (filter->city)
			pgb_text(&r, filter->city);
		else
			pgb_null(&r);
		if (filter->state)
			pgb_text(&r, filter->state);
		else
			pgb_null(&r);
		pgb_text(&r, after);
		pgb_i64(&r, page);
		/* A read: idempotent. */
		enum ddb_status st;
		PGresult *res = pgc_run(h, S_FIND_CUSTOMERS, &r, op, &st, NULL, err);
		if (!res)
			return st;
		int rows = PQntuples(res);
		for (int i = 0; i < rows; i++) {
			struct ddb_customer c;
			if (fill_customer(res, i, &c)) {
				PQclear(res);
				return pgc_fail(h, DDB_INTERNAL, err, "%s: a stored value does not fit", op);
			}
			emit(ctx, &c);
			emitted++;
			if (i == rows - 1)
				memcpy(after, c.id, sizeof after);
		}
		PQclear(res);
		if (rows < page || (filter->limit && emitted >= filter->limit))
			return DDB_OK;
	}
}

/* ---- central --------------------------------------------------------------- */

/* The arrays of the products among n items (sku, name, price, version) and
 * of their components (owner: the product's 1-based index, sku, quantity);
 * get returns an item's product, or NULL. */
static void product_arrays(struct pgb_req *r, const void *items, size_t n, size_t stride,
                           size_t n_products,
                           const struct ddb_product *(*get)(const void *item))
{
	const char *base = items;
	size_t n_comp = 0;
	for (size_t i = 0; i < n; i++) {
		const struct ddb_product *p = get(base + i * stride);
		if (p)
			n_comp += p->n_components;
	}
#define EACH_PRODUCT(stmt)                                                                   \
	for (size_t i = 0; i < n; i++) {                                                     \
		const struct ddb_product *p = get(base + i * stride);                        \
		if (p)                                                                       \
			stmt;                                                                \
	}
	pgb_array(r, PGB_OID_TEXT, n_products);
	EACH_PRODUCT(pgb_elem_text(r, p->sku));
	pgb_end(r);
	pgb_array(r, PGB_OID_TEXT, n_products);
	EACH_PRODUCT(pgb_elem_text(r, p->name));
	pgb_end(r);
	pgb_array(r, PGB_OID_INT8, n_products);
	EACH_PRODUCT(pgb_elem_i64(r, p->price_cents));
	pgb_end(r);
	pgb_array(r, PGB_OID_INT8, n_products);
	EACH_PRODUCT(pgb_elem_i64(r, p->version));
	pgb_end(r);
	int32_t k;
	pgb_array(r, PGB_OID_INT4, n_comp);
	k = 0;
	EACH_PRODUCT({
		k++;
		for (size_t c = 0; c < p->n_components; c++)
			pgb_elem_i32(r, k);
	});
	pgb_end(r);
	pgb_array(r, PGB_OID_TEXT, n_comp);
	EACH_PRODUCT({
		for (size_t c = 0; c < p->n_components; c++)
			pgb_elem_text(r, p->components[c].sku);
	});
	pgb_end(r);
	pgb_array(r, PGB_OID_INT8, n_comp);
	EACH_PRODUCT({
		for (size_t c = 0; c < p->n_components; c++)
			pgb_elem_i64(r, p->components[c].quantity);
	});
	pgb_end(r);
#undef EACH_PRODUCT
}

static const struct ddb_product *event_product(const void *item)
{
	const struct ddb_event *ev = item;
	return ev->kind == DDB_EVENT_PRODUCT ? &ev->product : NULL;
}

static const struct ddb_product *plain_product(const void *item)
{
	return item;
}

/* The order arrays ($1..$7) of the orders among items. */
static void order_arrays(struct pgb_req *r, const void *items, size_t n, size_t stride,
                         size_t n_orders, const struct ddb_order *(*get)(const void *item))
{
	const char *base = items;
#define EACH_ORDER(oid, stmt)                                                                \
	do {                                                                                 \
		pgb_array(r, oid, n_orders);                                                   \
		for (size_t i = 0; i < n; i++) {                                             \
			const struct ddb_order *o = get(base + i * stride);                  \
			if (o)                                                               \
				stmt;                                                        \
		}                                                                            \
		pgb_end(r);                                                                    \
	} while (0)
	EACH_ORDER(PGB_OID_TEXT, pgb_elem_text(r, o->id));
	EACH_ORDER(PGB_OID_TEXT, pgb_elem_text(r, o->region));
	EACH_ORDER(PGB_OID_TEXT, pgb_elem_text(r, o->customer));
	EACH_ORDER(PGB_OID_TEXT, pgb_elem_text(r, o->sku));
	EACH_ORDER(PGB_OID_INT8, pgb_elem_i64(r, o->quantity));
	EACH_ORDER(PGB_OID_INT8, pgb_elem_i64(r, o->unit_price_cents));
	EACH_ORDER(PGB_OID_INT8, pgb_elem_i64(r, o->placed_at_us));
#undef EACH_ORDER
}

static const struct ddb_order *event_order(const void *item)
{
	const struct ddb_event *ev = item;
	return ev->kind == DDB_EVENT_ORDER ? &ev->order : NULL;
}

static const struct ddb_order *plain_order(const void *item)
{
	return item;
}

static enum ddb_status pg_apply_events(void *handle, const struct ddb_event *events, size_t n,
                                       int64_t applied_at_us, struct ddb_err *err)
{
	static const char op[] = "apply_events";
	struct pg *h = handle;
	enum ddb_status early;
	if (!batch_go(h, DDB_ROLE_CENTRAL, n, events != NULL, "no events array", op, &early, err))
		return early;
	/* All or nothing: one bad event fails the call before anything is
	 * sent. */
	size_t n_orders = 0, n_products = 0;
	for (size_t i = 0; i < n; i++) {
		const char *why;
		if (events[i].kind == DDB_EVENT_ORDER) {
			why = ddb_order_problem_utf8(&events[i].order);
			n_orders++;
		} else if (events[i].kind == DDB_EVENT_PRODUCT) {
			why = ddb_product_problem_utf8(&events[i].product);
			n_products++;
		} else {
			why = "unknown event kind";
		}
		if (why)
			return pgc_fail(h, DDB_INVALID, err, "%s: event %zu (seq %lld): %s", op, i,
			                (long long)events[i].seq, why);
	}
	struct pgb_req r;
	pgb_begin(&r, &h->buf);
	order_arrays(&r, events, n, sizeof *events, n_orders, event_order);
	pgb_i64(&r, applied_at_us);
	product_arrays(&r, events, n, sizeof *events, n_products, event_product);
	/* Idempotent by key: a replayed batch changes nothing. */
	enum ddb_status st;
	PGresult *res = pgc_run(h, S_APPLY, &r, op, &st, NULL, err);
	PQclear(res);
	return res ? DDB_OK : st;
}

static enum ddb_status pg_sales_report(void *handle, int by,
                                       void (*emit)(void *ctx, const struct ddb_sales *line),
                                       void *ctx, struct ddb_err *err)
{
	static const char op[] = "sales_report";
	struct pg *h = handle;
	if (!need_args(h, DDB_ROLE_CENTRAL, emit != NULL, "no emit function", op, err))
		return DDB_INVALID;
	enum stmt_id id = by == DDB_SALES_BY_REGION    ? S_SALES_BY_REGION
	                  : by == DDB_SALES_BY_PRODUCT ? S_SALES_BY_SKU
	                                               : S_COUNT;
	if (id == S_COUNT)
		return pgc_fail(h, DDB_INVALID, err, "%s: unknown grouping %d", op, by);
	/* A read: idempotent. */
	enum ddb_status st;
	PGresult *res = pgc_run(h, id, NULL, op, &st, NULL, err);
	if (!res)
		return st;
	int rows = PQntuples(res);
	st = DDB_OK;
	for (int i = 0; i < rows; i++) {
		struct ddb_sales line;
		if (pgb_get_text(res, i, 0, line.key, sizeof line.key)) {
			st = pgc_fail(h, DDB_INTERNAL, err, "%s: a key is longer than %d bytes", op,
			              DDB_SKU_MAX - 1);
			break;
		}
		line.orders = pgb_get_int(res, i, 1);
		line.units = pgb_get_int(res, i, 2);
		line.revenue_cents = pgb_get_int(res, i, 3);
		emit(ctx, &line);
	}
	PQclear(res);
	return st;
}

/* ---- documents ------------------------------------------------------------- */

static enum ddb_status pg_put_order_logs(void *handle, const struct ddb_order *orders, size_t n,
                                         int64_t logged_at_us, struct ddb_err *err)
{
	static const char op[] = "put_order_logs";
	struct pg *h = handle;
	enum ddb_status early;
	if (!batch_go(h, DDB_ROLE_DOCUMENTS, n, orders != NULL, "no orders array", op, &early, err))
		return early;
	for (size_t i = 0; i < n; i++) {
		const char *why = ddb_order_problem_utf8(&orders[i]);
		if (why)
			return pgc_fail(h, DDB_INVALID, err, "%s: order %zu: %s", op, i, why);
	}
	struct pgb_req r;
	pgb_begin(&r, &h->buf);
	order_arrays(&r, orders, n, sizeof *orders, n, plain_order);
	pgb_i64(&r, logged_at_us);
	/* Idempotent: an upsert by order id. */
	enum ddb_status st;
	PGresult *res = pgc_run(h, S_LOG_UPSERT, &r, op, &st, NULL, err);
	PQclear(res);
	return res ? DDB_OK : st;
}

static enum ddb_status pg_put_components(void *handle, const struct ddb_product *products,
                                         size_t n, struct ddb_err *err)
{
	static const char op[] = "put_components";
	struct pg *h = handle;
	enum ddb_status early;
	if (!batch_go(h, DDB_ROLE_DOCUMENTS, n, products != NULL, "no products array", op, &early, err))
		return early;
	for (size_t i = 0; i < n; i++) {
		const char *why = ddb_product_problem_utf8(&products[i]);
		if (why)
			return pgc_fail(h, DDB_INVALID, err, "%s: product %zu: %s", op, i, why);
	}
	struct pgb_req r;
	pgb_begin(&r, &h->buf);
	product_arrays(&r, products, n, sizeof *products, n, plain_product);
	/* Idempotent: an upsert by sku that keeps the highest version. */
	enum ddb_status st;
	PGresult *res = pgc_run(h, S_COMPONENT_DOC_UPSERT, &r, op, &st, NULL, err);
	PQclear(res);
	return res ? DDB_OK : st;
}

/* ---- scans ----------------------------------------------------------------- */

static enum ddb_status pg_scan_open(void *handle, int dataset, const char *region,
                                    void **cursor, struct ddb_err *err)
{
	static const char op[] = "scan_open";
	struct pg *h = handle;
	struct ddb_err msg;
	const char *why = ddb_scan_problem(h->roles, dataset, cursor, &msg);
	if (why)
		return pgc_fail(h, DDB_INVALID, err, "%s: %s", op, why);
	struct pg_cursor *c = calloc(1, sizeof *c);
	if (!c)
		return pgc_fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	c->h = h;
	c->dataset = dataset;
	c->id = scan_stmt[dataset].all;
	c->last_seq = INT64_MIN;
	/* The region filter applies to the datasets of orders; the others
	 * have no region and ignore it. */
	if (region && scan_stmt[dataset].by_region != S_COUNT) {
		if (text_len(region, DDB_NAME_MAX) < 0) {
			free(c);
			return pgc_fail(h, DDB_INVALID, err, "%s: region longer than %d bytes or not UTF-8",
			                op, DDB_NAME_MAX - 1);
		}
		snprintf(c->region, sizeof c->region, "%s", region);
		c->by_region = 1;
		c->id = scan_stmt[dataset].by_region;
	}
	*cursor = c;
	return DDB_OK;
}

/* The next page of the cursor's dataset after its last key. */
static enum ddb_status fetch_page(struct pg_cursor *c, struct ddb_err *err)
{
	struct pg *h = c->h;
	PQclear(c->page);
	c->page = NULL;
	c->row = c->rows = 0;
	struct pgb_req r;
	pgb_begin(&r, &h->buf);
	if (scan_stmt[c->dataset].int_key)
		pgb_i64(&r, c->last_seq);
	else
		pgb_text(&r, c->last_key);
	pgb_i64(&r, SCAN_PAGE);
	if (c->by_region)
		pgb_text(&r, c->region);
	/* A read: idempotent (a failed page is fetched again by the next
	 * scan_next). */
	enum ddb_status st;
	c->page = pgc_run(h, c->id, &r, "scan", &st, NULL, err);
	if (!c->page)
		return st;
	c->rows = PQntuples(c->page);
	c->last_page = c->rows < SCAN_PAGE;
	return DDB_OK;
}

static enum ddb_status pg_scan_next(void *cursor, struct ddb_row *row, struct ddb_err *err)
{
	struct pg_cursor *c = cursor;
	if (!c || !row)
		return pgc_fail(c ? c->h : NULL, DDB_INVALID, err, "scan_next: no cursor or row");
	struct pg *h = c->h;
	if (c->done)
		return DDB_NOT_FOUND;
	if (c->row >= c->rows) {
		if (c->page && c->last_page) {
			c->done = 1;
			PQclear(c->page);
			c->page = NULL;
			return DDB_NOT_FOUND;
		}
		enum ddb_status st = fetch_page(c, err);
		if (st != DDB_OK)
			return st;
		if (c->rows == 0) {
			c->done = 1;
			return DDB_NOT_FOUND;
		}
	}
	const PGresult *res = c->page;
	int i = c->row++;
	row->dataset = c->dataset;
	row->applied_at_us = 0;
	int bad = 0;
	const char *key = NULL;
	switch (c->dataset) {
	case DDB_DS_PRODUCTS:
	case DDB_DS_CENTRAL_PRODUCTS:
	case DDB_DS_COMPONENTS: {
		struct ddb_product *p = &row->product;
		memset(p, 0, sizeof *p);
		bad = pgb_get_text(res, i, 0, p->sku, sizeof p->sku) |
		      pgb_get_text(res, i, 1, p->name, sizeof p->name);
		p->price_cents = pgb_get_int(res, i, 2);
		p->version = pgb_get_int(res, i, 3);
		bad |= pgb_get_components(res, i, 4, 5, p);
		key = p->sku;
		break;
	}
	case DDB_DS_INVENTORY:
		memset(&row->stock, 0, sizeof row->stock);
		bad = pgb_get_text(res, i, 0, row->stock.sku, sizeof row->stock.sku);
		row->stock.stock = pgb_get_int(res, i, 1);
		row->stock.received = pgb_get_int(res, i, 2);
		row->stock.sold = pgb_get_int(res, i, 3);
		key = row->stock.sku;
		break;
	case DDB_DS_ORDERS:
	case DDB_DS_ORDER_LOGS:
	case DDB_DS_CENTRAL_ORDERS: {
		struct ddb_order *o = &row->order;
		memset(o, 0, sizeof *o);
		bad = pgb_get_text(res, i, 0, o->id, sizeof o->id) |
		      pgb_get_text(res, i, 1, o->region, sizeof o->region) |
		      pgb_get_text(res, i, 2, o->customer, sizeof o->customer) |
		      pgb_get_text(res, i, 3, o->sku, sizeof o->sku);
		o->quantity = pgb_get_int(res, i, 4);
		o->unit_price_cents = pgb_get_int(res, i, 5);
		o->placed_at_us = pgb_get_int(res, i, 6);
		if (c->dataset == DDB_DS_CENTRAL_ORDERS)
			row->applied_at_us = pgb_get_int(res, i, 7);
		key = o->id;
		break;
	}
	case DDB_DS_CUSTOMERS:
		bad = fill_customer(res, i, &row->customer);
		key = row->customer.id;
		break;
	case DDB_DS_OUTBOX: {
		enum ddb_status st = fill_event(h, res, i, &row->event, err);
		c->last_seq = row->event.seq;
		return st;
	}
	}
	if (bad)
		return pgc_fail(h, DDB_INTERNAL, err, "scan: dataset %d: a stored value does not fit",
		                c->dataset);
	snprintf(c->last_key, sizeof c->last_key, "%s", key);
	return DDB_OK;
}

static void pg_scan_close(void *cursor)
{
	struct pg_cursor *c = cursor;
	if (!c)
		return;
	PQclear(c->page);
	free(c);
}

/* ---- the descriptor ---------------------------------------------------------- */

static const struct ddb_storage_ops postgres_ops = {
	.open = pgc_open,
	.close = pgc_close,
	.reset = pgc_reset,
	.upsert_product = pg_upsert_product,
	.restock = pg_restock,
	.place_orders = pg_place_orders,
	.outbox_read = pg_outbox_read,
	.outbox_mark = pg_outbox_mark,
	.outbox_requeue = pg_outbox_requeue,
	.put_customers = pg_put_customers,
	.get_customer = pg_get_customer,
	.find_customers = pg_find_customers,
	.apply_events = pg_apply_events,
	.sales_report = pg_sales_report,
	.put_order_logs = pg_put_order_logs,
	.put_components = pg_put_components,
	.scan_open = pg_scan_open,
	.scan_next = pg_scan_next,
	.scan_close = pg_scan_close,
};

/* The options open() reads (the core refuses others). */
static const char *const option_keys[] = {
	"conninfo", "host", "port", "dbname", "user", "password", "connect_timeout",
	"application_name", "synchronous_commit", "create_database", "resolve_timeout_ms",
	"backoff_min_ms", "backoff_max_ms", NULL
};

static const struct ddb_plugin postgres_plugin = {
	.abi = DDB_PLUGIN_ABI,
	.kind = DDB_KIND_STORAGE,
	.name = "postgres",
	.version = PLUGIN_VERSION,
	.caps = DDB_ROLES_ALL,
	.storage = &postgres_ops,
	.settings = option_keys,
};

const struct ddb_plugin *ddbsim_plugin_entry(void)
{
	return &postgres_plugin;
}
