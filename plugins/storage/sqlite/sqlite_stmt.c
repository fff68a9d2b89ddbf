/*
 * sqlite_stmt.c - the statements of the SQLite storage plugin (their SQL,
 * prepared once at open) and what every operation uses around them:
 * errors and their messages, the role and batch preambles, binding and
 * stepping, transactions, the components BLOB and validation.  Shared
 * through sqlite_int.h (prefix sqt_).
 */
#include "sqlite_int.h"

#include <stdio.h>
#include <string.h>

/* ---- the statements' SQL ------------------------------------------------ */


/* The columns fill_event() reads, in its order. */
#define EVENT_COLUMNS                                                                      \
	"seq, origin, id, kind, state, created_at_us, order_id, region, customer, sku,"   \
	" quantity, unit_price_cents, placed_at_us, name, price_cents, version, components"
#define ORDER_COLUMNS "id, region, customer, sku, quantity, unit_price_cents, placed_at_us"
#define LOG_COLUMNS                                                                        \
	"order_id, region, customer, sku, quantity, unit_price_cents, placed_at_us"
/* The columns fill_customer() reads, in its order. */
#define CUSTOMER_COLUMNS                                                                   \
	"id, unique_id, zip_prefix, city, state, name, email, home, version, deleted,"    \
	" updated_at_us"

