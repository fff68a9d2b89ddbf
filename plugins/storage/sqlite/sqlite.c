/*
 * sqlite.c - the SQLite storage plugin: one database file per node, serving
 * the regional, central and documents roles (any combination).
 *
 * Every statement is prepared once, at open, and reused; every value travels
 * as a bound parameter.  The file is in WAL mode; each write operation is one
 * BEGIN IMMEDIATE ... COMMIT, so that place_orders commits a whole batch with
 * one log write (group commit).
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
 */
#include <ddbsim/plugin.h>
#include <ddbsim/validate.h>
#include <sqlite3.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define PLUGIN_VERSION "0.1.0"
#define ALL_ROLES (DDB_ROLE_REGIONAL | DDB_ROLE_CENTRAL | DDB_ROLE_DOCUMENTS)

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* ---- schema ------------------------------------------------------------- */

static const char schema_regional[] =
	"CREATE TABLE IF NOT EXISTS products ("
	" sku TEXT PRIMARY KEY NOT NULL,"
	" name TEXT NOT NULL,"
	" price_cents INTEGER NOT NULL CHECK (price_cents >= 0),"
	" version INTEGER NOT NULL CHECK (version >= 1)"
	") STRICT, WITHOUT ROWID;"
	/* pos keeps the components in the order they were given. */
	"CREATE TABLE IF NOT EXISTS product_components ("
	" sku TEXT NOT NULL,"
	" component_sku TEXT NOT NULL,"
	" quantity INTEGER NOT NULL CHECK (quantity >= 1),"
	" pos INTEGER NOT NULL,"
	" PRIMARY KEY (sku, component_sku)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS inventory ("
	" sku TEXT PRIMARY KEY NOT NULL,"
	" stock INTEGER NOT NULL CHECK (stock >= 0),"
	" received INTEGER NOT NULL CHECK (received >= 0)"
	") STRICT, WITHOUT ROWID;"
	/* No index on region: a regional store holds its own region's orders,
	 * so it would not narrow a scan, and it would cost every order. */
	"CREATE TABLE IF NOT EXISTS orders ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" region TEXT NOT NULL,"
	" customer TEXT NOT NULL,"
	" sku TEXT NOT NULL,"
	" quantity INTEGER NOT NULL,"
	" unit_price_cents INTEGER NOT NULL,"
	" placed_at_us INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	/* seq is the rowid, without AUTOINCREMENT: after a reset it restarts
	 * at 1.  The payload columns are those of the event's kind, the rest
	 * NULL (sku serves both kinds). */
	"CREATE TABLE IF NOT EXISTS outbox ("
	" seq INTEGER PRIMARY KEY,"
	" origin TEXT NOT NULL,"
	" id TEXT GENERATED ALWAYS AS (origin || ':' || seq) VIRTUAL,"
	" kind INTEGER NOT NULL CHECK (kind IN (1, 2)),"
	" state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 2),"
	" created_at_us INTEGER NOT NULL,"
	" order_id TEXT, region TEXT, customer TEXT, sku TEXT,"
	" quantity INTEGER, unit_price_cents INTEGER, placed_at_us INTEGER,"
	" name TEXT, price_cents INTEGER, version INTEGER, components BLOB"
	") STRICT;"
	/* What the relay reads: the events not yet applied, in (state, seq)
	 * order since every entry ends with the rowid, seq.  Small: applied
	 * events leave it. */
	"CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (state) WHERE state < 2;"
	/* A customer record, the latest version of it.  Validation happens
	 * before the INSERT; the CHECKs only guard the file. */
	"CREATE TABLE IF NOT EXISTS customers ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" unique_id TEXT NOT NULL,"
	" zip_prefix INTEGER NOT NULL CHECK (zip_prefix >= 0),"
	" city TEXT NOT NULL,"
	" state TEXT NOT NULL,"
	" name TEXT NOT NULL,"
	" email TEXT NOT NULL,"
	" home TEXT NOT NULL,"
	" version INTEGER NOT NULL CHECK (version >= 1),"
	" deleted INTEGER NOT NULL CHECK (deleted IN (0, 1)),"
	" updated_at_us INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	/* What find_customers reads: the live records by zip prefix (each
	 * entry ends with the key, id).  Tombstones stay out of it. */
	"CREATE INDEX IF NOT EXISTS customers_live_zip ON customers (zip_prefix)"
	" WHERE deleted = 0;";

static const char schema_central[] =
	"CREATE TABLE IF NOT EXISTS central_products ("
	" sku TEXT PRIMARY KEY NOT NULL,"
	" name TEXT NOT NULL,"
	" price_cents INTEGER NOT NULL,"
	" version INTEGER NOT NULL,"
	" components BLOB NOT NULL"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS central_orders ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" region TEXT NOT NULL,"
	" customer TEXT NOT NULL,"
	" sku TEXT NOT NULL,"
	" quantity INTEGER NOT NULL,"
	" unit_price_cents INTEGER NOT NULL,"
	" placed_at_us INTEGER NOT NULL,"
	" applied_at_us INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS central_orders_region ON central_orders (region);"
	"CREATE INDEX IF NOT EXISTS central_orders_sku ON central_orders (sku);";

static const char schema_documents[] =
	"CREATE TABLE IF NOT EXISTS order_product ("
	" order_id TEXT PRIMARY KEY NOT NULL,"
	" log_id TEXT NOT NULL,"
	" customer TEXT NOT NULL,"
	" sku TEXT NOT NULL,"
	" quantity INTEGER NOT NULL,"
	" unit_price_cents INTEGER NOT NULL,"
	" region TEXT NOT NULL,"
	" placed_at_us INTEGER NOT NULL,"
	" logged_at_us INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS order_product_region ON order_product (region);"
	"CREATE TABLE IF NOT EXISTS product_component ("
	" sku TEXT PRIMARY KEY NOT NULL,"
	" name TEXT NOT NULL,"
	" price_cents INTEGER NOT NULL,"
	" version INTEGER NOT NULL,"
	" components BLOB NOT NULL"
	") STRICT, WITHOUT ROWID;";

static const char reset_regional[] =
	"DELETE FROM products; DELETE FROM product_components; DELETE FROM inventory;"
	"DELETE FROM orders; DELETE FROM outbox; DELETE FROM customers;";
static const char reset_central[] = "DELETE FROM central_products; DELETE FROM central_orders;";
static const char reset_documents[] = "DELETE FROM order_product; DELETE FROM product_component;";

static const struct {
	unsigned role;
	const char *schema;
	const char *reset;
} role_tables[] = {
	{ DDB_ROLE_REGIONAL, schema_regional, reset_regional },
	{ DDB_ROLE_CENTRAL, schema_central, reset_central },
	{ DDB_ROLE_DOCUMENTS, schema_documents, reset_documents },
};

/* The tables of each role: a store opened read-only must have them all. */
static const struct {
	unsigned role;
	const char *table;
} role_table_names[] = {
	{ DDB_ROLE_REGIONAL, "products" },     { DDB_ROLE_REGIONAL, "product_components" },
	{ DDB_ROLE_REGIONAL, "inventory" },    { DDB_ROLE_REGIONAL, "orders" },
	{ DDB_ROLE_REGIONAL, "outbox" },       { DDB_ROLE_REGIONAL, "customers" },
	{ DDB_ROLE_CENTRAL, "central_products" }, { DDB_ROLE_CENTRAL, "central_orders" },
	{ DDB_ROLE_DOCUMENTS, "order_product" }, { DDB_ROLE_DOCUMENTS, "product_component" },
};

/* ---- statements --------------------------------------------------------- */

enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	/* regional */
	S_PRODUCT_UPSERT,
	S_COMPONENTS_DELETE,
	S_COMPONENT_INSERT,
	S_COMPONENTS_GET,
	S_INVENTORY_ENSURE,
	S_OUTBOX_PRODUCT,
	S_RESTOCK,
	S_STOCK_GET,
	S_STOCK_TAKE,
	S_STOCK_GIVE_BACK,
	S_ORDER_INSERT,
	S_ORDER_EXISTS,
	S_OUTBOX_ORDER,
	S_OUTBOX_READ_PENDING,
	S_OUTBOX_READ_APPLIED,
	S_OUTBOX_MARK,
	S_OUTBOX_REQUEUE,
	S_SCAN_PRODUCTS,
	S_SCAN_INVENTORY,
	S_SCAN_ORDERS,
	S_SCAN_ORDERS_REGION,
	S_SCAN_OUTBOX,
	S_CUSTOMER_UPSERT,
	S_CUSTOMER_GET,
	S_CUSTOMER_FIND,
	S_SCAN_CUSTOMERS,
	/* central */
	S_CENTRAL_ORDER_INSERT,
	S_CENTRAL_PRODUCT_UPSERT,
	S_SALES_BY_REGION,
	S_SALES_BY_SKU,
	S_SCAN_CENTRAL_PRODUCTS,
	S_SCAN_CENTRAL_ORDERS,
	S_SCAN_CENTRAL_ORDERS_REGION,
	/* documents */
	S_LOG_UPSERT,
	S_COMPONENT_DOC_UPSERT,
	S_SCAN_ORDER_LOGS,
	S_SCAN_ORDER_LOGS_REGION,
	S_SCAN_COMPONENTS,
	S_COUNT
};

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

/* The scan statements of each dataset: all rows, and one region's rows
 * (S_COUNT: the dataset has no region filter). */
static const struct {
	unsigned role;
	enum stmt_id all, by_region;
} scan_stmt[] = {
	[DDB_DS_PRODUCTS] = { DDB_ROLE_REGIONAL, S_SCAN_PRODUCTS, S_COUNT },
	[DDB_DS_INVENTORY] = { DDB_ROLE_REGIONAL, S_SCAN_INVENTORY, S_COUNT },
	[DDB_DS_ORDERS] = { DDB_ROLE_REGIONAL, S_SCAN_ORDERS, S_SCAN_ORDERS_REGION },
	[DDB_DS_OUTBOX] = { DDB_ROLE_REGIONAL, S_SCAN_OUTBOX, S_COUNT },
	[DDB_DS_CENTRAL_PRODUCTS] = { DDB_ROLE_CENTRAL, S_SCAN_CENTRAL_PRODUCTS, S_COUNT },
	[DDB_DS_CENTRAL_ORDERS] = { DDB_ROLE_CENTRAL, S_SCAN_CENTRAL_ORDERS,
		S_SCAN_CENTRAL_ORDERS_REGION },
	[DDB_DS_ORDER_LOGS] = { DDB_ROLE_DOCUMENTS, S_SCAN_ORDER_LOGS, S_SCAN_ORDER_LOGS_REGION },
	[DDB_DS_COMPONENTS] = { DDB_ROLE_DOCUMENTS, S_SCAN_COMPONENTS, S_COUNT },
	[DDB_DS_CUSTOMERS] = { DDB_ROLE_REGIONAL, S_SCAN_CUSTOMERS, S_COUNT },
};
#define N_DATASETS ((int)(sizeof scan_stmt / sizeof scan_stmt[0]))

/* ---- the instance ------------------------------------------------------- */

struct sq {
	sqlite3 *db;
	char *path;
	int readonly; /* DDB_OPEN_READONLY */
	char node[DDB_NAME_MAX];
	int node_len;
	unsigned roles;
	sqlite3_stmt *stmt[S_COUNT];
	unsigned char stmt_busy[S_COUNT]; /* a scan cursor is stepping it */
};

struct sq_cursor {
	struct sq *h;
	sqlite3_stmt *stmt;
	enum stmt_id id;
	int owned; /* a private copy, finalized at close */
	int dataset;
	int done;
};

/* ---- errors ------------------------------------------------------------- */

