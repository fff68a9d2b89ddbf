/*
 * sqlite.c - the SQLite storage plugin: one database file per node, serving
 * the regional, central and documents roles (any combination).
 *
 * Every statement is prepared once, at open, and reused; every value travels
 * as a bound parameter.  The file is in WAL mode; each write operation is one
 * BEGIN IMMEDIATE ... COMMIT, so that place_orders commits a whole batch with
 * one log write (group commit).  The log's checkpoints run on a thread of
 * the store (sqlite_checkpoint.c), not inside a commit.
 *
 * Tables (STRICT; keyed by text with BINARY collation, so that scans come out
 * in bytewise key order):
 *   regional   products, product_components, inventory, orders, outbox,
 *              customers
 *   central    central_products, central_orders
 *   documents  order_product, product_component
 * The components of a product are rows of product_components in the
 * regional catalog; in the copies of a product (an outbox payload, a central
 * product, a product-component document) they are one BLOB in the format of
 * components_encode(), so that the copy round-trips exactly.
 *
 * Customers: one row per id, the latest version (a tombstone too: deleted =
 * 1).  find_customers compares city and state with COLLATE NOCASE, which
 * folds ASCII letters only, as the ABI asks.
 *
 * Options: path (default DATA_DIR/NODE.db), synchronous (OFF, NORMAL, FULL or
 * EXTRA; default NORMAL), busy_timeout_ms (default 5000).
 *
 * Read-only (DDB_OPEN_READONLY, ddbsim check): the file must exist and hold
 * the tables of every role served; nothing is created or changed.  Without
 * a write-ahead log beside it (NODE.db-wal, left by a process that died),
 * the file is opened immutable, which creates no -wal or -shm file; with
 * one, read-only, so that what the log holds is read too (SQLite may then
 * rebuild its index of the log, the -shm file).
 *
 * Files: sqlite.c the operations, the scans and the descriptor;
 * sqlite_schema.c open (options, path, tables, read-only), close and reset;
 * statements.sql the statements' SQL (sqlite_statements.h at build time:
 * plugins/storage/stmt2c.awk); sqlite_stmt.c the helpers every operation
 * uses; sqlite_checkpoint.c the WAL's checkpoints, on a thread of each
 * store; sqlite_int.h what they share.
 */
#include "sqlite_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLUGIN_VERSION "0.1.0"

/* The scan statements of each dataset (its role: ddb_dataset_role): all
 * rows, and one region's rows (S_COUNT: the dataset has no region filter). */
static const struct {
	enum stmt_id all, by_region;
} scan_stmt[] = {
	[DDB_DS_PRODUCTS] = { S_SCAN_PRODUCTS, S_COUNT },
	[DDB_DS_INVENTORY] = { S_SCAN_INVENTORY, S_COUNT },
	[DDB_DS_ORDERS] = { S_SCAN_ORDERS, S_SCAN_ORDERS_REGION },
	[DDB_DS_OUTBOX] = { S_SCAN_OUTBOX, S_COUNT },
	[DDB_DS_CENTRAL_PRODUCTS] = { S_SCAN_CENTRAL_PRODUCTS, S_COUNT },
	[DDB_DS_CENTRAL_ORDERS] = { S_SCAN_CENTRAL_ORDERS, S_SCAN_CENTRAL_ORDERS_REGION },
	[DDB_DS_ORDER_LOGS] = { S_SCAN_ORDER_LOGS, S_SCAN_ORDER_LOGS_REGION },
	[DDB_DS_COMPONENTS] = { S_SCAN_COMPONENTS, S_COUNT },
	[DDB_DS_CUSTOMERS] = { S_SCAN_CUSTOMERS, S_COUNT },
};

struct sq_cursor {
	struct sq *h;
	sqlite3_stmt *stmt;
	enum stmt_id id;
	int owned; /* a private copy, finalized at close */
	int dataset;
	int done;
};

/* ---- regional: products and stock ---------------------------------------- */