static const struct {
	unsigned role; /* 0: every instance */
	const char *sql;
} stmt_sql[S_COUNT] = {
	[S_BEGIN] = { 0, "BEGIN IMMEDIATE" },
	[S_COMMIT] = { 0, "COMMIT" },
	[S_ROLLBACK] = { 0, "ROLLBACK" },

	[S_PRODUCT_UPSERT] = { DDB_ROLE_REGIONAL,
		"INSERT INTO products (sku, name, price_cents, version) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (sku) DO UPDATE SET name = excluded.name,"
		" price_cents = excluded.price_cents, version = excluded.version"
		" WHERE excluded.version > products.version" },
	[S_COMPONENTS_DELETE] = { DDB_ROLE_REGIONAL,
		"DELETE FROM product_components WHERE sku = ?1" },
	[S_COMPONENT_INSERT] = { DDB_ROLE_REGIONAL,
		"INSERT INTO product_components (sku, component_sku, quantity, pos)"
		" VALUES (?1, ?2, ?3, ?4)" },
	[S_COMPONENTS_GET] = { DDB_ROLE_REGIONAL,
		"SELECT component_sku, quantity FROM product_components WHERE sku = ?1"
		" ORDER BY pos" },
	[S_INVENTORY_ENSURE] = { DDB_ROLE_REGIONAL,
		"INSERT INTO inventory (sku, stock, received) VALUES (?1, 0, 0)"
		" ON CONFLICT (sku) DO NOTHING" },
	[S_OUTBOX_PRODUCT] = { DDB_ROLE_REGIONAL,
		"INSERT INTO outbox (origin, kind, state, created_at_us, sku, name, price_cents,"
		" version, components) VALUES (?1, 2, 0, ?2, ?3, ?4, ?5, ?6, ?7)" },
	/* The guard keeps stock and received within int64: no row changed
	 * means unknown sku or overflow, told apart by S_STOCK_GET. */
	[S_RESTOCK] = { DDB_ROLE_REGIONAL,
		"UPDATE inventory SET stock = stock + ?1, received = received + ?1"
		" WHERE sku = ?2 AND stock <= 9223372036854775807 - ?1"
		" AND received <= 9223372036854775807 - ?1" },
	[S_STOCK_GET] = { DDB_ROLE_REGIONAL, "SELECT stock FROM inventory WHERE sku = ?1" },
	[S_STOCK_TAKE] = { DDB_ROLE_REGIONAL,
		"UPDATE inventory SET stock = stock - ?1 WHERE sku = ?2 AND stock >= ?1" },
	[S_STOCK_GIVE_BACK] = { DDB_ROLE_REGIONAL,
		"UPDATE inventory SET stock = stock + ?1 WHERE sku = ?2" },
	[S_ORDER_INSERT] = { DDB_ROLE_REGIONAL,
		"INSERT INTO orders (" ORDER_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
		" ON CONFLICT (id) DO NOTHING" },
	[S_ORDER_EXISTS] = { DDB_ROLE_REGIONAL, "SELECT 1 FROM orders WHERE id = ?1" },
	[S_OUTBOX_ORDER] = { DDB_ROLE_REGIONAL,
		"INSERT INTO outbox (origin, kind, state, created_at_us, order_id, region, customer,"
		" sku, quantity, unit_price_cents, placed_at_us)"
		" VALUES (?1, 1, 0, ?8, ?2, ?3, ?4, ?5, ?6, ?7, ?8)" },
	/* "state < 2" lets the planner use the partial index outbox_pending. */
	[S_OUTBOX_READ_PENDING] = { DDB_ROLE_REGIONAL,
		"SELECT " EVENT_COLUMNS " FROM outbox"
		" WHERE state = ?1 AND state < 2 AND seq > ?2 ORDER BY seq LIMIT ?3" },
	[S_OUTBOX_READ_APPLIED] = { DDB_ROLE_REGIONAL,
		"SELECT " EVENT_COLUMNS " FROM outbox"
		" WHERE state = 2 AND seq > ?1 ORDER BY seq LIMIT ?2" },
	[S_OUTBOX_MARK] = { DDB_ROLE_REGIONAL,
		"UPDATE outbox SET state = ?1 WHERE seq = ?2 AND state < ?1" },
	[S_OUTBOX_REQUEUE] = { DDB_ROLE_REGIONAL,
		"UPDATE outbox SET state = 0 WHERE state = 1 AND state < 2" },
	[S_SCAN_PRODUCTS] = { DDB_ROLE_REGIONAL,
		"SELECT sku, name, price_cents, version FROM products ORDER BY sku" },
	/* sold from the orders themselves, one pass over them per scan. */
	[S_SCAN_INVENTORY] = { DDB_ROLE_REGIONAL,
		"SELECT i.sku, i.stock, i.received, coalesce(s.sold, 0) FROM inventory AS i"
		" LEFT JOIN (SELECT sku, sum(quantity) AS sold FROM orders GROUP BY sku) AS s"
		" ON s.sku = i.sku ORDER BY i.sku" },
	[S_SCAN_ORDERS] = { DDB_ROLE_REGIONAL,
		"SELECT " ORDER_COLUMNS " FROM orders ORDER BY id" },
	[S_SCAN_ORDERS_REGION] = { DDB_ROLE_REGIONAL,
		"SELECT " ORDER_COLUMNS " FROM orders WHERE region = ?1 ORDER BY id" },
	[S_SCAN_OUTBOX] = { DDB_ROLE_REGIONAL,
		"SELECT " EVENT_COLUMNS " FROM outbox ORDER BY seq" },
	/* No row changed: the stored version is the same or higher. */
	[S_CUSTOMER_UPSERT] = { DDB_ROLE_REGIONAL,
		"INSERT INTO customers (" CUSTOMER_COLUMNS ")"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
		" ON CONFLICT (id) DO UPDATE SET unique_id = excluded.unique_id,"
		" zip_prefix = excluded.zip_prefix, city = excluded.city, state = excluded.state,"
		" name = excluded.name, email = excluded.email, home = excluded.home,"
		" version = excluded.version, deleted = excluded.deleted,"
		" updated_at_us = excluded.updated_at_us"
		" WHERE excluded.version > customers.version" },
	[S_CUSTOMER_GET] = { DDB_ROLE_REGIONAL,
		"SELECT " CUSTOMER_COLUMNS " FROM customers WHERE id = ?1" },
	/* "deleted = 0" lets the planner use the partial index
	 * customers_live_zip; NULL city or state: any.  LIMIT -1: none. */
	[S_CUSTOMER_FIND] = { DDB_ROLE_REGIONAL,
		"SELECT " CUSTOMER_COLUMNS " FROM customers"
		" WHERE deleted = 0 AND zip_prefix BETWEEN ?1 AND ?2"
		" AND (?3 IS NULL OR city = ?3 COLLATE NOCASE)"
		" AND (?4 IS NULL OR state = ?4 COLLATE NOCASE)"
		" ORDER BY id LIMIT ?5" },
	[S_SCAN_CUSTOMERS] = { DDB_ROLE_REGIONAL,
		"SELECT " CUSTOMER_COLUMNS " FROM customers ORDER BY id" },

	[S_CENTRAL_ORDER_INSERT] = { DDB_ROLE_CENTRAL,
		"INSERT INTO central_orders (" ORDER_COLUMNS ", applied_at_us)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO NOTHING" },
	[S_CENTRAL_PRODUCT_UPSERT] = { DDB_ROLE_CENTRAL,
		"INSERT INTO central_products (sku, name, price_cents, version, components)"
		" VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (sku) DO UPDATE SET"
		" name = excluded.name, price_cents = excluded.price_cents,"
		" version = excluded.version, components = excluded.components"
		" WHERE excluded.version > central_products.version" },
	[S_SALES_BY_REGION] = { DDB_ROLE_CENTRAL,
		"SELECT region, count(*), sum(quantity), sum(quantity * unit_price_cents)"
		" FROM central_orders GROUP BY region ORDER BY region" },
	[S_SALES_BY_SKU] = { DDB_ROLE_CENTRAL,
		"SELECT sku, count(*), sum(quantity), sum(quantity * unit_price_cents)"
		" FROM central_orders GROUP BY sku ORDER BY sku" },
	[S_SCAN_CENTRAL_PRODUCTS] = { DDB_ROLE_CENTRAL,
		"SELECT sku, name, price_cents, version, components FROM central_products"
		" ORDER BY sku" },
	[S_SCAN_CENTRAL_ORDERS] = { DDB_ROLE_CENTRAL,
		"SELECT " ORDER_COLUMNS ", applied_at_us FROM central_orders ORDER BY id" },
	[S_SCAN_CENTRAL_ORDERS_REGION] = { DDB_ROLE_CENTRAL,
		"SELECT " ORDER_COLUMNS ", applied_at_us FROM central_orders WHERE region = ?1"
		" ORDER BY id" },

	[S_LOG_UPSERT] = { DDB_ROLE_DOCUMENTS,
		"INSERT INTO order_product (order_id, log_id, region, customer, sku, quantity,"
		" unit_price_cents, placed_at_us, logged_at_us)"
		" VALUES (?1, 'log:' || ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
		" ON CONFLICT (order_id) DO UPDATE SET log_id = excluded.log_id,"
		" region = excluded.region, customer = excluded.customer, sku = excluded.sku,"
		" quantity = excluded.quantity, unit_price_cents = excluded.unit_price_cents,"
		" placed_at_us = excluded.placed_at_us, logged_at_us = excluded.logged_at_us" },
	[S_COMPONENT_DOC_UPSERT] = { DDB_ROLE_DOCUMENTS,
		"INSERT INTO product_component (sku, name, price_cents, version, components)"
		" VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (sku) DO UPDATE SET"
		" name = excluded.name, price_cents = excluded.price_cents,"
		" version = excluded.version, components = excluded.components"
		" WHERE excluded.version >= product_component.version" },
	[S_SCAN_ORDER_LOGS] = { DDB_ROLE_DOCUMENTS,
		"SELECT " LOG_COLUMNS " FROM order_product ORDER BY order_id" },
	[S_SCAN_ORDER_LOGS_REGION] = { DDB_ROLE_DOCUMENTS,
		"SELECT " LOG_COLUMNS " FROM order_product WHERE region = ?1 ORDER BY order_id" },
	[S_SCAN_COMPONENTS] = { DDB_ROLE_DOCUMENTS,
		"SELECT sku, name, price_cents, version, components FROM product_component"
		" ORDER BY sku" },
};