PRINTF_LIKE(2, 3)
static void set_err(struct ddb_err *err, const char *fmt, ...)
{
	if (!err)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

static enum ddb_status status_of(int rc)
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
static enum ddb_status db_fail(struct sq *h, const char *op, int rc, struct ddb_err *err)
{
	enum ddb_status st = status_of(rc);
	if (st == DDB_OK)
		st = DDB_INTERNAL; /* an unexpected row or success code */
	set_err(err, "sqlite: %s: %s: %s", h->path, op,
	        rc == SQLITE_ROW || rc == SQLITE_DONE ? sqlite3_errstr(rc) : sqlite3_errmsg(h->db));
	return st;
}

PRINTF_LIKE(4, 5)
static enum ddb_status fail(struct sq *h, enum ddb_status st, struct ddb_err *err,
                            const char *fmt, ...)
{
	if (!err)
		return st;
	char what[DDB_ERR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (h)
		set_err(err, "sqlite: %s: %s", h->path, what);
	else
		set_err(err, "sqlite: %s", what);
	return st;
}

static int need_role(struct sq *h, unsigned role, const char *op, struct ddb_err *err)
{
	const char *why = ddb_role_problem(h->roles, role);
	if (why)
		fail(h, DDB_INVALID, err, "%s: %s", op, why);
	return !why;
}

/* The preamble of a batch operation (ddbsim/validate.h): 1 to go on, else
 * 0 and *st what to return (DDB_OK: an empty batch, nothing to do). */
static int batch_go(struct sq *h, unsigned role, size_t n, int arrays_given, const char *missing,
                    const char *op, enum ddb_status *st, struct ddb_err *err)
{
	int empty;
	const char *why = ddb_batch_problem(h->roles, role, n, arrays_given, missing, &empty);
	*st = why ? fail(h, DDB_INVALID, err, "%s: %s", op, why) : DDB_OK;
	return !why && !empty;
}

/* ---- statement helpers -------------------------------------------------- */

static int bind_text(sqlite3_stmt *s, int i, const char *v, int len)
{
	return sqlite3_bind_text(s, i, v, len, SQLITE_STATIC);
}

static int bind_i64(sqlite3_stmt *s, int i, int64_t v)
{
	return sqlite3_bind_int64(s, i, v);
}

/* Steps a statement once and resets it; the step's result code.  A failing
 * step leaves its message in the connection for db_fail(). */
static int run(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc;
}

/* Copies a text column into dst (size bytes with the NUL); -1 when it does
 * not fit. */
static int column_text(sqlite3_stmt *s, int col, char *dst, size_t size)
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

static enum ddb_status tx_begin(struct sq *h, const char *op, struct ddb_err *err)
{
	int rc = run(h->stmt[S_BEGIN]);
	return rc == SQLITE_DONE ? DDB_OK : db_fail(h, op, rc, err);
}

static enum ddb_status tx_commit(struct sq *h, const char *op, struct ddb_err *err)
{
	int rc = run(h->stmt[S_COMMIT]);
	return rc == SQLITE_DONE ? DDB_OK : db_fail(h, op, rc, err);
}

static void tx_rollback(struct sq *h)
{
	if (!sqlite3_get_autocommit(h->db))
		run(h->stmt[S_ROLLBACK]);
}

/* ---- components as a BLOB ----------------------------------------------- */

/* Per component: one byte of sku length, the sku bytes, the quantity as 8
 * bytes big-endian (two's complement). */
#define COMPONENT_REC_MAX (1 + (DDB_SKU_MAX - 1) + 8)
#define COMPONENTS_BLOB_MAX (DDB_COMPONENTS_MAX * COMPONENT_REC_MAX)

/* p has been validated: skus terminated, n_components in range. */
static int components_encode(const struct ddb_product *p, unsigned char *buf)
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

static int components_decode(const unsigned char *buf, size_t len, struct ddb_product *p)
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
struct order_lens {
	int id, region, customer, sku;
};

static const char *order_invalid(const struct ddb_order *o, struct order_lens *l)
{
	l->id = DDB_FIELD_LEN(o->id);
	l->region = DDB_FIELD_LEN(o->region);
	l->customer = DDB_FIELD_LEN(o->customer);
	l->sku = DDB_FIELD_LEN(o->sku);
	return ddb_order_problem(o);
}

struct product_lens {
	int sku, name;
};

static const char *product_invalid(const struct ddb_product *p, struct product_lens *l)
{
	l->sku = DDB_FIELD_LEN(p->sku);
	l->name = DDB_FIELD_LEN(p->name);
	return ddb_product_problem(p);
}

struct customer_lens {
	int id, unique_id, city, state, name, email, home;
};

static const char *customer_invalid(const struct ddb_customer *c, struct customer_lens *l)
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

/* ---- open, close, reset --------------------------------------------------- */

static void sq_close(void *handle)
{
	struct sq *h = handle;
	if (!h)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(h->stmt[i]);
	/* v2: a cursor left open keeps the connection until it is closed. */
	sqlite3_close_v2(h->db);
	free(h->path);
	free(h);
}

static enum ddb_status exec_script(struct sq *h, const char *op, const char *sql,
                                   struct ddb_err *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(h->db, sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return DDB_OK;
	set_err(err, "sqlite: %s: %s: %s", h->path, op, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	enum ddb_status st = status_of(rc);
	return st == DDB_OK ? DDB_INTERNAL : st;
}

/* Creates the tables of every role served; with wipe, empties them.  One
 * transaction; it runs at open too, before the statements are prepared. */
static enum ddb_status ensure_schema(struct sq *h, const char *op, int wipe, struct ddb_err *err)
{
	enum ddb_status st = exec_script(h, op, "BEGIN IMMEDIATE", err);
	for (size_t i = 0; st == DDB_OK && i < sizeof role_tables / sizeof role_tables[0]; i++) {
		if (!(h->roles & role_tables[i].role))
			continue;
		st = exec_script(h, op, role_tables[i].schema, err);
		if (st == DDB_OK && wipe)
			st = exec_script(h, op, role_tables[i].reset, err);
	}
	if (st == DDB_OK)
		st = exec_script(h, op, "COMMIT", err);
	if (st != DDB_OK && !sqlite3_get_autocommit(h->db))
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
	return st;
}

static enum ddb_status prepare_all(struct sq *h, struct ddb_err *err)
{
	for (int i = 0; i < S_COUNT; i++) {
		if (stmt_sql[i].role && !(h->roles & stmt_sql[i].role))
			continue;
		int rc = sqlite3_prepare_v3(h->db, stmt_sql[i].sql, -1, SQLITE_PREPARE_PERSISTENT,
		                            &h->stmt[i], NULL);
		if (rc != SQLITE_OK)
			return db_fail(h, "open: preparing statements", rc, err);
	}
	return DDB_OK;
}

static int journal_mode_cb(void *ctx, int n, char **values, char **names)
{
	(void)names;
	char *mode = ctx;
	snprintf(mode, 16, "%s", n > 0 && values[0] ? values[0] : "");
	return 0;
}

struct settings {
	const char *synchronous_sql;
	int busy_timeout_ms;
};

/* Reads the options, before anything touches the file. */
static enum ddb_status read_options(const struct ddb_open_args *args, struct settings *set,
                                    struct ddb_err *err)
{
	static const struct {
		const char *name, *sql;
	} sync_modes[] = {
		{ "OFF", "PRAGMA synchronous = OFF" },
		{ "NORMAL", "PRAGMA synchronous = NORMAL" },
		{ "FULL", "PRAGMA synchronous = FULL" },
		{ "EXTRA", "PRAGMA synchronous = EXTRA" },
	};
	const char *sync = ddb_option_get(args, "synchronous", "NORMAL");
	set->synchronous_sql = NULL;
	for (size_t i = 0; i < sizeof sync_modes / sizeof sync_modes[0]; i++)
		if (sync && strcasecmp(sync, sync_modes[i].name) == 0)
			set->synchronous_sql = sync_modes[i].sql;
	if (!set->synchronous_sql)
		return fail(NULL, DDB_INVALID, err,
		            "%s: open: option synchronous = '%s': expected OFF, NORMAL, FULL or EXTRA",
		            args->node, sync ? sync : "");

	const char *busy = ddb_option_get(args, "busy_timeout_ms", "5000");
	char *end = NULL;
	errno = 0;
	long long ms = busy ? strtoll(busy, &end, 10) : -1;
	if (!busy || end == busy || *end != '\0' || errno || ms < 0 || ms > INT_MAX)
		return fail(NULL, DDB_INVALID, err,
		            "%s: open: option busy_timeout_ms = '%s': expected milliseconds, 0 to %d",
		            args->node, busy ? busy : "", INT_MAX);
	set->busy_timeout_ms = (int)ms;
	return DDB_OK;
}

/* The file's path: the option path, else DATA_DIR/NODE.db. */
static enum ddb_status make_path(const struct ddb_open_args *args, char **path,
                                 struct ddb_err *err)
{
	const char *opt = ddb_option_get(args, "path", NULL);
	if (opt && *opt) {
		*path = strdup(opt);
	} else {
		const char *dir = args->data_dir && *args->data_dir ? args->data_dir : NULL;
		if (!dir || strchr(args->node, '/'))
			return fail(NULL, DDB_INVALID, err, "%s: open: no option path, and %s",
			            args->node,
			            dir ? "the node name holds a '/'" : "no data_dir to put NODE.db in");
		size_t len = strlen(dir) + 1 + strlen(args->node) + sizeof ".db";
		if ((*path = malloc(len)) != NULL)
			snprintf(*path, len, "%s/%s.db", dir, args->node);
	}
	if (!*path)
		return fail(NULL, DDB_INTERNAL, err, "%s: open: out of memory", args->node);
	return DDB_OK;
}

static enum ddb_status configure(struct sq *h, const struct settings *set, struct ddb_err *err)
{
	sqlite3_extended_result_codes(h->db, 1);
	sqlite3_busy_timeout(h->db, set->busy_timeout_ms);
	if (h->readonly)
		return DDB_OK; /* the journal mode is the file's already; nothing is written */

	char mode[16] = "";
	char *msg = NULL;
	int rc = sqlite3_exec(h->db, "PRAGMA journal_mode = WAL", journal_mode_cb, mode, &msg);
	if (rc != SQLITE_OK) {
		set_err(err, "sqlite: %s: open: journal_mode = WAL: %s", h->path,
		        msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		enum ddb_status st = status_of(rc);
		return st == DDB_OK ? DDB_INTERNAL : st;
	}
	/* An in-memory database (path ":memory:") cannot be in WAL mode. */
	if (strcasecmp(mode, "wal") != 0 && strcasecmp(mode, "memory") != 0)
		return fail(h, DDB_INTERNAL, err, "open: cannot switch to WAL mode (mode is '%s')",
		            mode);
	return exec_script(h, "open: synchronous", set->synchronous_sql, err);
}

/* "file:PATH?mode=ro[&immutable=1]", PATH percent-encoded: the read-only
 * open of h->path (see the top of the file); NULL on ENOMEM. */
static char *readonly_uri(const char *path, int immutable)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(path);
	char *uri = malloc(sizeof "file:" + 3 * len + sizeof "?mode=ro&immutable=1");
	if (!uri)
		return NULL;
	char *o = uri + sprintf(uri, "file:");
	while (path[0] == '/' && path[1] == '/')
		path++; /* "file://" would start an authority */
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '/' || *p == '.' || *p == '_' || *p == '-' || *p == '~') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	strcpy(o, immutable ? "?mode=ro&immutable=1" : "?mode=ro");
	return uri;
}

/* Read-only: opens the existing file, creating nothing. */
static enum ddb_status open_readonly(struct sq *h, struct ddb_err *err)
{
	struct stat st;
	if (strcmp(h->path, ":memory:") == 0)
		return fail(h, DDB_INVALID, err, "open read-only: a database in memory holds nothing");
	if (stat(h->path, &st) != 0) {
		int e = errno;
		return fail(h, e == ENOENT ? DDB_NOT_FOUND : DDB_UNAVAILABLE, err,
		            "open read-only: %s%s", strerror(e),
		            e == ENOENT ? " (no store here: a read-only open creates none)" : "");
	}
	if (!S_ISREG(st.st_mode))
		return fail(h, DDB_INVALID, err, "open read-only: not a regular file");
	size_t len = strlen(h->path) + sizeof "-wal";
	char *wal = malloc(len);
	if (!wal)
		return fail(h, DDB_INTERNAL, err, "open: out of memory");
	snprintf(wal, len, "%s-wal", h->path);
	int has_log = stat(wal, &st) == 0 && st.st_size > 0;
	free(wal);
	char *uri = readonly_uri(h->path, !has_log);
	if (!uri)
		return fail(h, DDB_INTERNAL, err, "open: out of memory");
	int rc = sqlite3_open_v2(uri, &h->db,
	                         SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
	free(uri);
	if (rc != SQLITE_OK)
		return h->db ? db_fail(h, "open read-only", rc, err)
		             : fail(h, DDB_INTERNAL, err, "open: out of memory");
	return DDB_OK;
}

/* Read-only: every table of every role served must be there. */
static enum ddb_status check_tables(struct sq *h, struct ddb_err *err)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(h->db,
	                            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
	                            "name = ?1", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return db_fail(h, "open read-only: reading the schema", rc, err);
	enum ddb_status st = DDB_OK;
	for (size_t i = 0; st == DDB_OK && i < sizeof role_table_names / sizeof role_table_names[0];
	     i++) {
		if (!(h->roles & role_table_names[i].role))
			continue;
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, role_table_names[i].table, -1, SQLITE_STATIC);
		rc = sqlite3_step(q);
		if (rc != SQLITE_ROW)
			st = db_fail(h, "open read-only: reading the schema", rc, err);
		else if (sqlite3_column_int(q, 0) == 0)
			st = fail(h, DDB_NOT_FOUND, err,
			          "open read-only: no table %s: not a store of this node (empty, or "
			          "never set up by a run)", role_table_names[i].table);
	}
	sqlite3_finalize(q);
	return st;
}

static enum ddb_status sq_open(const struct ddb_open_args *args, void **handle,
                               struct ddb_err *err)
{
	if (!handle)
		return fail(NULL, DDB_INVALID, err, "open: no handle pointer");
	*handle = NULL;
	if (!args || !args->node || !*args->node)
		return fail(NULL, DDB_INVALID, err, "open: no node name");
	if (strlen(args->node) >= DDB_NAME_MAX)
		return fail(NULL, DDB_INVALID, err, "open: node name longer than %d bytes",
		            DDB_NAME_MAX - 1);
	if (args->roles == 0 || (args->roles & ~(unsigned)ALL_ROLES))
		return fail(NULL, DDB_INVALID, err,
		            "%s: open: roles 0x%x: expected regional, central and/or documents",
		            args->node, args->roles);
	if (sqlite3_libversion_number() < 3037000)
		return fail(NULL, DDB_INTERNAL, err,
		            "%s: open: SQLite %s is too old, 3.37 or later is needed (STRICT tables)",
		            args->node, sqlite3_libversion());
	struct settings set = { 0 };
	enum ddb_status st = read_options(args, &set, err);
	if (st != DDB_OK)
		return st;

	struct sq *h = calloc(1, sizeof *h);
	if (!h)
		return fail(NULL, DDB_INTERNAL, err, "%s: open: out of memory", args->node);
	h->node_len = (int)strlen(args->node);
	memcpy(h->node, args->node, (size_t)h->node_len + 1);
	h->roles = args->roles;
	h->readonly = (args->flags & DDB_OPEN_READONLY) != 0;
	if ((st = make_path(args, &h->path, err)) != DDB_OK) {
		free(h);
		return st;
	}

	if (h->readonly) {
		st = open_readonly(h, err);
	} else {
		int rc = sqlite3_open_v2(h->path, &h->db,
		                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
		                         NULL);
		if (rc != SQLITE_OK)
			st = h->db ? db_fail(h, "open", rc, err)
			           : fail(h, DDB_INTERNAL, err, "open: out of memory");
	}
	if (st == DDB_OK)
		st = configure(h, &set, err);
	if (st == DDB_OK)
		st = h->readonly ? check_tables(h, err) : ensure_schema(h, "open: creating tables", 0, err);
	if (st == DDB_OK)
		st = prepare_all(h, err);
	if (st != DDB_OK) {
		sq_close(h);
		return st;
	}
	*handle = h;
	return DDB_OK;
}

static enum ddb_status sq_reset(void *handle, struct ddb_err *err)
{
	struct sq *h = handle;
	if (h && h->readonly)
		return fail(h, DDB_INVALID, err, "reset: opened read-only");
	return ensure_schema(handle, "reset", 1, err);
}

/* ---- regional: products and stock ---------------------------------------- */

static enum ddb_status sq_upsert_product(void *handle, const struct ddb_product *p,
                                         int64_t now_us, struct ddb_err *err)
{
	static const char op[] = "upsert_product";
	struct sq *h = handle;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (!p)
		return fail(h, DDB_INVALID, err, "%s: no product", op);
	struct product_lens l;
	const char *why = product_invalid(p, &l);
	if (why)
		return fail(h, DDB_INVALID, err, "%s: %.*s: %s", op, l.sku > 0 ? l.sku : 0, p->sku, why);

	unsigned char blob[COMPONENTS_BLOB_MAX];
	int blob_len = components_encode(p, blob);

	enum ddb_status st = tx_begin(h, op, err);
	if (st != DDB_OK)
		return st;
	sqlite3_stmt *s = h->stmt[S_PRODUCT_UPSERT];
	int rc;
	if ((rc = bind_text(s, 1, p->sku, l.sku)) || (rc = bind_text(s, 2, p->name, l.name)) ||
	    (rc = bind_i64(s, 3, p->price_cents)) || (rc = bind_i64(s, 4, p->version)))
		goto db_error;
	if ((rc = run(s)) != SQLITE_DONE)
		goto db_error;
	if (sqlite3_changes(h->db) == 0) {
		tx_rollback(h);
		return fail(h, DDB_DUPLICATE, err, "%s: %s: version %lld is not higher than the stored one",
		            op, p->sku, (long long)p->version);
	}

	s = h->stmt[S_COMPONENTS_DELETE];
	if ((rc = bind_text(s, 1, p->sku, l.sku)) || (rc = run(s)) != SQLITE_DONE)
		goto db_error;
	s = h->stmt[S_COMPONENT_INSERT];
	for (size_t i = 0; i < p->n_components; i++) {
		const struct ddb_component *c = &p->components[i];
		if ((rc = bind_text(s, 1, p->sku, l.sku)) || (rc = bind_text(s, 2, c->sku, -1)) ||
		    (rc = bind_i64(s, 3, c->quantity)) || (rc = bind_i64(s, 4, (int64_t)i)))
			goto db_error;
		if ((rc = run(s)) != SQLITE_DONE)
			goto db_error;
	}
	s = h->stmt[S_INVENTORY_ENSURE];
	if ((rc = bind_text(s, 1, p->sku, l.sku)) || (rc = run(s)) != SQLITE_DONE)
		goto db_error;
	s = h->stmt[S_OUTBOX_PRODUCT];
	if ((rc = bind_text(s, 1, h->node, h->node_len)) || (rc = bind_i64(s, 2, now_us)) ||
	    (rc = bind_text(s, 3, p->sku, l.sku)) || (rc = bind_text(s, 4, p->name, l.name)) ||
	    (rc = bind_i64(s, 5, p->price_cents)) || (rc = bind_i64(s, 6, p->version)) ||
	    (rc = sqlite3_bind_blob(s, 7, blob, blob_len, SQLITE_STATIC)))
		goto db_error;
	if ((rc = run(s)) != SQLITE_DONE)
		goto db_error;
	st = tx_commit(h, op, err);
	if (st != DDB_OK)
		tx_rollback(h);
	return st;

db_error:
	st = db_fail(h, op, rc, err);
	tx_rollback(h);
	return st;
}

static enum ddb_status sq_restock(void *handle, const char *sku, int64_t quantity,
                                  struct ddb_err *err)
{
	static const char op[] = "restock";
	struct sq *h = handle;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	int len = sku ? ddb_field_len(sku, DDB_SKU_MAX) : -1;
	if (len <= 0)
		return fail(h, DDB_INVALID, err, "%s: empty or unterminated sku", op);
	if (quantity < 1)
		return fail(h, DDB_INVALID, err, "%s: %s: quantity %lld must be at least 1", op, sku,
		            (long long)quantity);

	enum ddb_status st = tx_begin(h, op, err);
	if (st != DDB_OK)
		return st;
	sqlite3_stmt *s = h->stmt[S_RESTOCK];
	int rc;
	if ((rc = bind_i64(s, 1, quantity)) || (rc = bind_text(s, 2, sku, len)) ||
	    (rc = run(s)) != SQLITE_DONE)
		goto db_error;
	if (sqlite3_changes(h->db) == 0) {
		s = h->stmt[S_STOCK_GET];
		if ((rc = bind_text(s, 1, sku, len)))
			goto db_error;
		rc = run(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			goto db_error;
		tx_rollback(h);
		if (rc == SQLITE_DONE)
			return fail(h, DDB_NOT_FOUND, err, "%s: %s: no such product", op, sku);
		return fail(h, DDB_INVALID, err, "%s: %s: stock would exceed the int64 range", op,
		            sku);
	}
	st = tx_commit(h, op, err);
	if (st != DDB_OK)
		tx_rollback(h);
	return st;

db_error:
	st = db_fail(h, op, rc, err);
	tx_rollback(h);
	return st;
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
	if ((rc = bind_i64(s, 1, o->quantity)) || (rc = bind_text(s, 2, o->sku, l->sku)) ||
	    (rc = run(s)) != SQLITE_DONE)
		return db_fail(h, op, rc, err);

	if (sqlite3_changes(h->db) == 0) {
		/* Not taken.  An order placed before is DUPLICATE whatever the
		 * stock is now, so that a retry is recognised as one. */
		s = h->stmt[S_ORDER_EXISTS];
		if ((rc = bind_text(s, 1, o->id, l->id)))
			return db_fail(h, op, rc, err);
		rc = run(s);
		if (rc == SQLITE_ROW) {
			*result = DDB_DUPLICATE;
			return DDB_OK;
		}
		if (rc != SQLITE_DONE)
			return db_fail(h, op, rc, err);
		s = h->stmt[S_STOCK_GET];
		if ((rc = bind_text(s, 1, o->sku, l->sku)))
			return db_fail(h, op, rc, err);
		rc = run(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return db_fail(h, op, rc, err);
		*result = rc == SQLITE_ROW ? DDB_INSUFFICIENT : DDB_NOT_FOUND;
		return DDB_OK;
	}

	s = h->stmt[S_ORDER_INSERT];
	if ((rc = bind_text(s, 1, o->id, l->id)) || (rc = bind_text(s, 2, o->region, l->region)) ||
	    (rc = bind_text(s, 3, o->customer, l->customer)) ||
	    (rc = bind_text(s, 4, o->sku, l->sku)) || (rc = bind_i64(s, 5, o->quantity)) ||
	    (rc = bind_i64(s, 6, o->unit_price_cents)) || (rc = bind_i64(s, 7, o->placed_at_us)) ||
	    (rc = run(s)) != SQLITE_DONE)
		return db_fail(h, op, rc, err);
	if (sqlite3_changes(h->db) == 0) {
		s = h->stmt[S_STOCK_GIVE_BACK];
		if ((rc = bind_i64(s, 1, o->quantity)) || (rc = bind_text(s, 2, o->sku, l->sku)) ||
		    (rc = run(s)) != SQLITE_DONE)
			return db_fail(h, op, rc, err);
		*result = DDB_DUPLICATE;
		return DDB_OK;
	}

	s = h->stmt[S_OUTBOX_ORDER];
	if ((rc = bind_text(s, 1, h->node, h->node_len)) || (rc = bind_text(s, 2, o->id, l->id)) ||
	    (rc = bind_text(s, 3, o->region, l->region)) ||
	    (rc = bind_text(s, 4, o->customer, l->customer)) ||
	    (rc = bind_text(s, 5, o->sku, l->sku)) || (rc = bind_i64(s, 6, o->quantity)) ||
	    (rc = bind_i64(s, 7, o->unit_price_cents)) || (rc = bind_i64(s, 8, o->placed_at_us)) ||
	    (rc = run(s)) != SQLITE_DONE)
		return db_fail(h, op, rc, err);
	*result = DDB_OK;
	return DDB_OK;
}

static enum ddb_status sq_place_orders(void *handle, const struct ddb_order *orders, size_t n,
                                       enum ddb_status *results, struct ddb_err *err)
{
	static const char op[] = "place_orders";
	struct sq *h = handle;
	enum ddb_status early;
	if (!batch_go(h, DDB_ROLE_REGIONAL, n, orders && results, "no orders or no results array",
	              op, &early, err))
		return early;
	if (err)
		err->msg[0] = '\0';

	enum ddb_status st = tx_begin(h, op, err);
	for (size_t i = 0; st == DDB_OK && i < n; i++) {
		struct order_lens l;
		const char *why = order_invalid(&orders[i], &l);
		if (why) {
			/* Say why the first invalid order is invalid, even
			 * though the call itself succeeds. */
			if (err && !err->msg[0])
				fail(h, DDB_INVALID, err, "%s: order %zu (%.*s): %s", op, i,
				     l.id > 0 ? l.id : 0, orders[i].id, why);
			results[i] = DDB_INVALID;
			continue;
		}
		st = place_one(h, &orders[i], &l, &results[i], err);
	}
	if (st == DDB_OK)
		st = tx_commit(h, op, err);
	if (st != DDB_OK) {
		tx_rollback(h);
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
	int bad = column_text(s, 1, ev->origin, sizeof ev->origin) |
	          column_text(s, 2, ev->id, sizeof ev->id);
	ev->kind = sqlite3_column_int(s, 3);
	ev->state = sqlite3_column_int(s, 4);
	ev->created_at_us = sqlite3_column_int64(s, 5);
	if (ev->kind == DDB_EVENT_ORDER) {
		struct ddb_order *o = &ev->order;
		bad |= column_text(s, 6, o->id, sizeof o->id) |
		       column_text(s, 7, o->region, sizeof o->region) |
		       column_text(s, 8, o->customer, sizeof o->customer) |
		       column_text(s, 9, o->sku, sizeof o->sku);
		o->quantity = sqlite3_column_int64(s, 10);
		o->unit_price_cents = sqlite3_column_int64(s, 11);
		o->placed_at_us = sqlite3_column_int64(s, 12);
	} else {
		struct ddb_product *p = &ev->product;
		bad |= column_text(s, 9, p->sku, sizeof p->sku) |
		       column_text(s, 13, p->name, sizeof p->name);
		p->price_cents = sqlite3_column_int64(s, 14);
		p->version = sqlite3_column_int64(s, 15);
		bad |= components_decode(sqlite3_column_blob(s, 16),
		                         (size_t)sqlite3_column_bytes(s, 16), p);
	}
	if (bad)
		return fail(h, DDB_INTERNAL, err, "outbox: event %lld: a stored value does not fit",
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
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (!n_out || (!events && max > 0))
		return fail(h, DDB_INVALID, err, "%s: no events array or count", op);
	if (!ddb_outbox_state_ok(want_state))
		return fail(h, DDB_INVALID, err, "%s: unknown state %d", op, want_state);
	if (max == 0)
		return DDB_OK;

	int64_t limit = max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max;
	sqlite3_stmt *s;
	int rc;
	if (want_state == DDB_OUTBOX_APPLIED) {
		s = h->stmt[S_OUTBOX_READ_APPLIED];
		rc = bind_i64(s, 1, after_seq);
		if (rc == SQLITE_OK)
			rc = bind_i64(s, 2, limit);
	} else {
		s = h->stmt[S_OUTBOX_READ_PENDING];
		rc = bind_i64(s, 1, want_state);
		if (rc == SQLITE_OK)
			rc = bind_i64(s, 2, after_seq);
		if (rc == SQLITE_OK)
			rc = bind_i64(s, 3, limit);
	}
	if (rc != SQLITE_OK) {
		sqlite3_reset(s);
		return db_fail(h, op, rc, err);
	}
	size_t n = 0;
	enum ddb_status st = DDB_OK;
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((st = fill_event(h, s, &events[n], err)) != DDB_OK)
			break;
		n++;
	}
	if (st == DDB_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
		st = db_fail(h, op, rc, err);
	sqlite3_reset(s);
	*n_out = st == DDB_OK ? n : 0;
	return st;
}

static enum ddb_status sq_outbox_mark(void *handle, const int64_t *seqs, size_t n, int state,
                                      struct ddb_err *err)
{
	static const char op[] = "outbox_mark";
	struct sq *h = handle;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (!ddb_outbox_state_ok(state))
		return fail(h, DDB_INVALID, err, "%s: unknown state %d", op, state);
	enum ddb_status early;
	if (!batch_go(h, DDB_ROLE_REGIONAL, n, seqs != NULL, "no seqs array", op, &early, err))
		return early;

	enum ddb_status st = tx_begin(h, op, err);
	if (st != DDB_OK)
		return st;
	sqlite3_stmt *s = h->stmt[S_OUTBOX_MARK];
	int rc = bind_i64(s, 1, state);
	for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
		if ((rc = bind_i64(s, 2, seqs[i])) == SQLITE_OK && (rc = run(s)) == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK) {
		st = db_fail(h, op, rc, err);
		tx_rollback(h);
		return st;
	}
	st = tx_commit(h, op, err);
	if (st != DDB_OK)
		tx_rollback(h);
	return st;
}

static enum ddb_status sq_outbox_requeue(void *handle, struct ddb_err *err)
{
	static const char op[] = "outbox_requeue";
	struct sq *h = handle;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	/* One statement: its own transaction. */
	int rc = run(h->stmt[S_OUTBOX_REQUEUE]);
	return rc == SQLITE_DONE ? DDB_OK : db_fail(h, op, rc, err);
}

/* ---- regional: customers ---------------------------------------------------- */

/* Fills c from a row of CUSTOMER_COLUMNS; -1 when a value does not fit. */
static int fill_customer(sqlite3_stmt *s, struct ddb_customer *c)
{
	memset(c, 0, sizeof *c);
	int bad = column_text(s, 0, c->id, sizeof c->id) |
	          column_text(s, 1, c->unique_id, sizeof c->unique_id) |
	          column_text(s, 3, c->city, sizeof c->city) |
	          column_text(s, 4, c->state, sizeof c->state) |
	          column_text(s, 5, c->name, sizeof c->name) |
	          column_text(s, 6, c->email, sizeof c->email) |
	          column_text(s, 7, c->home, sizeof c->home);
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
	if ((rc = bind_text(s, 1, c->id, l->id)) ||
	    (rc = bind_text(s, 2, c->unique_id, l->unique_id)) ||
	    (rc = bind_i64(s, 3, c->zip_prefix)) || (rc = bind_text(s, 4, c->city, l->city)) ||
	    (rc = bind_text(s, 5, c->state, l->state)) || (rc = bind_text(s, 6, c->name, l->name)) ||
	    (rc = bind_text(s, 7, c->email, l->email)) || (rc = bind_text(s, 8, c->home, l->home)) ||
	    (rc = bind_i64(s, 9, c->version)) || (rc = bind_i64(s, 10, c->deleted)) ||
	    (rc = bind_i64(s, 11, c->updated_at_us)))
		return rc;
	if ((rc = run(s)) == SQLITE_DONE)
		*result = sqlite3_changes(h->db) > 0 ? DDB_OK : DDB_DUPLICATE;
	return rc;
}

static enum ddb_status sq_put_customers(void *handle, const struct ddb_customer *customers,
                                        size_t n, enum ddb_status *results, struct ddb_err *err)
{
	static const char op[] = "put_customers";
	struct sq *h = handle;
	enum ddb_status early;
	if (!batch_go(h, DDB_ROLE_REGIONAL, n, customers && results, "no customers or no results array",
	              op, &early, err))
		return early;
	if (err)
		err->msg[0] = '\0';

	/* Records in batch order: a later record of the same id in the batch
	 * sees the earlier one as stored. */
	enum ddb_status st = tx_begin(h, op, err);
	for (size_t i = 0; st == DDB_OK && i < n; i++) {
		const struct ddb_customer *c = &customers[i];
		struct customer_lens l;
		const char *why = customer_invalid(c, &l);
		if (why) {
			/* Say why the first invalid record is invalid, even
			 * though the call itself succeeds. */
			if (err && !err->msg[0])
				fail(h, DDB_INVALID, err, "%s: customer %zu (%.*s): %s", op, i,
				     l.id > 0 ? l.id : 0, c->id, why);
			results[i] = DDB_INVALID;
			continue;
		}
		int rc = put_one_customer(h, c, &l, &results[i]);
		if (rc != SQLITE_DONE)
			st = db_fail(h, op, rc, err);
	}
	if (st == DDB_OK)
		st = tx_commit(h, op, err);
	if (st != DDB_OK) {
		tx_rollback(h);
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
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	int len = id ? ddb_field_len(id, DDB_NAME_MAX) : -1;
	if (len <= 0)
		return fail(h, DDB_INVALID, err, "%s: empty id, or longer than %d bytes", op,
		            DDB_NAME_MAX - 1);
	if (!out)
		return fail(h, DDB_INVALID, err, "%s: no record to fill", op);

	sqlite3_stmt *s = h->stmt[S_CUSTOMER_GET];
	int rc = bind_text(s, 1, id, len);
	if (rc != SQLITE_OK)
		return db_fail(h, op, rc, err);
	enum ddb_status st;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		st = fill_customer(s, out) == 0
		             ? DDB_OK
		             : fail(h, DDB_INTERNAL, err, "%s: %s: a stored value does not fit", op, id);
	else if (rc == SQLITE_DONE)
		st = fail(h, DDB_NOT_FOUND, err, "%s: %s: no such customer", op, id);
	else
		st = db_fail(h, op, rc, err);
	sqlite3_reset(s);
	return st;
}

static enum ddb_status sq_find_customers(void *handle, const struct ddb_customer_filter *filter,
                                         void (*emit)(void *ctx, const struct ddb_customer *c),
                                         void *ctx, struct ddb_err *err)
{
	static const char op[] = "find_customers";
	struct sq *h = handle;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (!filter || !emit)
		return fail(h, DDB_INVALID, err, "%s: no filter or no emit function", op);
	if (h->stmt_busy[S_CUSTOMER_FIND])
		return fail(h, DDB_INTERNAL, err, "%s: called from within its own emit", op);

	int64_t limit = filter->limit == 0 || filter->limit > (size_t)INT64_MAX
	                        ? -1
	                        : (int64_t)filter->limit;
	sqlite3_stmt *s = h->stmt[S_CUSTOMER_FIND];
	int rc;
	if ((rc = bind_i64(s, 1, filter->zip_min)) || (rc = bind_i64(s, 2, filter->zip_max)) ||
	    (rc = filter->city ? bind_text(s, 3, filter->city, -1) : sqlite3_bind_null(s, 3)) ||
	    (rc = filter->state ? bind_text(s, 4, filter->state, -1) : sqlite3_bind_null(s, 4)) ||
	    (rc = bind_i64(s, 5, limit)))
		return db_fail(h, op, rc, err);

	h->stmt_busy[S_CUSTOMER_FIND] = 1;
	enum ddb_status st = DDB_OK;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct ddb_customer c;
		if (fill_customer(s, &c)) {
			st = fail(h, DDB_INTERNAL, err, "%s: %s: a stored value does not fit", op,
			          c.id);
			break;
		}
		emit(ctx, &c);
	}
	if (st == DDB_OK && rc != SQLITE_DONE)
		st = db_fail(h, op, rc, err);
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
		if ((rc = bind_text(s, 1, o->id, -1)) || (rc = bind_text(s, 2, o->region, -1)) ||
		    (rc = bind_text(s, 3, o->customer, -1)) || (rc = bind_text(s, 4, o->sku, -1)) ||
		    (rc = bind_i64(s, 5, o->quantity)) || (rc = bind_i64(s, 6, o->unit_price_cents)) ||
		    (rc = bind_i64(s, 7, o->placed_at_us)) || (rc = bind_i64(s, 8, applied_at_us)))
			return db_fail(h, op, rc, err);
	} else {
		const struct ddb_product *p = &ev->product;
		int blob_len = components_encode(p, blob);
		s = h->stmt[S_CENTRAL_PRODUCT_UPSERT];
		if ((rc = bind_text(s, 1, p->sku, -1)) || (rc = bind_text(s, 2, p->name, -1)) ||
		    (rc = bind_i64(s, 3, p->price_cents)) || (rc = bind_i64(s, 4, p->version)) ||
		    (rc = sqlite3_bind_blob(s, 5, blob, blob_len, SQLITE_STATIC)))
			return db_fail(h, op, rc, err);
	}
	rc = run(s);
	return rc == SQLITE_DONE ? DDB_OK : db_fail(h, op, rc, err);
}

static enum ddb_status sq_apply_events(void *handle, const struct ddb_event *events, size_t n,
                                       int64_t applied_at_us, struct ddb_err *err)
{
	static const char op[] = "apply_events";
	struct sq *h = handle;
	enum ddb_status early;
	if (!batch_go(h, DDB_ROLE_CENTRAL, n, events != NULL, "no events array", op, &early, err))
		return early;
	/* All or nothing: one bad event fails the call before anything is
	 * written. */
	for (size_t i = 0; i < n; i++) {
		const char *why;
		if (events[i].kind == DDB_EVENT_ORDER) {
			struct order_lens l;
			why = order_invalid(&events[i].order, &l);
		} else if (events[i].kind == DDB_EVENT_PRODUCT) {
			struct product_lens l;
			why = product_invalid(&events[i].product, &l);
		} else {
			why = "unknown event kind";
		}
		if (why)
			return fail(h, DDB_INVALID, err, "%s: event %zu (seq %lld): %s", op, i,
			            (long long)events[i].seq, why);
	}

	enum ddb_status st = tx_begin(h, op, err);
	for (size_t i = 0; st == DDB_OK && i < n; i++)
		st = apply_one(h, &events[i], applied_at_us, err);
	if (st == DDB_OK)
		st = tx_commit(h, op, err);
	if (st != DDB_OK)
		tx_rollback(h);
	return st;
}

static enum ddb_status sq_sales_report(void *handle, int by,
                                       void (*emit)(void *ctx, const struct ddb_sales *line),
                                       void *ctx, struct ddb_err *err)
{
	static const char op[] = "sales_report";
	struct sq *h = handle;
	if (!need_role(h, DDB_ROLE_CENTRAL, op, err))
		return DDB_INVALID;
	if (!emit)
		return fail(h, DDB_INVALID, err, "%s: no emit function", op);
	enum stmt_id id = by == DDB_SALES_BY_REGION    ? S_SALES_BY_REGION
	                  : by == DDB_SALES_BY_PRODUCT ? S_SALES_BY_SKU
	                                               : S_COUNT;
	if (id == S_COUNT)
		return fail(h, DDB_INVALID, err, "%s: unknown grouping %d", op, by);
	if (h->stmt_busy[id])
		return fail(h, DDB_INTERNAL, err, "%s: called from within its own emit", op);

	sqlite3_stmt *s = h->stmt[id];
	h->stmt_busy[id] = 1;
	enum ddb_status st = DDB_OK;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct ddb_sales line;
		if (column_text(s, 0, line.key, sizeof line.key)) {
			st = fail(h, DDB_INTERNAL, err, "%s: a key is longer than %d bytes", op,
			          DDB_SKU_MAX - 1);
			break;
		}
		line.orders = sqlite3_column_int64(s, 1);
		line.units = sqlite3_column_int64(s, 2);
		line.revenue_cents = sqlite3_column_int64(s, 3);
		emit(ctx, &line);
	}
	if (st == DDB_OK && rc != SQLITE_DONE)
		st = db_fail(h, op, rc, err);
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
	if (!batch_go(h, DDB_ROLE_DOCUMENTS, n, orders != NULL, "no orders array", op, &early, err))
		return early;
	for (size_t i = 0; i < n; i++) {
		struct order_lens l;
		const char *why = order_invalid(&orders[i], &l);
		if (why)
			return fail(h, DDB_INVALID, err, "%s: order %zu: %s", op, i, why);
	}

	enum ddb_status st = tx_begin(h, op, err);
	if (st != DDB_OK)
		return st;
	sqlite3_stmt *s = h->stmt[S_LOG_UPSERT];
	int rc = SQLITE_OK;
	for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
		const struct ddb_order *o = &orders[i];
		if ((rc = bind_text(s, 1, o->id, -1)) || (rc = bind_text(s, 2, o->region, -1)) ||
		    (rc = bind_text(s, 3, o->customer, -1)) || (rc = bind_text(s, 4, o->sku, -1)) ||
		    (rc = bind_i64(s, 5, o->quantity)) || (rc = bind_i64(s, 6, o->unit_price_cents)) ||
		    (rc = bind_i64(s, 7, o->placed_at_us)) || (rc = bind_i64(s, 8, logged_at_us)))
			break;
		if ((rc = run(s)) == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK) {
		st = db_fail(h, op, rc, err);
		tx_rollback(h);
		return st;
	}
	st = tx_commit(h, op, err);
	if (st != DDB_OK)
		tx_rollback(h);
	return st;
}

static enum ddb_status sq_put_components(void *handle, const struct ddb_product *products,
                                         size_t n, struct ddb_err *err)
{
	static const char op[] = "put_components";
	struct sq *h = handle;
	enum ddb_status early;
	if (!batch_go(h, DDB_ROLE_DOCUMENTS, n, products != NULL, "no products array", op, &early, err))
		return early;
	for (size_t i = 0; i < n; i++) {
		struct product_lens l;
		const char *why = product_invalid(&products[i], &l);
		if (why)
			return fail(h, DDB_INVALID, err, "%s: product %zu: %s", op, i, why);
	}

	enum ddb_status st = tx_begin(h, op, err);
	if (st != DDB_OK)
		return st;
	sqlite3_stmt *s = h->stmt[S_COMPONENT_DOC_UPSERT];
	int rc = SQLITE_OK;
	for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
		const struct ddb_product *p = &products[i];
		unsigned char blob[COMPONENTS_BLOB_MAX];
		int blob_len = components_encode(p, blob);
		if ((rc = bind_text(s, 1, p->sku, -1)) || (rc = bind_text(s, 2, p->name, -1)) ||
		    (rc = bind_i64(s, 3, p->price_cents)) || (rc = bind_i64(s, 4, p->version)) ||
		    (rc = sqlite3_bind_blob(s, 5, blob, blob_len, SQLITE_STATIC)))
			break;
		if ((rc = run(s)) == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK) {
		st = db_fail(h, op, rc, err);
		tx_rollback(h);
		return st;
	}
	st = tx_commit(h, op, err);
	if (st != DDB_OK)
		tx_rollback(h);
	return st;
}

/* ---- scans ----------------------------------------------------------------- */

static enum ddb_status sq_scan_open(void *handle, int dataset, const char *region,
                                    void **cursor, struct ddb_err *err)
{
	static const char op[] = "scan_open";
	struct sq *h = handle;
	if (!cursor)
		return fail(h, DDB_INVALID, err, "%s: no cursor pointer", op);
	*cursor = NULL;
	if (dataset < 1 || dataset >= N_DATASETS)
		return fail(h, DDB_INVALID, err, "%s: unknown dataset %d", op, dataset);
	if (!need_role(h, scan_stmt[dataset].role, op, err))
		return DDB_INVALID;
	/* The region filter applies to the datasets of orders; the others
	 * have no region and ignore it. */
	int len = 0;
	enum stmt_id id = scan_stmt[dataset].all;
	if (region && scan_stmt[dataset].by_region != S_COUNT) {
		if ((len = ddb_field_len(region, DDB_NAME_MAX)) < 0)
			return fail(h, DDB_INVALID, err, "%s: region longer than %d bytes", op,
			            DDB_NAME_MAX - 1);
		id = scan_stmt[dataset].by_region;
	}

	struct sq_cursor *c = calloc(1, sizeof *c);
	if (!c)
		return fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	c->h = h;
	c->id = id;
	c->dataset = dataset;
	if (!h->stmt_busy[id]) {
		c->stmt = h->stmt[id];
		h->stmt_busy[id] = 1;
	} else {
		/* Another cursor is stepping the shared statement: this one
		 * gets its own. */
		int rc = sqlite3_prepare_v3(h->db, stmt_sql[id].sql, -1, 0, &c->stmt, NULL);
		if (rc != SQLITE_OK) {
			free(c);
			return db_fail(h, op, rc, err);
		}
		c->owned = 1;
	}
	if (id != scan_stmt[dataset].all) {
		int rc = sqlite3_bind_text(c->stmt, 1, region, len, SQLITE_TRANSIENT);
		if (rc != SQLITE_OK) {
			enum ddb_status st = db_fail(h, op, rc, err);
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
	int rc = bind_text(s, 1, p->sku, -1);
	if (rc != SQLITE_OK)
		return db_fail(h, "scan: components", rc, err);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (p->n_components == DDB_COMPONENTS_MAX) {
			sqlite3_reset(s);
			return fail(h, DDB_INTERNAL, err, "scan: %s: more than %d components", p->sku,
			            DDB_COMPONENTS_MAX);
		}
		struct ddb_component *c = &p->components[p->n_components++];
		if (column_text(s, 0, c->sku, sizeof c->sku)) {
			sqlite3_reset(s);
			return fail(h, DDB_INTERNAL, err, "scan: %s: a component sku is too long",
			            p->sku);
		}
		c->quantity = sqlite3_column_int64(s, 1);
	}
	enum ddb_status st = rc == SQLITE_DONE ? DDB_OK : db_fail(h, "scan: components", rc, err);
	sqlite3_reset(s);
	return st;
}

/* Fills a product from sku, name, price_cents, version[, components BLOB]. */
static int fill_product(sqlite3_stmt *s, struct ddb_product *p, int with_blob)
{
	memset(p, 0, sizeof *p);
	int bad = column_text(s, 0, p->sku, sizeof p->sku) |
	          column_text(s, 1, p->name, sizeof p->name);
	p->price_cents = sqlite3_column_int64(s, 2);
	p->version = sqlite3_column_int64(s, 3);
	if (with_blob)
		bad |= components_decode(sqlite3_column_blob(s, 4),
		                         (size_t)sqlite3_column_bytes(s, 4), p);
	return bad;
}

static int fill_order(sqlite3_stmt *s, struct ddb_order *o)
{
	memset(o, 0, sizeof *o);
	int bad = column_text(s, 0, o->id, sizeof o->id) |
	          column_text(s, 1, o->region, sizeof o->region) |
	          column_text(s, 2, o->customer, sizeof o->customer) |
	          column_text(s, 3, o->sku, sizeof o->sku);
	o->quantity = sqlite3_column_int64(s, 4);
	o->unit_price_cents = sqlite3_column_int64(s, 5);
	o->placed_at_us = sqlite3_column_int64(s, 6);
	return bad;
}

static enum ddb_status sq_scan_next(void *cursor, struct ddb_row *row, struct ddb_err *err)
{
	struct sq_cursor *c = cursor;
	if (!c || !row)
		return fail(c ? c->h : NULL, DDB_INVALID, err, "scan_next: no cursor or row");
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
		enum ddb_status st = db_fail(h, "scan", rc, err);
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
		bad = column_text(s, 0, row->stock.sku, sizeof row->stock.sku);
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
		return fail(h, DDB_INTERNAL, err, "scan: dataset %d: a stored value does not fit",
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
	.open = sq_open,
	.close = sq_close,
	.reset = sq_reset,
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
	.caps = ALL_ROLES,
	.storage = &sqlite_ops,
	.settings = option_keys,
};

const struct ddb_plugin *ddbsim_plugin_entry(void)
{
	return &sqlite_plugin;
}