static enum ddb_status sq_upsert_product(void *handle, const struct ddb_product *p,
                                         int64_t now_us, struct ddb_err *err)
{
	static const char op[] = "upsert_product";
	struct sq *h = handle;
	if (!sqt_need_args(h, DDB_ROLE_REGIONAL, p != NULL, "no product", op, err))
		return DDB_INVALID;
	struct product_lens l;
	const char *why = sqt_product_invalid(p, &l);
	if (why)
		return sqt_fail(h, DDB_INVALID, err, "%s: %.*s: %s", op, l.sku > 0 ? l.sku : 0, p->sku, why);

	unsigned char blob[COMPONENTS_BLOB_MAX];
	int blob_len = sqt_components_encode(p, blob);

	enum ddb_status st = sqt_tx_begin(h, op, err);
	if (st != DDB_OK)
		return st;
	sqlite3_stmt *s = h->stmt[S_PRODUCT_UPSERT];
	int rc;
	if ((rc = sqt_bind_text(s, 1, p->sku, l.sku)) || (rc = sqt_bind_text(s, 2, p->name, l.name)) ||
	    (rc = sqt_bind_i64(s, 3, p->price_cents)) || (rc = sqt_bind_i64(s, 4, p->version)))
		goto db_error;
	if ((rc = sqt_run(s)) != SQLITE_DONE)
		goto db_error;
	if (sqlite3_changes(h->db) == 0) {
		sqt_tx_rollback(h);
		return sqt_fail(h, DDB_DUPLICATE, err, "%s: %s: version %lld is not higher than the stored one",
		            op, p->sku, (long long)p->version);
	}

	s = h->stmt[S_COMPONENTS_DELETE];
	if ((rc = sqt_bind_text(s, 1, p->sku, l.sku)) || (rc = sqt_run(s)) != SQLITE_DONE)
		goto db_error;
	s = h->stmt[S_COMPONENT_INSERT];
	for (size_t i = 0; i < p->n_components; i++) {
		const struct ddb_component *c = &p->components[i];
		if ((rc = sqt_bind_text(s, 1, p->sku, l.sku)) || (rc = sqt_bind_text(s, 2, c->sku, -1)) ||
		    (rc = sqt_bind_i64(s, 3, c->quantity)) || (rc = sqt_bind_i64(s, 4, (int64_t)i)))
			goto db_error;
		if ((rc = sqt_run(s)) != SQLITE_DONE)
			goto db_error;
	}
	s = h->stmt[S_INVENTORY_ENSURE];
	if ((rc = sqt_bind_text(s, 1, p->sku, l.sku)) || (rc = sqt_run(s)) != SQLITE_DONE)
		goto db_error;
	s = h->stmt[S_OUTBOX_PRODUCT];
	if ((rc = sqt_bind_text(s, 1, h->node, h->node_len)) || (rc = sqt_bind_i64(s, 2, now_us)) ||
	    (rc = sqt_bind_text(s, 3, p->sku, l.sku)) || (rc = sqt_bind_text(s, 4, p->name, l.name)) ||
	    (rc = sqt_bind_i64(s, 5, p->price_cents)) || (rc = sqt_bind_i64(s, 6, p->version)) ||
	    (rc = sqlite3_bind_blob(s, 7, blob, blob_len, SQLITE_STATIC)))
		goto db_error;
	if ((rc = sqt_run(s)) != SQLITE_DONE)
		goto db_error;
	return sqt_tx_end(h, op, SQLITE_OK, err);

db_error:
	return sqt_tx_end(h, op, rc, err);
}