/* ---- errors ------------------------------------------------------------- */

enum ddb_status sqt_status_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return DDB_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_PROTOCOL: /* WAL locks not obtained after many tries */
		return DDB_UNAVAILABLE;
	case SQLITE_CONSTRAINT:
		switch (rc) {
		case SQLITE_CONSTRAINT_PRIMARYKEY:
		case SQLITE_CONSTRAINT_UNIQUE:
			return DDB_DUPLICATE;
		default:
			return DDB_INVALID;
		}
	}
	return DDB_INTERNAL;
}

/* A failed SQLite call: its status, and "sqlite: PATH: OP: what SQLite
 * said" in err.  Call it before anything else touches the connection. */
enum ddb_status sqt_db_fail(struct sq *h, const char *op, int rc, struct ddb_err *err)
{
	enum ddb_status st = sqt_status_of(rc);
	if (st == DDB_OK)
		st = DDB_INTERNAL; /* an unexpected row or success code */
	return sqt_fail(h, st, err, "%s: %s", op,
	                rc == SQLITE_ROW || rc == SQLITE_DONE ? sqlite3_errstr(rc)
	                                                      : sqlite3_errmsg(h->db));
}


/* The checks that open an operation (ddbsim/validate.h): its role, then
 * its pointer arguments (ddb_call_problem): 1 to go on. */
int sqt_need_args(struct sq *h, unsigned role, int given, const char *missing, const char *op,
                  struct ddb_err *err)
{
	const char *why = ddb_call_problem(h->roles, role, given, missing);
	if (why)
		sqt_fail(h, DDB_INVALID, err, "%s: %s", op, why);
	return !why;
}

int sqt_need_role(struct sq *h, unsigned role, const char *op, struct ddb_err *err)
{
	return sqt_need_args(h, role, 1, NULL, op, err);
}

/* The preamble of a batch operation (ddbsim/validate.h): 1 to go on, else
 * 0 and *st what to return (DDB_OK: an empty batch, nothing to do). */
int sqt_batch_go(struct sq *h, unsigned role, size_t n, int arrays_given, const char *missing,
                 const char *op, enum ddb_status *st, struct ddb_err *err)
{
	int empty;
	const char *why = ddb_batch_problem(h->roles, role, n, arrays_given, missing, &empty);
	*st = why ? sqt_fail(h, DDB_INVALID, err, "%s: %s", op, why) : DDB_OK;
	return !why && !empty;
}

/* ---- statement helpers -------------------------------------------------- */

int sqt_bind_text(sqlite3_stmt *s, int i, const char *v, int len)
{
	return sqlite3_bind_text(s, i, v, len, SQLITE_STATIC);
}

int sqt_bind_i64(sqlite3_stmt *s, int i, int64_t v)
{
	return sqlite3_bind_int64(s, i, v);
}

/* Steps a statement once and resets it; the step's result code.  A failing
 * step leaves its message in the connection for sqt_db_fail(). */
int sqt_run(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc;
}

/* Copies a text column into dst (size bytes with the NUL); -1 when it does
 * not fit. */