static enum ddb_status sq_restock(void *handle, const char *sku, int64_t quantity,
                                  struct ddb_err *err)
{
	static const char op[] = "restock";
	struct sq *h = handle;
	if (!sqt_need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	int len = sku ? ddb_field_len(sku, DDB_SKU_MAX) : -1;
	if (len <= 0)
		return sqt_fail(h, DDB_INVALID, err, "%s: empty or unterminated sku", op);
	if (quantity < 1)
		return sqt_fail(h, DDB_INVALID, err, "%s: %s: quantity %lld must be at least 1", op, sku,
		            (long long)quantity);

	enum ddb_status st = sqt_tx_begin(h, op, err);
	if (st != DDB_OK)
		return st;
	sqlite3_stmt *s = h->stmt[S_RESTOCK];
	int rc;
	if ((rc = sqt_bind_i64(s, 1, quantity)) || (rc = sqt_bind_text(s, 2, sku, len)) ||
	    (rc = sqt_run(s)) != SQLITE_DONE)
		goto db_error;
	if (sqlite3_changes(h->db) == 0) {
		s = h->stmt[S_STOCK_GET];
		if ((rc = sqt_bind_text(s, 1, sku, len)))
			goto db_error;
		rc = sqt_run(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			goto db_error;
		sqt_tx_rollback(h);
		if (rc == SQLITE_DONE)
			return sqt_fail(h, DDB_NOT_FOUND, err, "%s: %s: no such product", op, sku);
		return sqt_fail(h, DDB_INVALID, err, "%s: %s: stock would exceed the int64 range", op,
		            sku);
	}
	return sqt_tx_end(h, op, SQLITE_OK, err);

db_error:
	return sqt_tx_end(h, op, rc, err);
}

/* ---- regional: orders ---------------------------------------------------- */

/* Places one valid order inside the batch's transaction.  The result goes to
 * *result; the return is not OK only when the database failed (the batch is
 * then rolled back).  Statement order keeps the order atomic: the stock is
 * taken first, so that a short or unknown sku changes nothing; when the id
 * turns out to exist, the stock taken is given back. */
static enum ddb_status place_one(struct sq *h, const struct ddb_order *o,
                                 const struct order_lens *l, enum ddb_status *result,
                                 struct ddb_err *err)
{
	static const char op[] = "place_orders";
	sqlite3_stmt *s = h->stmt[S_STOCK_TAKE];
	int rc;
	if ((rc = sqt_bind_i64(s, 1, o->quantity)) || (rc = sqt_bind_text(s, 2, o->sku, l->sku)) ||
	    (rc = sqt_run(s)) != SQLITE_DONE)
		return sqt_db_fail(h, op, rc, err);

	if (sqlite3_changes(h->db) == 0) {
		/* Not taken.  An order placed before is DUPLICATE whatever the
		 * stock is now, so that a retry is recognised as one. */
		s = h->stmt[S_ORDER_EXISTS];
		if ((rc = sqt_bind_text(s, 1, o->id, l->id)))
			return sqt_db_fail(h, op, rc, err);
		rc = sqt_run(s);
		if (rc == SQLITE_ROW) {
			*result = DDB_DUPLICATE;
			return DDB_OK;
		}
		if (rc != SQLITE_DONE)
			return sqt_db_fail(h, op, rc, err);
		s = h->stmt[S_STOCK_GET];
		if ((rc = sqt_bind_text(s, 1, o->sku, l->sku)))
			return sqt_db_fail(h, op, rc, err);
		rc = sqt_run(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return sqt_db_fail(h, op, rc, err);
		*result = rc == SQLITE_ROW ? DDB_INSUFFICIENT : DDB_NOT_FOUND;
		return DDB_OK;
	}

	s = h->stmt[S_ORDER_INSERT];
	if ((rc = sqt_bind_text(s, 1, o->id, l->id)) || (rc = sqt_bind_text(s, 2, o->region, l->region)) ||
	    (rc = sqt_bind_text(s, 3, o->customer, l->customer)) ||
	    (rc = sqt_bind_text(s, 4, o->sku, l->sku)) || (rc = sqt_bind_i64(s, 5, o->quantity)) ||
	    (rc = sqt_bind_i64(s, 6, o->unit_price_cents)) || (rc = sqt_bind_i64(s, 7, o->placed_at_us)) ||
	    (rc = sqt_run(s)) != SQLITE_DONE)
		return sqt_db_fail(h, op, rc, err);
	if (sqlite3_changes(h->db) == 0) {
		s = h->stmt[S_STOCK_GIVE_BACK];
		if ((rc = sqt_bind_i64(s, 1, o->quantity)) || (rc = sqt_bind_text(s, 2, o->sku, l->sku)) ||
		    (rc = sqt_run(s)) != SQLITE_DONE)
			return sqt_db_fail(h, op, rc, err);
		*result = DDB_DUPLICATE;
		return DDB_OK;
	}

	s = h->stmt[S_OUTBOX_ORDER];
	if ((rc = sqt_bind_text(s, 1, h->node, h->node_len)) || (rc = sqt_bind_text(s, 2, o->id, l->id)) ||
	    (rc = sqt_bind_text(s, 3, o->region, l->region)) ||
	    (rc = sqt_bind_text(s, 4, o->customer, l->customer)) ||
	    (rc = sqt_bind_text(s, 5, o->sku, l->sku)) || (rc = sqt_bind_i64(s, 6, o->quantity)) ||
	    (rc = sqt_bind_i64(s, 7, o->unit_price_cents)) || (rc = sqt_bind_i64(s, 8, o->placed_at_us)) ||
	    (rc = sqt_run(s)) != SQLITE_DONE)
		return sqt_db_fail(h, op, rc, err);
	*result = DDB_OK;
	return DDB_OK;
}

static enum ddb_status sq_place_orders(void *handle, const struct ddb_order *orders, size_t n,
                                       enum ddb_status *results, struct ddb_err *err)
{
	static const char op[] = "place_orders";
	struct sq *h = handle;
	enum ddb_status early;
	if (!sqt_batch_go(h, DDB_ROLE_REGIONAL, n, orders && results, "no orders or no results array",
	              op, &early, err))
		return early;
	if (err)
		err->msg[0] = '\0';

	enum ddb_status st = sqt_tx_begin(h, op, err);
	for (size_t i = 0; st == DDB_OK && i < n; i++) {
		struct order_lens l;
		const char *why = sqt_order_invalid(&orders[i], &l);
		if (why) {
			/* Say why the first invalid order is invalid, even
			 * though the call itself succeeds. */
			if (err && !err->msg[0])
				sqt_fail(h, DDB_INVALID, err, "%s: order %zu (%.*s): %s", op, i,
				     l.id > 0 ? l.id : 0, orders[i].id, why);
			results[i] = DDB_INVALID;
			continue;
		}
		st = place_one(h, &orders[i], &l, &results[i], err);
	}
	if (st == DDB_OK)
		st = sqt_tx_commit(h, op, err);
	if (st != DDB_OK) {
		sqt_tx_rollback(h);
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
static enum ddb_status fill_event(struct sq *h, sqlite3_stmt *s, struct ddb_event *ev,
                                  struct ddb_err *err)
{
	memset(ev, 0, sizeof *ev);
	ev->seq = sqlite3_column_int64(s, 0);
	int bad = sqt_column_text(s, 1, ev->origin, sizeof ev->origin) |
	          sqt_column_text(s, 2, ev->id, sizeof ev->id);
	ev->kind = sqlite3_column_int(s, 3);
	ev->state = sqlite3_column_int(s, 4);
	ev->created_at_us = sqlite3_column_int64(s, 5);
	if (ev->kind == DDB_EVENT_ORDER) {
		struct ddb_order *o = &ev->order;
		bad |= sqt_column_text(s, 6, o->id, sizeof o->id) |
		       sqt_column_text(s, 7, o->region, sizeof o->region) |
		       sqt_column_text(s, 8, o->customer, sizeof o->customer) |
		       sqt_column_text(s, 9, o->sku, sizeof o->sku);
		o->quantity = sqlite3_column_int64(s, 10);
		o->unit_price_cents = sqlite3_column_int64(s, 11);
		o->placed_at_us = sqlite3_column_int64(s, 12);
	} else {
		struct ddb_product *p = &ev->product;
		bad |= sqt_column_text(s, 9, p->sku, sizeof p->sku) |
		       sqt_column_text(s, 13, p->name, sizeof p->name);
		p->price_cents = sqlite3_column_int64(s, 14);
		p->version = sqlite3_column_int64(s, 15);
		bad |= sqt_components_decode(sqlite3_column_blob(s, 16),
		                         (size_t)sqlite3_column_bytes(s, 16), p);
	}
	if (bad)
		return sqt_fail(h, DDB_INTERNAL, err, "outbox: event %lld: a stored value does not fit",
		            (long long)ev->seq);
	return DDB_OK;
}

static enum ddb_status sq_outbox_read(void *handle, int64_t after_seq, int want_state,
                                      struct ddb_event *events, size_t max, size_t *n_out,
                                      struct ddb_err *err)
{
	static const char op[] = "outbox_read";
	struct sq *h = handle;
	if (n_out)
		*n_out = 0;
	if (!sqt_need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (!n_out || (!events && max > 0))
		return sqt_fail(h, DDB_INVALID, err, "%s: no events array or count", op);
	if (!ddb_outbox_state_ok(want_state))
		return sqt_fail(h, DDB_INVALID, err, "%s: unknown state %d", op, want_state);
	if (max == 0)
		return DDB_OK;

	int64_t limit = max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max;
	sqlite3_stmt *s;
	int rc;
	if (want_state == DDB_OUTBOX_APPLIED) {
		s = h->stmt[S_OUTBOX_READ_APPLIED];
		rc = sqt_bind_i64(s, 1, after_seq);
		if (rc == SQLITE_OK)
			rc = sqt_bind_i64(s, 2, limit);
	} else {
		s = h->stmt[S_OUTBOX_READ_PENDING];
		rc = sqt_bind_i64(s, 1, want_state);
		if (rc == SQLITE_OK)
			rc = sqt_bind_i64(s, 2, after_seq);
		if (rc == SQLITE_OK)
			rc = sqt_bind_i64(s, 3, limit);
	}
	if (rc != SQLITE_OK) {
		sqlite3_reset(s);
		return sqt_db_fail(h, op, rc, err);
	}
	size_t n = 0;
	enum ddb_status st = DDB_OK;
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((st = fill_event(h, s, &events[n], err)) != DDB_OK)
			break;
		n++;
	}
	if (st == DDB_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
		st = sqt_db_fail(h, op, rc, err);
	sqlite3_reset(s);
	*n_out = st == DDB_OK ? n : 0;
	return st;
}

static enum ddb_status sq_outbox_mark(void *handle, const int64_t *seqs, size_t n, int state,
                                      struct ddb_err *err)
{
	static const char op[] = "outbox_mark";
	struct sq *h = handle;
	if (!sqt_need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (!ddb_outbox_state_ok(state))
		return sqt_fail(h, DDB_INVALID, err, "%s: unknown state %d", op, state);
	enum ddb_status early;
	if (!sqt_batch_go(h, DDB_ROLE_REGIONAL, n, seqs != NULL, "no seqs array", op, &early, err))
		return early;

	enum ddb_status st = sqt_tx_begin(h, op, err);
	if (st != DDB_OK)
		return st;
	sqlite3_stmt *s = h->stmt[S_OUTBOX_MARK];
	int rc = sqt_bind_i64(s, 1, state);
	for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
		if ((rc = sqt_bind_i64(s, 2, seqs[i])) == SQLITE_OK && (rc = sqt_run(s)) == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	return sqt_tx_end(h, op, rc, err);
}

static enum ddb_status sq_outbox_requeue(void *handle, struct ddb_err *err)
{
	static const char op[] = "outbox_requeue";
	struct sq *h = handle;
	if (!sqt_need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	/* One statement: its own transaction. */
	int rc = sqt_run(h->stmt[S_OUTBOX_REQUEUE]);
	return rc == SQLITE_DONE ? DDB_OK : sqt_db_fail(h, op, rc, err);
}

/* ---- regional: customers ---------------------------------------------------- */

/* Fills c from a row of CUSTOMER_COLUMNS; -1 when a value does not fit. */
static int fill_customer(sqlite3_stmt *s, struct ddb_customer *c)
{
	memset(c, 0, sizeof *c);
	int bad = sqt_column_text(s, 0, c->id, sizeof c->id) |
	          sqt_column_text(s, 1, c->unique_id, sizeof c->unique_id) |
	          sqt_column_text(s, 3, c->city, sizeof c->city) |
	          sqt_column_text(s, 4, c->state, sizeof c->state) |
	          sqt_column_text(s, 5, c->name, sizeof c->name) |
	          sqt_column_text(s, 6, c->email, sizeof c->email) |
	          sqt_column_text(s, 7, c->home, sizeof c->home);
	c->zip_prefix = sqlite3_column_int64(s, 2);
	c->version = sqlite3_column_int64(s, 8);
	c->deleted = sqlite3_column_int(s, 9);
	c->updated_at_us = sqlite3_column_int64(s, 10);
	return bad;
}

/* Writes one valid record inside the batch's transaction: OK when it was
 * inserted or replaced an older version, DUPLICATE when the stored version
 * is the same or higher.  The return is a SQLite code: SQLITE_DONE, or the
 * failure (the batch is then rolled back). */
static int put_one_customer(struct sq *h, const struct ddb_customer *c,
                            const struct customer_lens *l, enum ddb_status *result)
{
	sqlite3_stmt *s = h->stmt[S_CUSTOMER_UPSERT];
	int rc;
	if ((rc = sqt_bind_text(s, 1, c->id, l->id)) ||
	    (rc = sqt_bind_text(s, 2, c->unique_id, l->unique_id)) ||
	    (rc = sqt_bind_i64(s, 3, c->zip_prefix)) || (rc = sqt_bind_text(s, 4, c->city, l->city)) ||
	    (rc = sqt_bind_text(s, 5, c->state, l->state)) || (rc = sqt_bind_text(s, 6, c->name, l->name)) ||
	    (rc = sqt_bind_text(s, 7, c->email, l->email)) || (rc = sqt_bind_text(s, 8, c->home, l->home)) ||
	    (rc = sqt_bind_i64(s, 9, c->version)) || (rc = sqt_bind_i64(s, 10, c->deleted)) ||
	    (rc = sqt_bind_i64(s, 11, c->updated_at_us)))
		return rc;
	if ((rc = sqt_run(s)) == SQLITE_DONE)
		*result = sqlite3_changes(h->db) > 0 ? DDB_OK : DDB_DUPLICATE;
	return rc;
}

static enum ddb_status sq_put_customers(void *handle, const struct ddb_customer *customers,
                                        size_t n, enum ddb_status *results, struct ddb_err *err)
{
	static const char op[] = "put_customers";
	struct sq *h = handle;
	enum ddb_status early;
	if (!sqt_batch_go(h, DDB_ROLE_REGIONAL, n, customers && results, "no customers or no results array",
	              op, &early, err))
		return early;
	if (err)
		err->msg[0] = '\0';

	/* Records in batch order: a later record of the same id in the batch
	 * sees the earlier one as stored. */
	enum ddb_status st = sqt_tx_begin(h, op, err);
	for (size_t i = 0; st == DDB_OK && i < n; i++) {
		const struct ddb_customer *c = &customers[i];
		struct customer_lens l;
		const char *why = sqt_customer_invalid(c, &l);
		if (why) {
			/* Say why the first invalid record is invalid, even
			 * though the call itself succeeds. */
			if (err && !err->msg[0])
				sqt_fail(h, DDB_INVALID, err, "%s: customer %zu (%.*s): %s", op, i,
				     l.id > 0 ? l.id : 0, c->id, why);
			results[i] = DDB_INVALID;
			continue;
		}
		int rc = put_one_customer(h, c, &l, &results[i]);
		if (rc != SQLITE_DONE)
			st = sqt_db_fail(h, op, rc, err);
	}
	if (st == DDB_OK)
		st = sqt_tx_commit(h, op, err);
	if (st != DDB_OK) {
		sqt_tx_rollback(h);
		for (size_t i = 0; i < n; i++)
			results[i] = st;
		if (err) {
			size_t used = strnlen(err->msg, sizeof err->msg);
			snprintf(err->msg + used, sizeof err->msg - used,
			         " (rolled back: no customer of the batch was written)");
		}
	}
	return st;
}

static enum ddb_status sq_get_customer(void *handle, const char *id, struct ddb_customer *out,
                                       struct ddb_err *err)
{
	static const char op[] = "get_customer";
	struct sq *h = handle;
	if (!sqt_need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	int len = id ? ddb_field_len(id, DDB_NAME_MAX) : -1;
	if (len <= 0)
		return sqt_fail(h, DDB_INVALID, err, "%s: empty id, or longer than %d bytes", op,
		            DDB_NAME_MAX - 1);
	if (!out)
		return sqt_fail(h, DDB_INVALID, err, "%s: no record to fill", op);

	sqlite3_stmt *s = h->stmt[S_CUSTOMER_GET];
	int rc = sqt_bind_text(s, 1, id, len);
	if (rc != SQLITE_OK)
		return sqt_db_fail(h, op, rc, err);
	enum ddb_status st;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		st = fill_customer(s, out) == 0
		             ? DDB_OK
		             : sqt_fail(h, DDB_INTERNAL, err, "%s: %s: a stored value does not fit", op, id);
	else if (rc == SQLITE_DONE)
		st = sqt_fail(h, DDB_NOT_FOUND, err, "%s: %s: no such customer", op, id);
	else
		st = sqt_db_fail(h, op, rc, err);
	sqlite3_reset(s);
	return st;
}

static enum ddb_status sq_find_customers(void *handle, const struct ddb_customer_filter *filter,
                                         void (*emit)(void *ctx, const struct ddb_customer *c),
                                         void *ctx, struct ddb_err *err)
{
	static const char op[] = "find_customers";
	struct sq *h = handle;
	if (!sqt_need_args(h, DDB_ROLE_REGIONAL, filter && emit, "no filter or no emit function", op,
	                   err))
		return DDB_INVALID;
	if (h->stmt_busy[S_CUSTOMER_FIND])
		return sqt_fail(h, DDB_INTERNAL, err, "%s: called from within its own emit", op);

	int64_t limit = filter->limit == 0 || filter->limit > (size_t)INT64_MAX
	                        ? -1
	                        : (int64_t)filter->limit;
	sqlite3_stmt *s = h->stmt[S_CUSTOMER_FIND];
	int rc;
	if ((rc = sqt_bind_i64(s, 1, filter->zip_min)) || (rc = sqt_bind_i64(s, 2, filter->zip_max)) ||
	    (rc = filter->city ? sqt_bind_text(s, 3, filter->city, -1) : sqlite3_bind_null(s, 3)) ||
	    (rc = filter->state ? sqt_bind_text(s, 4, filter->state, -1) : sqlite3_bind_null(s, 4)) ||
	    (rc = sqt_bind_i64(s, 5, limit)))
		return sqt_db_fail(h, op, rc, err);

	h->stmt_busy[S_CUSTOMER_FIND] = 1;
	enum ddb_status st = DDB_OK;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct ddb_customer c;
		if (fill_customer(s, &c)) {
			st = sqt_fail(h, DDB_INTERNAL, err, "%s: %s: a stored value does not fit", op,
			          c.id);
			break;
		}
		emit(ctx, &c);
	}
	if (st == DDB_OK && rc != SQLITE_DONE)
		st = sqt_db_fail(h, op, rc, err);
	sqlite3_reset(s);
	h->stmt_busy[S_CUSTOMER_FIND] = 0;
	return st;
}

/* ---- central --------------------------------------------------------------- */

static enum ddb_status apply_one(struct sq *h, const struct ddb_event *ev,
                                 int64_t applied_at_us, struct ddb_err *err)
{
	static const char op[] = "apply_events";
	unsigned char blob[COMPONENTS_BLOB_MAX];
	sqlite3_stmt *s;
	int rc;
	if (ev->kind == DDB_EVENT_ORDER) {
		const struct ddb_order *o = &ev->order;
		s = h->stmt[S_CENTRAL_ORDER_INSERT];
		if ((rc = sqt_bind_text(s, 1, o->id, -1)) || (rc = sqt_bind_text(s, 2, o->region, -1)) ||
		    (rc = sqt_bind_text(s, 3, o->customer, -1)) || (rc = sqt_bind_text(s, 4, o->sku, -1)) ||
		    (rc = sqt_bind_i64(s, 5, o->quantity)) || (rc = sqt_bind_i64(s, 6, o->unit_price_cents)) ||
		    (rc = sqt_bind_i64(s, 7, o->placed_at_us)) || (rc = sqt_bind_i64(s, 8, applied_at_us)))
			return sqt_db_fail(h, op, rc, err);
	} else {
		const struct ddb_product *p = &ev->product;
		int blob_len = sqt_components_encode(p, blob);
		s = h->stmt[S_CENTRAL_PRODUCT_UPSERT];
		if ((rc = sqt_bind_text(s, 1, p->sku, -1)) || (rc = sqt_bind_text(s, 2, p->name, -1)) ||
		    (rc = sqt_bind_i64(s, 3, p->price_cents)) || (rc = sqt_bind_i64(s, 4, p->version)) ||
		    (rc = sqlite3_bind_blob(s, 5, blob, blob_len, SQLITE_STATIC)))
			return sqt_db_fail(h, op, rc, err);
	}
	rc = sqt_run(s);
	return rc == SQLITE_DONE ? DDB_OK : sqt_db_fail(h, op, rc, err);
}

static enum ddb_status sq_apply_events(void *handle, const struct ddb_event *events, size_t n,
                                       int64_t applied_at_us, struct ddb_err *err)
{
	static const char op[] = "apply_events";
	struct sq *h = handle;
	enum ddb_status early;
	if (!sqt_batch_go(h, DDB_ROLE_CENTRAL, n, events != NULL, "no events array", op, &early, err))
		return early;
	/* All or nothing: one bad event fails the call before anything is
	 * written. */
	for (size_t i = 0; i < n; i++) {
		const char *why;
		if (events[i].kind == DDB_EVENT_ORDER) {
			struct order_lens l;
			why = sqt_order_invalid(&events[i].order, &l);
		} else if (events[i].kind == DDB_EVENT_PRODUCT) {
			struct product_lens l;
			why = sqt_product_invalid(&events[i].product, &l);
		} else {
			why = "unknown event kind";
		}
		if (why)
			return sqt_fail(h, DDB_INVALID, err, "%s: event %zu (seq %lld): %s", op, i,
			            (long long)events[i].seq, why);
	}

	enum ddb_status st = sqt_tx_begin(h, op, err);
	for (size_t i = 0; st == DDB_OK && i < n; i++)
		st = apply_one(h, &events[i], applied_at_us, err);
	if (st == DDB_OK)
		st = sqt_tx_commit(h, op, err);
	if (st != DDB_OK)
		sqt_tx_rollback(h);
	return st;
}

static enum ddb_status sq_sales_report(void *handle, int by,
                                       void (*emit)(void *ctx, const struct ddb_sales *line),
                                       void *ctx, struct ddb_err *err)
{
	static const char op[] = "sales_report";
	struct sq *h = handle;
	if (!sqt_need_args(h, DDB_ROLE_CENTRAL, emit != NULL, "no emit function", op, err))
		return DDB_INVALID;
	enum stmt_id id = by == DDB_SALES_BY_REGION    ? S_SALES_BY_REGION
	                  : by == DDB_SALES_BY_PRODUCT ? S_SALES_BY_SKU
	                                               : S_COUNT;
	if (id == S_COUNT)
		return sqt_fail(h, DDB_INVALID, err, "%s: unknown grouping %d", op, by);
	if (h->stmt_busy[id])
		return sqt_fail(h, DDB_INTERNAL, err, "%s: called from within its own emit", op);

	sqlite3_stmt *s = h->stmt[id];
	h->stmt_busy[id] = 1;
	enum ddb_status st = DDB_OK;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct ddb_sales line;
		if (sqt_column_text(s, 0, line.key, sizeof line.key)) {
			st = sqt_fail(h, DDB_INTERNAL, err, "%s: a key is longer than %d bytes", op,
			          DDB_SKU_MAX - 1);
			break;
		}
		line.orders = sqlite3_column_int64(s, 1);
		line.units = sqlite3_column_int64(s, 2);
		line.revenue_cents = sqlite3_column_int64(s, 3);
		emit(ctx, &line);
	}
	if (st == DDB_OK && rc != SQLITE_DONE)
		st = sqt_db_fail(h, op, rc, err);
	sqlite3_reset(s);
	h->stmt_busy[id] = 0;
	return st;
}

/* ---- documents ------------------------------------------------------------- */

static enum ddb_status sq_put_order_logs(void *handle, const struct ddb_order *orders, size_t n,
                                         int64_t logged_at_us, struct ddb_err *err)
{
	static const char op[] = "put_order_logs";
	struct sq *h = handle;
	enum ddb_status early;
	if (!sqt_batch_go(h, DDB_ROLE_DOCUMENTS, n, orders != NULL, "no orders array", op, &early, err))
		return early;
	for (size_t i = 0; i < n; i++) {
		struct order_lens l;
		const char *why = sqt_order_invalid(&orders[i], &l);
		if (why)
			return sqt_fail(h, DDB_INVALID, err, "%s: order %zu: %s", op, i, why);
	}

	enum ddb_status st = sqt_tx_begin(h, op, err);
	if (st != DDB_OK)
		return st;
	sqlite3_stmt *s = h->stmt[S_LOG_UPSERT];
	int rc = SQLITE_OK;
	for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
		const struct ddb_order *o = &orders[i];
		if ((rc = sqt_bind_text(s, 1, o->id, -1)) || (rc = sqt_bind_text(s, 2, o->region, -1)) ||
		    (rc = sqt_bind_text(s, 3, o->customer, -1)) || (rc = sqt_bind_text(s, 4, o->sku, -1)) ||
		    (rc = sqt_bind_i64(s, 5, o->quantity)) || (rc = sqt_bind_i64(s, 6, o->unit_price_cents)) ||
		    (rc = sqt_bind_i64(s, 7, o->placed_at_us)) || (rc = sqt_bind_i64(s, 8, logged_at_us)))
			break;
		if ((rc = sqt_run(s)) == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	return sqt_tx_end(h, op, rc, err);
}

static enum ddb_status sq_put_components(void *handle, const struct ddb_product *products,
                                         size_t n, struct ddb_err *err)
{
	static const char op[] = "put_components";
	struct sq *h = handle;
	enum ddb_status early;
	if (!sqt_batch_go(h, DDB_ROLE_DOCUMENTS, n, products != NULL, "no products array", op, &early, err))
		return early;
	for (size_t i = 0; i < n; i++) {
		struct product_lens l;
		const char *why = sqt_product_invalid(&products[i], &l);
		if (why)
			return sqt_fail(h, DDB_INVALID, err, "%s: product %zu: %s", op, i, why);
	}

	enum ddb_status st = sqt_tx_begin(h, op, err);
	if (st != DDB_OK)
		return st;
	sqlite3_stmt *s = h->stmt[S_COMPONENT_DOC_UPSERT];
	int rc = SQLITE_OK;
	for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
		const struct ddb_product *p = &products[i];
		unsigned char blob[COMPONENTS_BLOB_MAX];
		int blob_len = sqt_components_encode(p, blob);
		if ((rc = sqt_bind_text(s, 1, p->sku, -1)) || (rc = sqt_bind_text(s, 2, p->name, -1)) ||
		    (rc = sqt_bind_i64(s, 3, p->price_cents)) || (rc = sqt_bind_i64(s, 4, p->version)) ||
		    (rc = sqlite3_bind_blob(s, 5, blob, blob_len, SQLITE_STATIC)))
			break;
		if ((rc = sqt_run(s)) == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	return sqt_tx_end(h, op, rc, err);
}

/* ---- scans ----------------------------------------------------------------- */

static enum ddb_status sq_scan_open(void *handle, int dataset, const char *region,
                                    void **cursor, struct ddb_err *err)
{
	static const char op[] = "scan_open";
	struct sq *h = handle;
	struct ddb_err msg;
	const char *why = ddb_scan_problem(h->roles, dataset, cursor, &msg);
	if (why)
		return sqt_fail(h, DDB_INVALID, err, "%s: %s", op, why);
	/* The region filter applies to the datasets of orders; the others
	 * have no region and ignore it. */
	int len = 0;
	enum stmt_id id = scan_stmt[dataset].all;
	if (region && scan_stmt[dataset].by_region != S_COUNT) {
		if ((len = ddb_field_len(region, DDB_NAME_MAX)) < 0)
			return sqt_fail(h, DDB_INVALID, err, "%s: region longer than %d bytes", op,
			            DDB_NAME_MAX - 1);
		id = scan_stmt[dataset].by_region;
	}

	struct sq_cursor *c = calloc(1, sizeof *c);
	if (!c)
		return sqt_fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	c->h = h;
	c->id = id;
	c->dataset = dataset;
	if (!h->stmt_busy[id]) {
		c->stmt = h->stmt[id];
		h->stmt_busy[id] = 1;
	} else {
		/* Another cursor is stepping the shared statement: this one
		 * gets its own. */
		int rc = sqlite3_prepare_v3(h->db, sqt_sql(id), -1, 0, &c->stmt, NULL);
		if (rc != SQLITE_OK) {
			free(c);
			return sqt_db_fail(h, op, rc, err);
		}
		c->owned = 1;
	}
	if (id != scan_stmt[dataset].all) {
		int rc = sqlite3_bind_text(c->stmt, 1, region, len, SQLITE_TRANSIENT);
		if (rc != SQLITE_OK) {
			enum ddb_status st = sqt_db_fail(h, op, rc, err);
			sqlite3_stmt *s = c->stmt;
			if (c->owned)
				sqlite3_finalize(s);
			else
				h->stmt_busy[id] = 0;
			free(c);
			return st;
		}
	}
	*cursor = c;
	return DDB_OK;
}

/* Reads the components of a regional product from product_components. */
static enum ddb_status read_components(struct sq *h, struct ddb_product *p, struct ddb_err *err)
{
	sqlite3_stmt *s = h->stmt[S_COMPONENTS_GET];
	p->n_components = 0;
	int rc = sqt_bind_text(s, 1, p->sku, -1);
	if (rc != SQLITE_OK)
		return sqt_db_fail(h, "scan: components", rc, err);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (p->n_components == DDB_COMPONENTS_MAX) {
			sqlite3_reset(s);
			return sqt_fail(h, DDB_INTERNAL, err, "scan: %s: more than %d components", p->sku,
			            DDB_COMPONENTS_MAX);
		}
		struct ddb_component *c = &p->components[p->n_components++];
		if (sqt_column_text(s, 0, c->sku, sizeof c->sku)) {
			sqlite3_reset(s);
			return sqt_fail(h, DDB_INTERNAL, err, "scan: %s: a component sku is too long",
			            p->sku);
		}
		c->quantity = sqlite3_column_int64(s, 1);
	}
	enum ddb_status st = rc == SQLITE_DONE ? DDB_OK : sqt_db_fail(h, "scan: components", rc, err);
	sqlite3_reset(s);
	return st;
}

/* Fills a product from sku, name, price_cents, version[, components BLOB]. */
static int fill_product(sqlite3_stmt *s, struct ddb_product *p, int with_blob)
{
	memset(p, 0, sizeof *p);
	int bad = sqt_column_text(s, 0, p->sku, sizeof p->sku) |
	          sqt_column_text(s, 1, p->name, sizeof p->name);
	p->price_cents = sqlite3_column_int64(s, 2);
	p->version = sqlite3_column_int64(s, 3);
	if (with_blob)
		bad |= sqt_components_decode(sqlite3_column_blob(s, 4),
		                         (size_t)sqlite3_column_bytes(s, 4), p);
	return bad;
}

static int fill_order(sqlite3_stmt *s, struct ddb_order *o)
{
	memset(o, 0, sizeof *o);
	int bad = sqt_column_text(s, 0, o->id, sizeof o->id) |
	          sqt_column_text(s, 1, o->region, sizeof o->region) |
	          sqt_column_text(s, 2, o->customer, sizeof o->customer) |
	          sqt_column_text(s, 3, o->sku, sizeof o->sku);
	o->quantity = sqlite3_column_int64(s, 4);
	o->unit_price_cents = sqlite3_column_int64(s, 5);
	o->placed_at_us = sqlite3_column_int64(s, 6);
	return bad;
}

static enum ddb_status sq_scan_next(void *cursor, struct ddb_row *row, struct ddb_err *err)
{
	struct sq_cursor *c = cursor;
	if (!c || !row)
		return sqt_fail(c ? c->h : NULL, DDB_INVALID, err, "scan_next: no cursor or row");
	struct sq *h = c->h;
	if (c->done)
		return DDB_NOT_FOUND;
	sqlite3_stmt *s = c->stmt;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		c->done = 1;
		sqlite3_reset(s); /* ends the read transaction now */
		return DDB_NOT_FOUND;
	}
	if (rc != SQLITE_ROW) {
		c->done = 1;
		enum ddb_status st = sqt_db_fail(h, "scan", rc, err);
		sqlite3_reset(s);
		return st;
	}

	row->dataset = c->dataset;
	row->applied_at_us = 0;
	int bad = 0;
	switch (c->dataset) {
	case DDB_DS_PRODUCTS:
		bad = fill_product(s, &row->product, 0);
		if (!bad)
			return read_components(h, &row->product, err);
		break;
	case DDB_DS_CENTRAL_PRODUCTS:
	case DDB_DS_COMPONENTS:
		bad = fill_product(s, &row->product, 1);
		break;
	case DDB_DS_INVENTORY:
		memset(&row->stock, 0, sizeof row->stock);
		bad = sqt_column_text(s, 0, row->stock.sku, sizeof row->stock.sku);
		row->stock.stock = sqlite3_column_int64(s, 1);
		row->stock.received = sqlite3_column_int64(s, 2);
		row->stock.sold = sqlite3_column_int64(s, 3);
		break;
	case DDB_DS_ORDERS:
	case DDB_DS_ORDER_LOGS:
		bad = fill_order(s, &row->order);
		break;
	case DDB_DS_CENTRAL_ORDERS:
		bad = fill_order(s, &row->order);
		row->applied_at_us = sqlite3_column_int64(s, 7);
		break;
	case DDB_DS_OUTBOX:
		return fill_event(h, s, &row->event, err);
	case DDB_DS_CUSTOMERS:
		bad = fill_customer(s, &row->customer);
		break;
	}
	if (bad)
		return sqt_fail(h, DDB_INTERNAL, err, "scan: dataset %d: a stored value does not fit",
		            c->dataset);
	return DDB_OK;
}

static void sq_scan_close(void *cursor)
{
	struct sq_cursor *c = cursor;
	if (!c)
		return;
	if (c->owned) {
		sqlite3_finalize(c->stmt);
	} else {
		sqlite3_reset(c->stmt);
		sqlite3_clear_bindings(c->stmt);
		c->h->stmt_busy[c->id] = 0;
	}
	free(c);
}

/* ---- the descriptor ---------------------------------------------------------- */

static const struct ddb_storage_ops sqlite_ops = {
	.open = sqs_open,
	.close = sqs_close,
	.reset = sqs_reset,
	.upsert_product = sq_upsert_product,
	.restock = sq_restock,
	.place_orders = sq_place_orders,
	.outbox_read = sq_outbox_read,
	.outbox_mark = sq_outbox_mark,
	.outbox_requeue = sq_outbox_requeue,
	.put_customers = sq_put_customers,
	.get_customer = sq_get_customer,
	.find_customers = sq_find_customers,
	.apply_events = sq_apply_events,
	.sales_report = sq_sales_report,
	.put_order_logs = sq_put_order_logs,
	.put_components = sq_put_components,
	.scan_open = sq_scan_open,
	.scan_next = sq_scan_next,
	.scan_close = sq_scan_close,
};

/* The options open() reads (the core refuses others). */
static const char *const option_keys[] = { "path", "synchronous", "busy_timeout_ms", NULL };

static const struct ddb_plugin sqlite_plugin = {
	.abi = DDB_PLUGIN_ABI,
	.kind = DDB_KIND_STORAGE,
	.name = "sqlite",
	.version = PLUGIN_VERSION,
	.caps = DDB_ROLES_ALL,
	.storage = &sqlite_ops,
	.settings = option_keys,
};

const struct ddb_plugin *ddbsim_plugin_entry(void)
{
	return &sqlite_plugin;
}