int sqt_column_text(sqlite3_stmt *s, int col, char *dst, size_t size)
{
	const unsigned char *v = sqlite3_column_text(s, col);
	size_t n = (size_t)sqlite3_column_bytes(s, col);
	if (!v)
		n = 0;
	if (n >= size) {
		dst[0] = '\0';
		return -1;
	}
	if (n)
		memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

enum ddb_status sqt_tx_begin(struct sq *h, const char *op, struct ddb_err *err)
{
	int rc = sqt_run(h->stmt[S_BEGIN]);
	return rc == SQLITE_DONE ? DDB_OK : sqt_db_fail(h, op, rc, err);
}

enum ddb_status sqt_tx_commit(struct sq *h, const char *op, struct ddb_err *err)
{
	int rc = sqt_run(h->stmt[S_COMMIT]);
	return rc == SQLITE_DONE ? DDB_OK : sqt_db_fail(h, op, rc, err);
}

void sqt_tx_rollback(struct sq *h)
{
	if (!sqlite3_get_autocommit(h->db))
		sqt_run(h->stmt[S_ROLLBACK]);
}

enum ddb_status sqt_tx_end(struct sq *h, const char *op, int rc, struct ddb_err *err)
{
	enum ddb_status st = rc == SQLITE_OK ? sqt_tx_commit(h, op, err)
	                                     : sqt_db_fail(h, op, rc, err);
	if (st != DDB_OK)
		sqt_tx_rollback(h);
	return st;
}

/* ---- components as a BLOB ----------------------------------------------- */

/* Per component: one byte of sku length, the sku bytes, the quantity as 8
 * bytes big-endian (two's complement). */

/* p has been validated: skus terminated, n_components in range. */
int sqt_components_encode(const struct ddb_product *p, unsigned char *buf)
{
	size_t len = 0;
	for (size_t i = 0; i < p->n_components; i++) {
		const struct ddb_component *c = &p->components[i];
		size_t n = strlen(c->sku);
		uint64_t q = (uint64_t)c->quantity;
		buf[len++] = (unsigned char)n;
		memcpy(buf + len, c->sku, n);
		len += n;
		for (int b = 7; b >= 0; b--)
			buf[len++] = (unsigned char)(q >> (8 * b));
	}
	return (int)len;
}

int sqt_components_decode(const unsigned char *buf, size_t len, struct ddb_product *p)
{
	size_t at = 0;
	p->n_components = 0;
	while (at < len) {
		if (p->n_components == DDB_COMPONENTS_MAX)
			return -1;
		size_t n = buf[at++];
		if (n >= DDB_SKU_MAX || len - at < n + 8)
			return -1;
		struct ddb_component *c = &p->components[p->n_components++];
		memcpy(c->sku, buf + at, n);
		c->sku[n] = '\0';
		at += n;
		uint64_t q = 0;
		for (int b = 0; b < 8; b++)
			q = q << 8 | buf[at++];
		c->quantity = q <= INT64_MAX ? (int64_t)q : -(int64_t)(~q) - 1;
	}
	return 0;
}

/* ---- validation ----------------------------------------------------------- */

/* The rules are every backend's (ddbsim/validate.h); the lengths are for
 * binding the text fields. */
const char *sqt_order_invalid(const struct ddb_order *o, struct order_lens *l)
{
	l->id = DDB_FIELD_LEN(o->id);
	l->region = DDB_FIELD_LEN(o->region);
	l->customer = DDB_FIELD_LEN(o->customer);
	l->sku = DDB_FIELD_LEN(o->sku);
	return ddb_order_problem(o);
}

const char *sqt_product_invalid(const struct ddb_product *p, struct product_lens *l)
{
	l->sku = DDB_FIELD_LEN(p->sku);
	l->name = DDB_FIELD_LEN(p->name);
	return ddb_product_problem(p);
}

const char *sqt_customer_invalid(const struct ddb_customer *c, struct customer_lens *l)
{
	l->id = DDB_FIELD_LEN(c->id);
	l->unique_id = DDB_FIELD_LEN(c->unique_id);
	l->city = DDB_FIELD_LEN(c->city);
	l->state = DDB_FIELD_LEN(c->state);
	l->name = DDB_FIELD_LEN(c->name);
	l->email = DDB_FIELD_LEN(c->email);
	l->home = DDB_FIELD_LEN(c->home);
	return ddb_customer_problem(c);
}

enum ddb_status sqt_prepare_all(struct sq *h, struct ddb_err *err)
{
	for (int i = 0; i < S_COUNT; i++) {
		if (stmt_sql[i].role && !(h->roles & stmt_sql[i].role))
			continue;
		int rc = sqlite3_prepare_v3(h->db, stmt_sql[i].sql, -1, SQLITE_PREPARE_PERSISTENT,
		                            &h->stmt[i], NULL);
		if (rc != SQLITE_OK)
			return sqt_db_fail(h, "open: preparing statements", rc, err);
	}
	return DDB_OK;
}


const char *sqt_sql(enum stmt_id id)
{
	return stmt_sql[id].sql;
}
