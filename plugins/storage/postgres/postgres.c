/*
 * postgres.c - the PostgreSQL storage plugin (libpq): one database per node,
 * serving the regional, central and documents roles (any combination), with
 * the same behaviour as the SQLite plugin.
 *
 * Connection.  Options (every one optional):
 *   conninfo            a libpq connection string or URI
 *   host, port, dbname, user, password
 *                       single settings; they win over the same ones in
 *                       conninfo
 *   connect_timeout     seconds (default 5)
 *   application_name    (default "ddbsim-NODE")
 *   synchronous_commit  on (default), off, local, remote_write, remote_apply
 *   create_database     yes (default) or no: at open, create the database
 *                       when it does not exist
 *   resolve_timeout_ms  how long a write whose outcome a lost connection
 *                       left unknown waits for the server to come back and
 *                       say (default 30000)
 *   backoff_min_ms, backoff_max_ms
 *                       reconnection backoff (default 50 and 2000)
 * Without a dbname (in neither conninfo nor dbname) the database is the node
 * name; the rest comes from libpq's defaults (PGHOST, PGPORT, PGUSER, ...).
 *
 * Read-only (DDB_OPEN_READONLY, ddbsim check): no database, table or
 * function is created and no schema migrated; a missing database, or one
 * without the schema of a role served (at this plugin's version), is
 * DDB_NOT_FOUND; the session runs with default_transaction_read_only on, so
 * the server itself refuses any write.
 *
 * Schema.  Created at open, IF NOT EXISTS, in one transaction under an
 * advisory lock, so that instances opening at once do not trip over each
 * other; ddbsim_schema records which role's schema is in place.  Keys are
 * global text keys (order id, sku, customer id) in the "C" collation, so that
 * every comparison and ORDER BY is bytewise and served by the primary key;
 * money is BIGINT cents.  The center has no SERIAL: orders are keyed by their
 * global id, products by sku.  The only generated number is a region's
 * outbox seq (GENERATED ALWAYS, so no one can insert an id that leaves the
 * sequence behind); events are known by "<origin>:<seq>".
 *   regional   products, product_components, inventory, orders, outbox,
 *              customers; the functions ddbsim_place_orders,
 *              ddbsim_upsert_product, ddbsim_put_customers, ddbsim_undo_write
 *   central    central_products, central_orders
 *   documents  order_product, product_component: a jsonb document each,
 *              beside its key columns
 * The components of a product copy (outbox payload, central product,
 * product-component document) are a jsonb array [{"sku", "quantity"}, ...]
 * in the product's order.
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
 * Lost connections.  A call that finds the connection broken returns
 * DDB_UNAVAILABLE; a later call reconnects, no sooner than the backoff
 * allows (doubling from backoff_min_ms to backoff_max_ms, wall clock; at
 * once when another instance of the process has got through meanwhile),
 * and prepares the statements again.  Before sending, a call reads what the
 * server may have said while the connection was idle, so that a connection
 * the server closed is found dead before anything is sent into it; after
 * sending, the first answer decides: an error from the server means the
 * statement's transaction rolled back.  A statement is never sent twice by
 * the plugin.  Every operation is idempotent except place_orders and
 * restock (each op says why below); those two record, in the same
 * transaction, their outcome under this instance's writer id and an
 * operation number (ddbsim_writes).  When a connection breaks with their
 * outcome unknown (a crash: no answer at all), the call reconnects for up to
 * resolve_timeout_ms and reads that record: committed, it returns what was
 * committed; not committed, UNAVAILABLE.  If the server stays away longer,
 * the call returns UNAVAILABLE and the first reconnection undoes the write
 * if it did commit (ddbsim_undo_write), so that UNAVAILABLE always means
 * "nothing changed", as the ABI promises.
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

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define PLUGIN_VERSION "0.1.0"
#define ALL_ROLES (DDB_ROLE_REGIONAL | DDB_ROLE_CENTRAL | DDB_ROLE_DOCUMENTS)
#define SCHEMA_VERSION 2
#define SCAN_PAGE 500

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* ---- schema ------------------------------------------------------------- */

/* Taken by every schema change and reset, so that instances opening at the
 * same time do not create the same objects at once. */
#define SCHEMA_LOCK "SELECT pg_advisory_xact_lock(7234017355514110001)"

/* schema_meta, schema_regional, schema_central, schema_documents: the
 * sections of schema.sql, made into C strings by make (sql2c.awk). */
#include "pg_schema.h"

static const struct {
	unsigned role;
	const char *name;
	const char *schema;
	const char *reset;
} role_tables[] = {
	{ DDB_ROLE_REGIONAL, "regional", schema_regional,
	  "TRUNCATE products, product_components, inventory, orders, outbox, customers"
	  " RESTART IDENTITY" },
	{ DDB_ROLE_CENTRAL, "central", schema_central, "TRUNCATE central_products, central_orders" },
	{ DDB_ROLE_DOCUMENTS, "documents", schema_documents,
	  "TRUNCATE order_product, product_component" },
};
#define N_ROLE_TABLES (sizeof role_tables / sizeof role_tables[0])

/* ---- statements --------------------------------------------------------- */

enum stmt_id {
	/* regional */
	S_UPSERT_PRODUCT,
	S_RESTOCK,
	S_PLACE,
	S_OUTBOX_READ_PENDING,
	S_OUTBOX_READ_APPLIED,
	S_OUTBOX_MARK,
	S_OUTBOX_REQUEUE,
	S_PUT_CUSTOMERS,
	S_GET_CUSTOMER,
	S_FIND_CUSTOMERS,
	S_WRITE_GET,
	S_WRITE_UNDO,
	S_WRITE_FORGET,
	S_SCAN_PRODUCTS,
	S_SCAN_INVENTORY,
	S_SCAN_ORDERS,
	S_SCAN_ORDERS_REGION,
	S_SCAN_OUTBOX,
	S_SCAN_CUSTOMERS,
	/* central */
	S_APPLY,
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

/* The components of a jsonb array column as two arrays (text[], int8[]). */
#define COMPONENT_ARRAYS(col)                                                               \
	"ARRAY(SELECT e->>'sku' FROM jsonb_array_elements(" col ") WITH ORDINALITY AS t(e, n)" \
	" ORDER BY n), ARRAY(SELECT (e->>'quantity')::int8 FROM jsonb_array_elements(" col     \
	") WITH ORDINALITY AS t(e, n) ORDER BY n)"

/* The columns fill_event() reads, in its order (no components for orders). */
#define EVENT_COLUMNS                                                                       \
	"seq, origin, origin || ':' || seq, kind, state, created_at_us, order_id, region,"     \
	" customer, sku, quantity, unit_price_cents, placed_at_us, name, price_cents, version," \
	" CASE WHEN kind = 2 THEN ARRAY(SELECT e->>'sku' FROM jsonb_array_elements(components)" \
	" WITH ORDINALITY AS t(e, n) ORDER BY n) END, CASE WHEN kind = 2 THEN ARRAY(SELECT"     \
	" (e->>'quantity')::int8 FROM jsonb_array_elements(components) WITH ORDINALITY"        \
	" AS t(e, n) ORDER BY n) END"
#define ORDER_COLUMNS "id, region, customer, sku, quantity, unit_price_cents, placed_at_us"
#define CUSTOMER_COLUMNS                                                                    \
	"id, unique_id, zip_prefix, city, state, name, email, home, version, deleted,"         \
	" updated_at_us"
/* ASCII case folding only, as SQLite's NOCASE. */
#define FOLD(x) "translate(" x ", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"

/* The order arrays of apply_events, put_order_logs: $1..$7. */
#define ORDER_ARRAYS                                                                        \
	"unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[],"       \
	" $7::int8[]) WITH ORDINALITY AS u(id, region, customer, sku, quantity, price, placed, n)"

/* Products of a batch: $P sku, name, price, version; components as
 * (owner = 1-based index of the product, sku, quantity), in order. */
#define PRODUCT_ARRAYS(a, b, c, d)                                                          \
	"unnest($" a "::text[], $" b "::text[], $" c "::int8[], $" d "::int8[])"               \
	" WITH ORDINALITY AS u(sku, name, price, version, n)"
#define COMPONENT_DOCS(a, b, c)                                                             \
	"SELECT u.owner, jsonb_agg(jsonb_build_object('sku', u.sku, 'quantity', u.quantity)"   \
	" ORDER BY u.n) AS components FROM unnest($" a "::int4[], $" b "::text[], $" c         \
	"::int8[]) WITH ORDINALITY AS u(owner, sku, quantity, n) GROUP BY u.owner"

static const struct {
	unsigned role;
	const char *sql;
} stmt_sql[S_COUNT] = {
	/* Idempotent by (sku, version): a second call with the same version
	 * changes nothing and says DUPLICATE. */
	[S_UPSERT_PRODUCT] = { DDB_ROLE_REGIONAL,
		"SELECT ddbsim_upsert_product($1::text, $2::int8, $3::text, $4::text, $5::int8,"
		" $6::int8, $7::text[], $8::int8[])" },
	/* Not idempotent: recorded in ddbsim_writes.  The guard keeps stock and
	 * received within int64: no row changed means unknown sku or overflow,
	 * told apart by the last column. */
	[S_RESTOCK] = { DDB_ROLE_REGIONAL,
		"WITH u AS (UPDATE inventory SET stock = stock + $1::int8, received = received + $1::int8"
		" WHERE sku = $2::text AND stock <= 9223372036854775807 - $1::int8"
		" AND received <= 9223372036854775807 - $1::int8 RETURNING sku),"
		" w AS (INSERT INTO ddbsim_writes (writer, op, kind, outcome, sku, quantity)"
		" SELECT $3::text, $4::int8, 'R', 'O', $2::text, $1::int8 FROM u"
		" ON CONFLICT (writer) DO UPDATE SET op = excluded.op, kind = excluded.kind,"
		" outcome = excluded.outcome, seqs = '{}', sku = excluded.sku,"
		" quantity = excluded.quantity RETURNING 1)"
		" SELECT (SELECT count(*) FROM u)::int8, (SELECT count(*) FROM w)::int8,"
		" EXISTS (SELECT 1 FROM inventory WHERE sku = $2::text)" },
	/* Not idempotent in its results (a retry says DUPLICATE): recorded in
	 * ddbsim_writes. */
	[S_PLACE] = { DDB_ROLE_REGIONAL,
		"SELECT ddbsim_place_orders($1::text, $2::text, $3::int8, $4::text[], $5::text[],"
		" $6::text[], $7::text[], $8::int8[], $9::int8[], $10::int8[])" },
	/* "state < 2" lets the planner use the partial index outbox_pending. */
	[S_OUTBOX_READ_PENDING] = { DDB_ROLE_REGIONAL,
		"SELECT " EVENT_COLUMNS " FROM outbox WHERE state = $1::int4 AND state < 2"
		" AND seq > $2::int8 ORDER BY state, seq LIMIT $3::int8" },
	[S_OUTBOX_READ_APPLIED] = { DDB_ROLE_REGIONAL,
		"SELECT " EVENT_COLUMNS " FROM outbox WHERE state = 2 AND seq > $1::int8"
		" ORDER BY seq LIMIT $2::int8" },
	/* Idempotent: a state never goes down, marking twice changes nothing. */
	[S_OUTBOX_MARK] = { DDB_ROLE_REGIONAL,
		"UPDATE outbox SET state = $1::int4 WHERE seq = ANY ($2::int8[]) AND state < $1::int4" },
	/* Idempotent: PUBLISHED to NEW, again and again. */
	[S_OUTBOX_REQUEUE] = { DDB_ROLE_REGIONAL,
		"UPDATE outbox SET state = 0 WHERE state = 1 AND state < 2" },
	/* Idempotent by (id, version): replayed records change nothing. */
	[S_PUT_CUSTOMERS] = { DDB_ROLE_REGIONAL,
		"SELECT ddbsim_put_customers($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[],"
		" $6::text[], $7::text[], $8::text[], $9::int8[], $10::bool[], $11::int8[])" },
	[S_GET_CUSTOMER] = { DDB_ROLE_REGIONAL,
		"SELECT " CUSTOMER_COLUMNS " FROM customers WHERE id = $1::text" },
	[S_FIND_CUSTOMERS] = { DDB_ROLE_REGIONAL,
		"SELECT " CUSTOMER_COLUMNS " FROM customers WHERE NOT deleted"
		" AND zip_prefix BETWEEN $1::int8 AND $2::int8"
		" AND ($3::text IS NULL OR " FOLD("city") " = " FOLD("$3::text") ")"
		" AND ($4::text IS NULL OR " FOLD("state") " = " FOLD("$4::text") ")"
		" AND id > $5::text ORDER BY id LIMIT $6::int8" },
	[S_WRITE_GET] = { DDB_ROLE_REGIONAL,
		"SELECT op, kind, outcome FROM ddbsim_writes WHERE writer = $1::text" },
	[S_WRITE_UNDO] = { DDB_ROLE_REGIONAL, "SELECT ddbsim_undo_write($1::text, $2::int8)" },
	[S_WRITE_FORGET] = { DDB_ROLE_REGIONAL,
		"DELETE FROM ddbsim_writes WHERE writer = $1::text" },
	[S_SCAN_PRODUCTS] = { DDB_ROLE_REGIONAL,
		"SELECT p.sku, p.name, p.price_cents, p.version,"
		" ARRAY(SELECT c.component_sku FROM product_components AS c WHERE c.sku = p.sku"
		" ORDER BY c.pos), ARRAY(SELECT c.quantity FROM product_components AS c"
		" WHERE c.sku = p.sku ORDER BY c.pos)"
		" FROM products AS p WHERE p.sku > $1::text ORDER BY p.sku LIMIT $2::int8" },
	/* sold from the orders themselves. */
	[S_SCAN_INVENTORY] = { DDB_ROLE_REGIONAL,
		"SELECT i.sku, i.stock, i.received, coalesce(s.sold, 0)::int8 FROM inventory AS i"
		" LEFT JOIN (SELECT sku, sum(quantity) AS sold FROM orders WHERE sku > $1::text"
		" GROUP BY sku) AS s ON s.sku = i.sku"
		" WHERE i.sku > $1::text ORDER BY i.sku LIMIT $2::int8" },
	[S_SCAN_ORDERS] = { DDB_ROLE_REGIONAL,
		"SELECT " ORDER_COLUMNS " FROM orders WHERE id > $1::text ORDER BY id LIMIT $2::int8" },
	[S_SCAN_ORDERS_REGION] = { DDB_ROLE_REGIONAL,
		"SELECT " ORDER_COLUMNS " FROM orders WHERE region = $3::text AND id > $1::text"
		" ORDER BY id LIMIT $2::int8" },
	[S_SCAN_OUTBOX] = { DDB_ROLE_REGIONAL,
		"SELECT " EVENT_COLUMNS " FROM outbox WHERE seq > $1::int8 ORDER BY seq LIMIT $2::int8" },
	[S_SCAN_CUSTOMERS] = { DDB_ROLE_REGIONAL,
		"SELECT " CUSTOMER_COLUMNS " FROM customers WHERE id > $1::text ORDER BY id"
		" LIMIT $2::int8" },

	/* Idempotent: an order present, or a product version not higher than
	 * the stored one, changes nothing.  Within a batch the first copy of
	 * an order counts, and the first copy of the highest version of a
	 * product, as when applied one by one. */
	[S_APPLY] = { DDB_ROLE_CENTRAL,
		"WITH o AS (INSERT INTO central_orders (" ORDER_COLUMNS ", applied_at_us)"
		" SELECT u.id, u.region, u.customer, u.sku, u.quantity, u.price, u.placed, $8::int8"
		" FROM " ORDER_ARRAYS " ORDER BY u.n ON CONFLICT (id) DO NOTHING RETURNING 1),"
		" c AS (" COMPONENT_DOCS("13", "14", "15") "),"
		" p AS (SELECT DISTINCT ON (u.sku) u.sku, u.name, u.price, u.version, u.n"
		" FROM " PRODUCT_ARRAYS("9", "10", "11", "12") " ORDER BY u.sku, u.version DESC, u.n),"
		" q AS (INSERT INTO central_products (sku, name, price_cents, version, components)"
		" SELECT p.sku, p.name, p.price, p.version, coalesce(c.components, '[]'::jsonb)"
		" FROM p LEFT JOIN c ON c.owner = p.n"
		" ON CONFLICT (sku) DO UPDATE SET name = excluded.name,"
		" price_cents = excluded.price_cents, version = excluded.version,"
		" components = excluded.components"
		" WHERE excluded.version > central_products.version RETURNING 1)"
		" SELECT (SELECT count(*) FROM o)::int8, (SELECT count(*) FROM q)::int8" },
	[S_SALES_BY_REGION] = { DDB_ROLE_CENTRAL,
		"SELECT region, count(*)::int8, sum(quantity)::int8,"
		" sum(quantity::numeric * unit_price_cents)::int8"
		" FROM central_orders GROUP BY region ORDER BY region" },
	[S_SALES_BY_SKU] = { DDB_ROLE_CENTRAL,
		"SELECT sku, count(*)::int8, sum(quantity)::int8,"
		" sum(quantity::numeric * unit_price_cents)::int8"
		" FROM central_orders GROUP BY sku ORDER BY sku" },
	[S_SCAN_CENTRAL_PRODUCTS] = { DDB_ROLE_CENTRAL,
		"SELECT sku, name, price_cents, version, " COMPONENT_ARRAYS("components")
		" FROM central_products WHERE sku > $1::text ORDER BY sku LIMIT $2::int8" },
	[S_SCAN_CENTRAL_ORDERS] = { DDB_ROLE_CENTRAL,
		"SELECT " ORDER_COLUMNS ", applied_at_us FROM central_orders WHERE id > $1::text"
		" ORDER BY id LIMIT $2::int8" },
	[S_SCAN_CENTRAL_ORDERS_REGION] = { DDB_ROLE_CENTRAL,
		"SELECT " ORDER_COLUMNS ", applied_at_us FROM central_orders WHERE region = $3::text"
		" AND id > $1::text ORDER BY id LIMIT $2::int8" },

	/* Idempotent upsert by order id; within a batch the last copy wins,
	 * as when written one by one. */
	[S_LOG_UPSERT] = { DDB_ROLE_DOCUMENTS,
		"INSERT INTO order_product (order_id, region, doc)"
		" SELECT DISTINCT ON (u.id) u.id, u.region, jsonb_build_object('log_id', 'log:' || u.id,"
		" 'order_id', u.id, 'region', u.region, 'customer', u.customer, 'sku', u.sku,"
		" 'quantity', u.quantity, 'unit_price_cents', u.price, 'placed_at_us', u.placed,"
		" 'logged_at_us', $8::int8)"
		" FROM " ORDER_ARRAYS " ORDER BY u.id, u.n DESC"
		" ON CONFLICT (order_id) DO UPDATE SET region = excluded.region, doc = excluded.doc" },
	/* Idempotent upsert by sku, replacing the same or an older version;
	 * within a batch the last copy of the highest version wins, as when
	 * written one by one. */
	[S_COMPONENT_DOC_UPSERT] = { DDB_ROLE_DOCUMENTS,
		"WITH c AS (" COMPONENT_DOCS("5", "6", "7") "),"
		" p AS (SELECT DISTINCT ON (u.sku) u.sku, u.name, u.price, u.version, u.n"
		" FROM " PRODUCT_ARRAYS("1", "2", "3", "4") " ORDER BY u.sku, u.version DESC, u.n DESC)"
		" INSERT INTO product_component (sku, version, doc)"
		" SELECT p.sku, p.version, jsonb_build_object('sku', p.sku, 'name', p.name,"
		" 'price_cents', p.price, 'version', p.version,"
		" 'components', coalesce(c.components, '[]'::jsonb))"
		" FROM p LEFT JOIN c ON c.owner = p.n"
		" ON CONFLICT (sku) DO UPDATE SET version = excluded.version, doc = excluded.doc"
		" WHERE excluded.version >= product_component.version" },
	[S_SCAN_ORDER_LOGS] = { DDB_ROLE_DOCUMENTS,
		"SELECT order_id, region, doc->>'customer', doc->>'sku', (doc->>'quantity')::int8,"
		" (doc->>'unit_price_cents')::int8, (doc->>'placed_at_us')::int8 FROM order_product"
		" WHERE order_id > $1::text ORDER BY order_id LIMIT $2::int8" },
	[S_SCAN_ORDER_LOGS_REGION] = { DDB_ROLE_DOCUMENTS,
		"SELECT order_id, region, doc->>'customer', doc->>'sku', (doc->>'quantity')::int8,"
		" (doc->>'unit_price_cents')::int8, (doc->>'placed_at_us')::int8 FROM order_product"
		" WHERE region = $3::text AND order_id > $1::text ORDER BY order_id LIMIT $2::int8" },
	[S_SCAN_COMPONENTS] = { DDB_ROLE_DOCUMENTS,
		"SELECT sku, doc->>'name', (doc->>'price_cents')::int8, version, "
		COMPONENT_ARRAYS("doc->'components'")
		" FROM product_component WHERE sku > $1::text ORDER BY sku LIMIT $2::int8" },
};

/* The scan statements of each dataset: all rows, one region's rows
 * (S_COUNT: no region filter); whether the key is the seq (else text). */
static const struct {
	unsigned role;
	enum stmt_id all, by_region;
	int int_key;
} scan_stmt[] = {
	[DDB_DS_PRODUCTS] = { DDB_ROLE_REGIONAL, S_SCAN_PRODUCTS, S_COUNT, 0 },
	[DDB_DS_INVENTORY] = { DDB_ROLE_REGIONAL, S_SCAN_INVENTORY, S_COUNT, 0 },
	[DDB_DS_ORDERS] = { DDB_ROLE_REGIONAL, S_SCAN_ORDERS, S_SCAN_ORDERS_REGION, 0 },
	[DDB_DS_OUTBOX] = { DDB_ROLE_REGIONAL, S_SCAN_OUTBOX, S_COUNT, 1 },
	[DDB_DS_CENTRAL_PRODUCTS] = { DDB_ROLE_CENTRAL, S_SCAN_CENTRAL_PRODUCTS, S_COUNT, 0 },
	[DDB_DS_CENTRAL_ORDERS] = { DDB_ROLE_CENTRAL, S_SCAN_CENTRAL_ORDERS,
		S_SCAN_CENTRAL_ORDERS_REGION, 0 },
	[DDB_DS_ORDER_LOGS] = { DDB_ROLE_DOCUMENTS, S_SCAN_ORDER_LOGS, S_SCAN_ORDER_LOGS_REGION, 0 },
	[DDB_DS_COMPONENTS] = { DDB_ROLE_DOCUMENTS, S_SCAN_COMPONENTS, S_COUNT, 0 },
	[DDB_DS_CUSTOMERS] = { DDB_ROLE_REGIONAL, S_SCAN_CUSTOMERS, S_COUNT, 0 },
};
#define N_DATASETS ((int)(sizeof scan_stmt / sizeof scan_stmt[0]))

/* ---- the instance ------------------------------------------------------- */

/* Connections made by any instance of this process.  When one instance gets
 * through, the server is back: the others try again at once instead of
 * waiting out their backoff. */
static atomic_uint_fast64_t connections_made;

struct settings {
	const char *kw[16];
	const char *val[16];
	int expand_dbname;
	char sync_commit[16];
	int create_database;
	long resolve_timeout_ms;
	long backoff_min_ms, backoff_max_ms;
	char application_name[DDB_NAME_MAX + 8];
	char connect_timeout[16];
};

struct pg {
	PGconn *conn;
	char node[DDB_NAME_MAX];
	unsigned roles;
	int readonly; /* DDB_OPEN_READONLY */
	struct settings set;
	char *conninfo; /* owned copies of option values */
	char *host, *port, *dbname, *user, *password;
	char where[192]; /* "db@host:port" of the last connection */
	unsigned char prepared[S_COUNT];
	/* reconnection */
	int64_t next_try_ms;
	long backoff_ms;
	uint_fast64_t connects_seen; /* connections_made at the last failed attempt */
	char last_error[192];
	/* the write log: this instance's writer id and operation number */
	char writer[64];
	int64_t op;
	/* a write reported UNAVAILABLE whose outcome is still unknown: undone
	 * (if it committed) at the next connection */
	int doubt;
	int64_t doubt_op;
	struct pgb_buf buf;
};

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

PRINTF_LIKE(4, 5)
static enum ddb_status fail(const struct pg *h, enum ddb_status st, struct ddb_err *err,
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
		set_err(err, "postgres: %s: %s", h->node, what);
	else
		set_err(err, "postgres: %s", what);
	return st;
}

static int need_role(const struct pg *h, unsigned role, const char *op, struct ddb_err *err)
{
	if (h->roles & role)
		return 1;
	fail(h, DDB_INVALID, err, "%s: this instance does not serve the %s role", op,
	     role == DDB_ROLE_REGIONAL ? "regional" : role == DDB_ROLE_CENTRAL ? "central"
	                                                                     : "documents");
	return 0;
}

/* libpq's messages end with a newline and may span lines: one line, in dst. */
static void one_line(char *dst, size_t size, const char *msg)
{
	size_t n = 0;
	for (const char *p = msg ? msg : ""; *p && n + 1 < size; p++) {
		char c = *p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p;
		if (c == ' ' && (n == 0 || dst[n - 1] == ' '))
			continue;
		dst[n++] = c;
	}
	while (n > 0 && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
}

/* What a SQLSTATE means for the caller. */
static enum ddb_status status_of_sqlstate(const char *s)
{
	if (!s || strlen(s) != 5)
		return DDB_INTERNAL;
	if (!strncmp(s, "08", 2) || /* connection exception */
	    !strncmp(s, "57P", 3) || /* admin or crash shutdown, cannot connect now */
	    !strncmp(s, "53", 2) ||  /* insufficient resources: disk full, out of memory */
	    !strcmp(s, "57014") ||   /* query canceled: statement timeout */
	    !strcmp(s, "40001") ||   /* serialization failure: retry */
	    !strcmp(s, "40P01") ||   /* deadlock detected: retry */
	    !strcmp(s, "55P03") ||   /* lock not available */
	    !strcmp(s, "55006"))     /* object in use */
		return DDB_UNAVAILABLE;
	if (!strcmp(s, "23505"))
		return DDB_DUPLICATE;
	if (!strncmp(s, "23", 2) || !strncmp(s, "22", 2)) /* constraint, data exception */
		return DDB_INVALID;
	return DDB_INTERNAL;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The connection is gone: forget it and its prepared statements; the next
 * call reconnects at once, later ones back off. */
static void drop_connection(struct pg *h, const char *why)
{
	if (why)
		one_line(h->last_error, sizeof h->last_error, why);
	if (h->conn)
		PQfinish(h->conn);
	h->conn = NULL;
	memset(h->prepared, 0, sizeof h->prepared);
}

/* A failed statement: its status and "postgres: NODE: OP: message" in err;
 * a broken connection is dropped (UNAVAILABLE). */
static enum ddb_status db_fail(struct pg *h, const PGresult *res, const char *op,
                               struct ddb_err *err)
{
	const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char msg[DDB_ERR_MAX];
	const char *text = res ? PQresultErrorMessage(res) : "";
	if (!text || !*text)
		text = h->conn ? PQerrorMessage(h->conn) : "no connection";
	one_line(msg, sizeof msg, text);
	if (!msg[0])
		snprintf(msg, sizeof msg, "unexpected result %s",
		         res ? PQresStatus(PQresultStatus(res)) : "(none)");
	int lost = !h->conn || PQstatus(h->conn) != CONNECTION_OK;
	enum ddb_status st = status_of_sqlstate(sqlstate);
	if (lost || (sqlstate && !strncmp(sqlstate, "57P", 3))) {
		drop_connection(h, msg);
		st = DDB_UNAVAILABLE;
	}
	if (st == DDB_OK)
		st = DDB_INTERNAL;
	fail(h, st, err, "%s: %s%s", op, msg, st == DDB_UNAVAILABLE && lost ? " (connection lost)" : "");
	return st;
}

/* ---- validation --------------------------------------------------------- */

/* Whether the n bytes at s are well-formed UTF-8 (PostgreSQL refuses other
 * text in a UTF8 database). */
static int utf8_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		unsigned c = *p;
		size_t k;
		unsigned min;
		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			k = 1, min = 0x80, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2, min = 0x800, c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3, min = 0x10000, c &= 0x07;
		} else {
			return 0;
		}
		if ((size_t)(end - p) <= k)
			return 0;
		for (size_t i = 1; i <= k; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[i] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		p += k + 1;
	}
	return 1;
}

/* A text field: -1 not terminated within size, -2 not UTF-8, else length. */
static int text_len(const char *s, size_t size)
{
	int n = ddb_field_len(s, size);
	if (n < 0)
		return -1;
	return utf8_ok(s, (size_t)n) ? n : -2;
}

/* The shared rules (ddbsim/validate.h), and text that PostgreSQL takes:
 * UTF-8. */
#define UTF8_FIELD(f) utf8_ok((f), strnlen((f), sizeof(f)))

static const char *order_invalid(const struct ddb_order *o)
{
	const char *why = ddb_order_problem(o);
	if (!why && !(UTF8_FIELD(o->id) && UTF8_FIELD(o->region) && UTF8_FIELD(o->customer) &&
	              UTF8_FIELD(o->sku)))
		why = "a text field is not valid UTF-8";
	return why;
}

static const char *product_invalid(const struct ddb_product *p)
{
	const char *why = ddb_product_problem(p);
	if (!why && !(UTF8_FIELD(p->sku) && UTF8_FIELD(p->name)))
		why = "a text field is not valid UTF-8";
	for (size_t i = 0; !why && i < p->n_components; i++)
		if (!UTF8_FIELD(p->components[i].sku))
			why = "a component sku is not valid UTF-8";
	return why;
}

static const char *customer_invalid(const struct ddb_customer *c)
{
	const char *why = ddb_customer_problem(c);
	if (!why && !(UTF8_FIELD(c->id) && UTF8_FIELD(c->unique_id) && UTF8_FIELD(c->city) &&
	              UTF8_FIELD(c->state) && UTF8_FIELD(c->name) && UTF8_FIELD(c->email) &&
	              UTF8_FIELD(c->home)))
		why = "a text field is not valid UTF-8";
	return why;
}

/* ---- connection --------------------------------------------------------- */

static void quiet_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Runs a statement without parameters (simple protocol: it may hold several);
 * OK or the failure in err. */
static enum ddb_status exec_simple(struct pg *h, const char *op, const char *sql,
                                   struct ddb_err *err)
{
	PGresult *res = PQexec(h->conn, sql);
	ExecStatusType s = PQresultStatus(res);
	enum ddb_status st = DDB_OK;
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		st = db_fail(h, res, op, err);
	PQclear(res);
	return st;
}

static void rollback(struct pg *h)
{
	if (h->conn && PQtransactionStatus(h->conn) != PQTRANS_IDLE) {
		PGresult *res = PQexec(h->conn, "ROLLBACK");
		PQclear(res);
	}
}

/* Creates the schema of every role served where it is missing or older;
 * with wipe, empties the role's tables.  One transaction. */
static enum ddb_status ensure_schema(struct pg *h, const char *op, int wipe, struct ddb_err *err)
{
	enum ddb_status st = exec_simple(h, op, "BEGIN; " SCHEMA_LOCK, err);
	if (st == DDB_OK)
		st = exec_simple(h, op, schema_meta, err);
	PGresult *res = NULL;
	if (st == DDB_OK) {
		res = PQexec(h->conn, "SELECT role, version FROM ddbsim_schema");
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			st = db_fail(h, res, op, err);
	}
	for (size_t i = 0; st == DDB_OK && i < N_ROLE_TABLES; i++) {
		if (!(h->roles & role_tables[i].role))
			continue;
		int current = 0;
		for (int r = 0; r < PQntuples(res); r++)
			if (!strcmp(PQgetvalue(res, r, 0), role_tables[i].name) &&
			    atoi(PQgetvalue(res, r, 1)) == SCHEMA_VERSION)
				current = 1;
		if (!current) {
			st = exec_simple(h, op, role_tables[i].schema, err);
			if (st == DDB_OK) {
				char sql[256];
				/* Only constants of this file go into the text. */
				snprintf(sql, sizeof sql,
				         "INSERT INTO ddbsim_schema (role, version) VALUES ('%s', %d)"
				         " ON CONFLICT (role) DO UPDATE SET version = excluded.version",
				         role_tables[i].name, SCHEMA_VERSION);
				st = exec_simple(h, op, sql, err);
			}
		}
		if (st == DDB_OK && wipe)
			st = exec_simple(h, op, role_tables[i].reset, err);
	}
	PQclear(res);
	if (st == DDB_OK)
		st = exec_simple(h, op, "COMMIT", err);
	if (st != DDB_OK)
		rollback(h);
	return st;
}

/* Read-only: the schema of every role served is there, at this plugin's
 * version (nothing is created or migrated). */
static enum ddb_status verify_schema(struct pg *h, const char *op, struct ddb_err *err)
{
	PGresult *res = PQexec(h->conn, "SELECT to_regclass('ddbsim_schema') IS NOT NULL");
	enum ddb_status st = DDB_OK;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		st = db_fail(h, res, op, err);
	else if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		st = fail(h, DDB_NOT_FOUND, err, "%s: %s: no ddbsim schema: not a store set up by a "
		          "run (a read-only open creates none)", op, h->where);
	PQclear(res);
	if (st != DDB_OK)
		return st;
	res = PQexec(h->conn, "SELECT role, version FROM ddbsim_schema");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		st = db_fail(h, res, op, err);
	for (size_t i = 0; st == DDB_OK && i < N_ROLE_TABLES; i++) {
		if (!(h->roles & role_tables[i].role))
			continue;
		int version = -1;
		for (int r = 0; r < PQntuples(res); r++)
			if (!strcmp(PQgetvalue(res, r, 0), role_tables[i].name))
				version = atoi(PQgetvalue(res, r, 1));
		if (version < 0)
			st = fail(h, DDB_NOT_FOUND, err, "%s: %s: no %s schema: not a store of this role "
			          "set up by a run", op, h->where, role_tables[i].name);
		else if (version != SCHEMA_VERSION)
			st = fail(h, DDB_INVALID, err, "%s: %s: the %s schema is version %d, this plugin "
			          "reads version %d: a run migrates it, a read-only open does not", op,
			          h->where, role_tables[i].name, version, SCHEMA_VERSION);
	}
	PQclear(res);
	return st;
}

static enum ddb_status undo_doubt(struct pg *h, struct ddb_err *err);

/* Connects now: session settings, schema.  On failure the reason is in err
 * and h->last_error. */
static enum ddb_status connect_now(struct pg *h, const char *op, struct ddb_err *err)
{
	drop_connection(h, NULL);
	PGconn *c = PQconnectdbParams(h->set.kw, h->set.val, h->set.expand_dbname);
	if (!c)
		return fail(h, DDB_INTERNAL, err, "%s: connect: out of memory", op);
	if (PQstatus(c) != CONNECTION_OK) {
		one_line(h->last_error, sizeof h->last_error, PQerrorMessage(c));
		PQfinish(c);
		return fail(h, DDB_UNAVAILABLE, err, "%s: cannot connect: %s", op, h->last_error);
	}
	h->conn = c;
	PQsetNoticeProcessor(c, quiet_notices, NULL);
	snprintf(h->where, sizeof h->where, "%s@%s:%s", PQdb(c), PQhost(c), PQport(c));
	if (PQserverVersion(c) < 110000) {
		enum ddb_status st = fail(h, DDB_INTERNAL, err,
		                          "%s: %s: PostgreSQL %d is too old: 11 or later is needed", op,
		                          h->where, PQserverVersion(c));
		drop_connection(h, NULL);
		return st;
	}
	const char *values[2] = { h->set.sync_commit, h->readonly ? "on" : "off" };
	PGresult *res = PQexecParams(c,
	                             "SELECT set_config('synchronous_commit', $1, false),"
	                             " set_config('client_min_messages', 'warning', false),"
	                             " set_config('default_transaction_read_only', $2, false)",
	                             2, NULL, values, NULL, NULL, 0);
	enum ddb_status st = DDB_OK;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		st = db_fail(h, res, op, err);
	PQclear(res);
	if (st == DDB_OK)
		st = h->readonly ? verify_schema(h, op, err) : ensure_schema(h, op, 0, err);
	if (st == DDB_OK && h->doubt)
		st = undo_doubt(h, err);
	if (st != DDB_OK && h->conn) {
		one_line(h->last_error, sizeof h->last_error, err ? err->msg : "");
		drop_connection(h, NULL);
	}
	return st;
}

/* A server that went away while the connection was idle has sent its
 * goodbye and closed: find that out before sending anything into the dead
 * connection (where the reset that answers would also discard the goodbye
 * and leave the outcome of the statement looking unknown).  Twice: libpq
 * reads the goodbye on one call and sees the end of the connection only on
 * the next.  On a live idle connection each is one read that finds nothing. */
static void drop_if_closed(struct pg *h)
{
	if (h->conn && (!PQconsumeInput(h->conn) || !PQconsumeInput(h->conn) ||
	                PQstatus(h->conn) != CONNECTION_OK))
		drop_connection(h, PQerrorMessage(h->conn));
}

/* A live connection, or UNAVAILABLE: reconnects when the backoff allows. */
static enum ddb_status ensure_conn(struct pg *h, const char *op, struct ddb_err *err)
{
	if (h->conn && PQstatus(h->conn) == CONNECTION_OK)
		return DDB_OK;
	if (h->conn)
		drop_connection(h, PQerrorMessage(h->conn));
	int64_t now = mono_ms();
	if (now < h->next_try_ms && atomic_load(&connections_made) == h->connects_seen)
		return fail(h, DDB_UNAVAILABLE, err, "%s: not connected (%s); next attempt in %lld ms",
		            op, h->last_error[0] ? h->last_error : "connection lost",
		            (long long)(h->next_try_ms - now));
	enum ddb_status st = connect_now(h, op, err);
	if (st == DDB_OK) {
		atomic_fetch_add(&connections_made, 1);
		h->backoff_ms = h->set.backoff_min_ms;
		h->next_try_ms = 0;
		h->last_error[0] = '\0';
	} else {
		h->connects_seen = atomic_load(&connections_made);
		h->next_try_ms = mono_ms() + h->backoff_ms;
		h->backoff_ms = h->backoff_ms * 2 > h->set.backoff_max_ms ? h->set.backoff_max_ms
		                                                          : h->backoff_ms * 2;
	}
	return st;
}

/* Runs prepared statement id with r's parameters, binary results.  The
 * result (PGRES_TUPLES_OK or PGRES_COMMAND_OK) or NULL with the failure in
 * *st and err.  *unknown (if not NULL) is set when the connection broke
 * with the outcome unknown: the statement may have committed.  It did not
 * when the server's first answer was an error (a statement that fails
 * aborts its implicit transaction): a server that shuts down sends FATAL
 * 57P01 before it closes, which libpq's own "server closed the connection"
 * would hide behind it, hence the results are read one by one here. */
static PGresult *run(struct pg *h, enum stmt_id id, const struct pgb_req *r, const char *op,
                     enum ddb_status *st, int *unknown, struct ddb_err *err)
{
	if (unknown)
		*unknown = 0;
	if (r && r->b->oom) {
		*st = fail(h, DDB_INTERNAL, err, "%s: out of memory (or a batch too large)", op);
		return NULL;
	}
	drop_if_closed(h);
	if ((*st = ensure_conn(h, op, err)) != DDB_OK)
		return NULL;
	char name[16];
	snprintf(name, sizeof name, "s%d", (int)id);
	if (!h->prepared[id]) {
		PGresult *p = PQprepare(h->conn, name, stmt_sql[id].sql, 0, NULL);
		if (PQresultStatus(p) != PGRES_COMMAND_OK) {
			/* Nothing was executed: the outcome is known. */
			*st = db_fail(h, p, op, err);
			PQclear(p);
			return NULL;
		}
		PQclear(p);
		h->prepared[id] = 1;
	}
	const char *values[PGB_MAX_PARAMS];
	int formats[PGB_MAX_PARAMS];
	int n = r ? r->n : 0;
	for (int i = 0; i < n; i++) {
		values[i] = r->null[i] ? NULL : (const char *)r->b->p + r->off[i];
		formats[i] = 1;
	}
	if (!PQsendQueryPrepared(h->conn, name, n, n ? values : NULL, r ? r->len : NULL,
	                         n ? formats : NULL, 1)) {
		/* Not sent. */
		*st = db_fail(h, NULL, op, err);
		return NULL;
	}
	PGresult *ok = NULL, *bad = NULL, *x;
	while ((x = PQgetResult(h->conn)) != NULL) {
		ExecStatusType s = PQresultStatus(x);
		if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
			if (!ok && !bad) {
				ok = x;
				continue;
			}
		} else if (!bad) {
			bad = x;
			continue;
		}
		PQclear(x);
	}
	/* The loop ends at ReadyForQuery, or when the connection broke
	 * (after an error result saying so). */
	if (ok && !bad)
		return ok;
	if (unknown)
		*unknown = !PQresultErrorField(bad, PG_DIAG_SQLSTATE) || ok;
	*st = db_fail(h, bad, op, err);
	PQclear(ok);
	PQclear(bad);
	return NULL;
}

/* ---- writes whose outcome a lost connection may hide ------------------- */

/* After a lost connection left write h->op unknown: reconnects (backing
 * off) for up to resolve_timeout_ms and reads the write log.  Returns 1 and
 * the log row (op, kind, outcome) when the write committed, 0 when it did
 * not, -1 when the server did not come back in time (h->doubt is set: the
 * next connection undoes it if it committed). */
static int resolve(struct pg *h, const char *op, PGresult **row, struct ddb_err *err)
{
	*row = NULL;
	int64_t deadline = mono_ms() + h->set.resolve_timeout_ms;
	long wait = h->set.backoff_min_ms;
	for (;;) {
		h->next_try_ms = 0; /* this loop does its own backing off */
		struct ddb_err e = { "" };
		enum ddb_status st = ensure_conn(h, op, &e);
		if (st == DDB_OK) {
			struct pgb_req r;
			pgb_begin(&r, &h->buf);
			pgb_text(&r, h->writer);
			int unknown;
			PGresult *res = run(h, S_WRITE_GET, &r, op, &st, &unknown, &e);
			if (res) {
				if (PQntuples(res) == 1 && pgb_get_int(res, 0, 0) == h->op &&
				    PQgetvalue(res, 0, 1)[0] != 'U') {
					*row = res;
					return 1;
				}
				PQclear(res);
				return 0;
			}
		}
		int64_t now = mono_ms();
		if (now >= deadline) {
			h->doubt = 1;
			h->doubt_op = h->op;
			fail(h, DDB_UNAVAILABLE, err,
			     "%s: connection lost with the outcome unknown, and the server did not come"
			     " back within %ld ms: %s (it will be undone on reconnection if it committed)",
			     op, h->set.resolve_timeout_ms, h->last_error);
			return -1;
		}
		sleep_ms(wait < deadline - now ? wait : (long)(deadline - now));
		wait = wait * 2 > h->set.backoff_max_ms ? h->set.backoff_max_ms : wait * 2;
	}
}

/* At a new connection: undoes the write reported UNAVAILABLE whose outcome
 * was unknown, if it committed after all. */
static enum ddb_status undo_doubt(struct pg *h, struct ddb_err *err)
{
	static const char op[] = "undoing a write of unknown outcome";
	const char *values[2];
	char opbuf[24];
	snprintf(opbuf, sizeof opbuf, "%lld", (long long)h->doubt_op);
	values[0] = h->writer;
	values[1] = opbuf;
	/* Text parameters: the prepared statements are not there yet. */
	PGresult *res = PQexecParams(h->conn, stmt_sql[S_WRITE_UNDO].sql, 2, NULL, values, NULL,
	                             NULL, 0);
	enum ddb_status st = DDB_OK;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		st = db_fail(h, res, op, err);
	} else {
		const char *what = PQgetvalue(res, 0, 0);
		h->doubt = 0;
		if (strcmp(what, "none") != 0 && strcmp(what, "undone") != 0)
			st = fail(h, DDB_INTERNAL, err,
			          "%s: write %lld committed although it was reported UNAVAILABLE, and"
			          " cannot be undone: %s",
			          op, (long long)h->doubt_op, what);
	}
	PQclear(res);
	return st;
}

/* ---- open, close, reset --------------------------------------------------- */

static char *dup_opt(const struct ddb_open_args *args, const char *key, int *oom)
{
	const char *v = ddb_option_get(args, key, NULL);
	if (!v || !*v)
		return NULL;
	char *s = strdup(v);
	if (!s)
		*oom = 1;
	return s;
}

static void pg_close(void *handle)
{
	struct pg *h = handle;
	if (!h)
		return;
	/* Forget this writer's log row (not while a write is in doubt). */
	drop_if_closed(h);
	if (h->conn && PQstatus(h->conn) == CONNECTION_OK && !h->doubt &&
	    (h->roles & DDB_ROLE_REGIONAL)) {
		const char *values[1] = { h->writer };
		PGresult *res = PQexecParams(h->conn, stmt_sql[S_WRITE_FORGET].sql, 1, NULL, values,
		                             NULL, NULL, 0);
		PQclear(res);
	}
	drop_connection(h, NULL);
	free(h->conninfo);
	free(h->host);
	free(h->port);
	free(h->dbname);
	free(h->user);
	free(h->password);
	free(h->buf.p);
	free(h);
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end = NULL;
	errno = 0;
	long long v = s ? strtoll(s, &end, 10) : 0;
	if (!s || end == s || *end != '\0' || errno || v < min || v > max)
		return -1;
	*out = (long)v;
	return 0;
}

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "on", "true", "1" }, *const no[] = { "no", "off",
		                                                                          "false", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* A port setting: a number from 1 to 65535, or a comma-separated list of
 * them (one per host); empty entries take the default. */
static int port_ok(const char *s)
{
	for (;;) {
		const char *end = strchr(s, ',');
		size_t n = end ? (size_t)(end - s) : strlen(s);
		if (n > 0) {
			char num[8];
			long v;
			if (n >= sizeof num)
				return 0;
			memcpy(num, s, n);
			num[n] = '\0';
			if (parse_long(num, 1, 65535, &v) != 0)
				return 0;
		}
		if (!end)
			return 1;
		s = end + 1;
	}
}

/* Reads and checks the options, before anything connects. */
static enum ddb_status read_options(struct pg *h, const struct ddb_open_args *args,
                                    struct ddb_err *err)
{
	struct settings *s = &h->set;
	int oom = 0;
	h->conninfo = dup_opt(args, "conninfo", &oom);
	h->host = dup_opt(args, "host", &oom);
	h->port = dup_opt(args, "port", &oom);
	h->dbname = dup_opt(args, "dbname", &oom);
	h->user = dup_opt(args, "user", &oom);
	h->password = dup_opt(args, "password", &oom);
	if (oom)
		return fail(h, DDB_INTERNAL, err, "open: out of memory");

	int conninfo_has_db = 0;
	if (h->conninfo) {
		char *msg = NULL;
		PQconninfoOption *opts = PQconninfoParse(h->conninfo, &msg);
		if (!opts) {
			char line[DDB_ERR_MAX];
			one_line(line, sizeof line, msg ? msg : "out of memory");
			PQfreemem(msg);
			return fail(h, DDB_INVALID, err, "open: option conninfo: %s", line);
		}
		int bad_port = 0;
		for (PQconninfoOption *o = opts; o->keyword; o++) {
			if (!strcmp(o->keyword, "dbname") && o->val && *o->val)
				conninfo_has_db = 1;
			if (!strcmp(o->keyword, "port") && o->val && !port_ok(o->val))
				bad_port = 1;
		}
		PQconninfoFree(opts);
		if (bad_port)
			return fail(h, DDB_INVALID, err,
			            "open: option conninfo: a port is not a number from 1 to 65535");
	}
	long v;
	if (h->port && !port_ok(h->port))
		return fail(h, DDB_INVALID, err, "open: option port = '%s': expected 1 to 65535", h->port);

	const char *t = ddb_option_get(args, "connect_timeout", "5");
	if (parse_long(t, 0, 3600, &v) != 0)
		return fail(h, DDB_INVALID, err,
		            "open: option connect_timeout = '%s': expected seconds, 0 to 3600", t ? t : "");
	snprintf(s->connect_timeout, sizeof s->connect_timeout, "%ld", v);

	static const char *const levels[] = { "on", "off", "local", "remote_write", "remote_apply" };
	const char *sc = ddb_option_get(args, "synchronous_commit", "on");
	s->sync_commit[0] = '\0';
	for (size_t i = 0; sc && i < sizeof levels / sizeof levels[0]; i++)
		if (!strcasecmp(sc, levels[i]))
			snprintf(s->sync_commit, sizeof s->sync_commit, "%s", levels[i]);
	if (!s->sync_commit[0])
		return fail(h, DDB_INVALID, err,
		            "open: option synchronous_commit = '%s': expected on, off, local,"
		            " remote_write or remote_apply",
		            sc ? sc : "");

	const char *cd = ddb_option_get(args, "create_database", "yes");
	if (!cd || parse_bool(cd, &s->create_database) != 0)
		return fail(h, DDB_INVALID, err, "open: option create_database = '%s': expected yes or no",
		            cd ? cd : "");

	const struct {
		const char *key, *def;
		long max;
		long *out;
	} ms[] = {
		{ "resolve_timeout_ms", "30000", 86400000L, &s->resolve_timeout_ms },
		{ "backoff_min_ms", "50", 3600000L, &s->backoff_min_ms },
		{ "backoff_max_ms", "2000", 3600000L, &s->backoff_max_ms },
	};
	for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
		const char *val = ddb_option_get(args, ms[i].key, ms[i].def);
		if (parse_long(val, 0, ms[i].max, ms[i].out) != 0)
			return fail(h, DDB_INVALID, err,
			            "open: option %s = '%s': expected milliseconds, 0 to %ld", ms[i].key,
			            val ? val : "", ms[i].max);
	}
	if (s->backoff_min_ms < 1)
		s->backoff_min_ms = 1;
	if (s->backoff_max_ms < s->backoff_min_ms)
		s->backoff_max_ms = s->backoff_min_ms;
	h->backoff_ms = s->backoff_min_ms;

	const char *app = ddb_option_get(args, "application_name", NULL);
	snprintf(s->application_name, sizeof s->application_name, "%s%s",
	         app ? "" : "ddbsim-", app ? app : h->node);

	/* Later entries win over the connection string, which is expanded
	 * from the first dbname entry. */
	int n = 0;
	s->expand_dbname = 0;
	if (h->conninfo) {
		s->kw[n] = "dbname", s->val[n++] = h->conninfo;
		s->expand_dbname = 1;
	}
	if (h->host)
		s->kw[n] = "host", s->val[n++] = h->host;
	if (h->port)
		s->kw[n] = "port", s->val[n++] = h->port;
	if (h->user)
		s->kw[n] = "user", s->val[n++] = h->user;
	if (h->password)
		s->kw[n] = "password", s->val[n++] = h->password;
	if (h->dbname)
		s->kw[n] = "dbname", s->val[n++] = h->dbname;
	else if (!conninfo_has_db)
		s->kw[n] = "dbname", s->val[n++] = h->node;
	s->kw[n] = "connect_timeout", s->val[n++] = s->connect_timeout;
	s->kw[n] = "application_name", s->val[n++] = s->application_name;
	s->kw[n] = "client_encoding", s->val[n++] = "UTF8";
	s->kw[n] = NULL, s->val[n] = NULL;
	return DDB_OK;
}

/* At open, when the first connection failed: asks the server, on its
 * maintenance database, whether the node's database is there, and with
 * create, creates it if not.  1: it is there (now); 0: it is not; -1: no
 * answer. */
static int database_there(struct pg *h, int create)
{
	/* The database libpq would have used. */
	PGconn *probe = PQconnectStartParams(h->set.kw, h->set.val, h->set.expand_dbname);
	if (!probe)
		return -1;
	char db[256];
	snprintf(db, sizeof db, "%s", PQdb(probe) ? PQdb(probe) : "");
	PQfinish(probe);
	if (!db[0] || !strcmp(db, "postgres"))
		return -1;

	const char *kw[20], *val[20];
	int n = 0;
	for (; h->set.kw[n]; n++)
		kw[n] = h->set.kw[n], val[n] = h->set.val[n];
	kw[n] = "dbname", val[n++] = "postgres";
	kw[n] = NULL, val[n] = NULL;
	PGconn *c = PQconnectdbParams(kw, val, h->set.expand_dbname);
	int exists = -1;
	char *ident = NULL;
	if (c && PQstatus(c) == CONNECTION_OK) {
		PQsetNoticeProcessor(c, quiet_notices, NULL);
		ident = PQescapeIdentifier(c, db, strlen(db));
	}
	/* Instances opening at once may all try: whatever the error, what
	 * counts is whether the database is there afterwards. */
	for (int tries = 0; ident && tries < 10; tries++) {
		const char *values[1] = { db };
		PGresult *res = PQexecParams(c, "SELECT 1 FROM pg_database WHERE datname = $1", 1, NULL,
		                             values, NULL, NULL, 0);
		int failed = PQresultStatus(res) != PGRES_TUPLES_OK;
		exists = failed ? -1 : PQntuples(res) > 0;
		PQclear(res);
		if (exists != 0 || !create)
			break;
		/* An identifier cannot be a parameter: quoted by libpq. */
		char sql[600];
		snprintf(sql, sizeof sql, "CREATE DATABASE %s", ident);
		res = PQexec(c, sql);
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		int raced = state && (!strcmp(state, "42P04") || /* created meanwhile */
		                      !strcmp(state, "23505") || /* the same, seen in the catalog */
		                      !strcmp(state, "55006"));  /* the template is busy */
		int refused = PQresultStatus(res) != PGRES_COMMAND_OK && !raced;
		PQclear(res);
		if (refused) {
			exists = -1; /* no CREATEDB privilege, say: the open reports why it failed */
			break;
		}
		if (raced)
			sleep_ms(50 + 50 * tries);
	}
	PQfreemem(ident);
	PQfinish(c);
	return exists;
}

static enum ddb_status pg_open(const struct ddb_open_args *args, void **handle,
                               struct ddb_err *err)
{
	static unsigned instances;
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

	struct pg *h = calloc(1, sizeof *h);
	if (!h)
		return fail(NULL, DDB_INTERNAL, err, "%s: open: out of memory", args->node);
	snprintf(h->node, sizeof h->node, "%s", args->node);
	h->roles = args->roles;
	h->readonly = (args->flags & DDB_OPEN_READONLY) != 0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(h->writer, sizeof h->writer, "%ld-%lld.%09ld-%u", (long)getpid(),
	         (long long)ts.tv_sec, ts.tv_nsec, ++instances);
	enum ddb_status st = read_options(h, args, err);
	if (st == DDB_OK) {
		st = connect_now(h, "open", err);
		if (st == DDB_UNAVAILABLE && h->readonly && database_there(h, 0) == 0)
			st = fail(h, DDB_NOT_FOUND, err, "open read-only: its database does not exist "
			          "(a read-only open creates none): %s", h->last_error);
		else if (st == DDB_UNAVAILABLE && !h->readonly && h->set.create_database &&
		         database_there(h, 1) == 1)
			st = connect_now(h, "open", err);
	}
	if (st != DDB_OK) {
		pg_close(h);
		return st;
	}
	*handle = h;
	return DDB_OK;
}

/* Idempotent: a wipe. */
static enum ddb_status pg_reset(void *handle, struct ddb_err *err)
{
	struct pg *h = handle;
	if (h && h->readonly)
		return fail(h, DDB_INVALID, err, "reset: opened read-only");
	drop_if_closed(h);
	enum ddb_status st = ensure_conn(h, "reset", err);
	if (st == DDB_OK)
		st = ensure_schema(h, "reset", 1, err);
	return st;
}

/* ---- regional: products and stock ---------------------------------------- */

static enum ddb_status pg_upsert_product(void *handle, const struct ddb_product *p,
                                         int64_t now_us, struct ddb_err *err)
{
	static const char op[] = "upsert_product";
	struct pg *h = handle;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (!p)
		return fail(h, DDB_INVALID, err, "%s: no product", op);
	const char *why = product_invalid(p);
	if (why) {
		int l = ddb_field_len(p->sku, sizeof p->sku);
		return fail(h, DDB_INVALID, err, "%s: %.*s: %s", op, l > 0 ? l : 0, p->sku, why);
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
	PGresult *res = run(h, S_UPSERT_PRODUCT, &r, op, &st, NULL, err);
	if (!res)
		return st;
	int applied = (int)pgb_get_int(res, 0, 0);
	PQclear(res);
	if (!applied)
		return fail(h, DDB_DUPLICATE, err,
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
		return fail(h, DDB_INVALID, err, "%s: empty, unterminated or non-UTF-8 sku", op);
	if (quantity < 1)
		return fail(h, DDB_INVALID, err, "%s: %s: quantity %lld must be at least 1", op, sku,
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
	PGresult *res = run(h, S_RESTOCK, &r, op, &st, &unknown, err);
	if (!res && unknown) {
		PGresult *row;
		int committed = resolve(h, op, &row, err);
		PQclear(row);
		if (committed == 1) {
			if (err)
				err->msg[0] = '\0';
			return DDB_OK;
		}
		if (committed == 0)
			fail(h, DDB_UNAVAILABLE, err, "%s: %s: connection lost; not applied", op, sku);
		return DDB_UNAVAILABLE;
	}
	if (!res)
		return st;
	int changed = (int)pgb_get_int(res, 0, 0), exists = (int)pgb_get_int(res, 0, 2);
	PQclear(res);
	if (changed)
		return DDB_OK;
	if (!exists)
		return fail(h, DDB_NOT_FOUND, err, "%s: %s: no such product", op, sku);
	return fail(h, DDB_INVALID, err, "%s: %s: stock would exceed the int64 range", op, sku);
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
		return fail(h, DDB_INTERNAL, err, "place_orders: %zu results for %zu orders",
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
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (n == 0)
		return DDB_OK;
	if (!orders || !results)
		return fail(h, DDB_INVALID, err, "%s: no orders or no results array", op);
	if (err)
		err->msg[0] = '\0';

	size_t n_valid = 0;
	for (size_t i = 0; i < n; i++) {
		const char *why = order_invalid(&orders[i]);
		if (why) {
			/* Say why the first invalid order is invalid, even
			 * though the call itself succeeds. */
			if (err && !err->msg[0]) {
				int l = ddb_field_len(orders[i].id, sizeof orders[i].id);
				fail(h, DDB_INVALID, err, "%s: order %zu (%.*s): %s", op, i, l > 0 ? l : 0,
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
	PGresult *res = run(h, S_PLACE, &r, op, &st, &unknown, err);
	if (res) {
		st = spread_outcome(h, PQgetvalue(res, 0, 0), n_valid, results, n, err);
		PQclear(res);
	} else if (unknown) {
		PGresult *row;
		int committed = resolve(h, op, &row, err);
		if (committed == 1) {
			if (err)
				err->msg[0] = '\0';
			st = spread_outcome(h, PQgetvalue(row, 0, 2), n_valid, results, n, err);
			PQclear(row);
		} else {
			if (committed == 0)
				fail(h, DDB_UNAVAILABLE, err, "%s: connection lost; the batch did not commit",
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
		return fail(h, DDB_INTERNAL, err, "outbox: event %lld: a stored value does not fit",
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
		return fail(h, DDB_INVALID, err, "%s: no events array or count", op);
	if (want_state < DDB_OUTBOX_NEW || want_state > DDB_OUTBOX_APPLIED)
		return fail(h, DDB_INVALID, err, "%s: unknown state %d", op, want_state);
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
	PGresult *res = run(h, id, &r, op, &st, NULL, err);
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
	if (state < DDB_OUTBOX_NEW || state > DDB_OUTBOX_APPLIED)
		return fail(h, DDB_INVALID, err, "%s: unknown state %d", op, state);
	if (n == 0)
		return DDB_OK;
	if (!seqs)
		return fail(h, DDB_INVALID, err, "%s: no seqs array", op);
	struct pgb_req r;
	pgb_begin(&r, &h->buf);
	pgb_i32(&r, state);
	pgb_array(&r, PGB_OID_INT8, n);
	for (size_t i = 0; i < n; i++)
		pgb_elem_i64(&r, seqs[i]);
	pgb_end(&r);
	/* Idempotent: states only go up; a repeat changes nothing. */
	enum ddb_status st;
	PGresult *res = run(h, S_OUTBOX_MARK, &r, op, &st, NULL, err);
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
	PGresult *res = run(h, S_OUTBOX_REQUEUE, NULL, op, &st, NULL, err);
	PQclear(res);
	return res ? DDB_OK : st;
}

/* ---- regional: customers ------------------------------------------------- */

static enum ddb_status pg_put_customers(void *handle, const struct ddb_customer *customers,
                                        size_t n, enum ddb_status *results, struct ddb_err *err)
{
	static const char op[] = "put_customers";
	struct pg *h = handle;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (n == 0)
		return DDB_OK;
	if (!customers || !results)
		return fail(h, DDB_INVALID, err, "%s: no customers or no results array", op);
	if (err)
		err->msg[0] = '\0';
	size_t n_valid = 0;
	for (size_t i = 0; i < n; i++) {
		const char *why = customer_invalid(&customers[i]);
		if (why) {
			if (err && !err->msg[0]) {
				int l = ddb_field_len(customers[i].id, sizeof customers[i].id);
				fail(h, DDB_INVALID, err, "%s: customer %zu (%.*s): %s", op, i,
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
	PGresult *res = run(h, S_PUT_CUSTOMERS, &r, op, &st, NULL, err);
	if (res) {
		const char *outcome = PQgetvalue(res, 0, 0);
		if (strlen(outcome) != n_valid) {
			st = fail(h, DDB_INTERNAL, err, "%s: %zu results for %zu records", op,
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
		return fail(h, DDB_INVALID, err, "%s: no id or no record to fill", op);
	int len = text_len(id, DDB_NAME_MAX);
	if (len <= 0)
		return fail(h, DDB_INVALID, err, "%s: empty, unterminated or non-UTF-8 id", op);
	struct pgb_req r;
	pgb_begin(&r, &h->buf);
	pgb_text(&r, id);
	/* A read: idempotent. */
	enum ddb_status st;
	PGresult *res = run(h, S_GET_CUSTOMER, &r, op, &st, NULL, err);
	if (!res)
		return st;
	if (PQntuples(res) == 0)
		st = fail(h, DDB_NOT_FOUND, err, "%s: %s: no such customer", op, id);
	else if (fill_customer(res, 0, out))
		st = fail(h, DDB_INTERNAL, err, "%s: %s: a stored value does not fit", op, id);
	PQclear(res);
	return st;
}

static enum ddb_status pg_find_customers(void *handle, const struct ddb_customer_filter *filter,
                                         void (*emit)(void *ctx, const struct ddb_customer *c),
                                         void *ctx, struct ddb_err *err)
{
	static const char op[] = "find_customers";
	struct pg *h = handle;
	if (!need_role(h, DDB_ROLE_REGIONAL, op, err))
		return DDB_INVALID;
	if (!filter || !emit)
		return fail(h, DDB_INVALID, err, "%s: no filter or no emit function", op);
	if ((filter->city && text_len(filter->city, DDB_TITLE_MAX) < 0) ||
	    (filter->state && text_len(filter->state, DDB_NAME_MAX) < 0))
		return fail(h, DDB_INVALID, err, "%s: city or state too long or not UTF-8", op);
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
		PGresult *res = run(h, S_FIND_CUSTOMERS, &r, op, &st, NULL, err);
		if (!res)
			return st;
		int rows = PQntuples(res);
		for (int i = 0; i < rows; i++) {
			struct ddb_customer c;
			if (fill_customer(res, i, &c)) {
				PQclear(res);
				return fail(h, DDB_INTERNAL, err, "%s: a stored value does not fit", op);
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
	if (!need_role(h, DDB_ROLE_CENTRAL, op, err))
		return DDB_INVALID;
	if (n == 0)
		return DDB_OK;
	if (!events)
		return fail(h, DDB_INVALID, err, "%s: no events array", op);
	/* All or nothing: one bad event fails the call before anything is
	 * sent. */
	size_t n_orders = 0, n_products = 0;
	for (size_t i = 0; i < n; i++) {
		const char *why;
		if (events[i].kind == DDB_EVENT_ORDER) {
			why = order_invalid(&events[i].order);
			n_orders++;
		} else if (events[i].kind == DDB_EVENT_PRODUCT) {
			why = product_invalid(&events[i].product);
			n_products++;
		} else {
			why = "unknown event kind";
		}
		if (why)
			return fail(h, DDB_INVALID, err, "%s: event %zu (seq %lld): %s", op, i,
			            (long long)events[i].seq, why);
	}
	struct pgb_req r;
	pgb_begin(&r, &h->buf);
	order_arrays(&r, events, n, sizeof *events, n_orders, event_order);
	pgb_i64(&r, applied_at_us);
	product_arrays(&r, events, n, sizeof *events, n_products, event_product);
	/* Idempotent by key: a replayed batch changes nothing. */
	enum ddb_status st;
	PGresult *res = run(h, S_APPLY, &r, op, &st, NULL, err);
	PQclear(res);
	return res ? DDB_OK : st;
}

static enum ddb_status pg_sales_report(void *handle, int by,
                                       void (*emit)(void *ctx, const struct ddb_sales *line),
                                       void *ctx, struct ddb_err *err)
{
	static const char op[] = "sales_report";
	struct pg *h = handle;
	if (!need_role(h, DDB_ROLE_CENTRAL, op, err))
		return DDB_INVALID;
	if (!emit)
		return fail(h, DDB_INVALID, err, "%s: no emit function", op);
	enum stmt_id id = by == DDB_SALES_BY_REGION    ? S_SALES_BY_REGION
	                  : by == DDB_SALES_BY_PRODUCT ? S_SALES_BY_SKU
	                                               : S_COUNT;
	if (id == S_COUNT)
		return fail(h, DDB_INVALID, err, "%s: unknown grouping %d", op, by);
	/* A read: idempotent. */
	enum ddb_status st;
	PGresult *res = run(h, id, NULL, op, &st, NULL, err);
	if (!res)
		return st;
	int rows = PQntuples(res);
	st = DDB_OK;
	for (int i = 0; i < rows; i++) {
		struct ddb_sales line;
		if (pgb_get_text(res, i, 0, line.key, sizeof line.key)) {
			st = fail(h, DDB_INTERNAL, err, "%s: a key is longer than %d bytes", op,
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
	if (!need_role(h, DDB_ROLE_DOCUMENTS, op, err))
		return DDB_INVALID;
	if (n == 0)
		return DDB_OK;
	if (!orders)
		return fail(h, DDB_INVALID, err, "%s: no orders array", op);
	for (size_t i = 0; i < n; i++) {
		const char *why = order_invalid(&orders[i]);
		if (why)
			return fail(h, DDB_INVALID, err, "%s: order %zu: %s", op, i, why);
	}
	struct pgb_req r;
	pgb_begin(&r, &h->buf);
	order_arrays(&r, orders, n, sizeof *orders, n, plain_order);
	pgb_i64(&r, logged_at_us);
	/* Idempotent: an upsert by order id. */
	enum ddb_status st;
	PGresult *res = run(h, S_LOG_UPSERT, &r, op, &st, NULL, err);
	PQclear(res);
	return res ? DDB_OK : st;
}

static enum ddb_status pg_put_components(void *handle, const struct ddb_product *products,
                                         size_t n, struct ddb_err *err)
{
	static const char op[] = "put_components";
	struct pg *h = handle;
	if (!need_role(h, DDB_ROLE_DOCUMENTS, op, err))
		return DDB_INVALID;
	if (n == 0)
		return DDB_OK;
	if (!products)
		return fail(h, DDB_INVALID, err, "%s: no products array", op);
	for (size_t i = 0; i < n; i++) {
		const char *why = product_invalid(&products[i]);
		if (why)
			return fail(h, DDB_INVALID, err, "%s: product %zu: %s", op, i, why);
	}
	struct pgb_req r;
	pgb_begin(&r, &h->buf);
	product_arrays(&r, products, n, sizeof *products, n, plain_product);
	/* Idempotent: an upsert by sku that keeps the highest version. */
	enum ddb_status st;
	PGresult *res = run(h, S_COMPONENT_DOC_UPSERT, &r, op, &st, NULL, err);
	PQclear(res);
	return res ? DDB_OK : st;
}

/* ---- scans ----------------------------------------------------------------- */

static enum ddb_status pg_scan_open(void *handle, int dataset, const char *region,
                                    void **cursor, struct ddb_err *err)
{
	static const char op[] = "scan_open";
	struct pg *h = handle;
	if (!cursor)
		return fail(h, DDB_INVALID, err, "%s: no cursor pointer", op);
	*cursor = NULL;
	if (dataset < 1 || dataset >= N_DATASETS)
		return fail(h, DDB_INVALID, err, "%s: unknown dataset %d", op, dataset);
	if (!need_role(h, scan_stmt[dataset].role, op, err))
		return DDB_INVALID;
	struct pg_cursor *c = calloc(1, sizeof *c);
	if (!c)
		return fail(h, DDB_INTERNAL, err, "%s: out of memory", op);
	c->h = h;
	c->dataset = dataset;
	c->id = scan_stmt[dataset].all;
	c->last_seq = INT64_MIN;
	/* The region filter applies to the datasets of orders; the others
	 * have no region and ignore it. */
	if (region && scan_stmt[dataset].by_region != S_COUNT) {
		if (text_len(region, DDB_NAME_MAX) < 0) {
			free(c);
			return fail(h, DDB_INVALID, err, "%s: region longer than %d bytes or not UTF-8",
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
	c->page = run(h, c->id, &r, "scan", &st, NULL, err);
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
		return fail(c ? c->h : NULL, DDB_INVALID, err, "scan_next: no cursor or row");
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
		bad = pgb_get_text(res, i, 0, p->sku, sizeof p->sku) | pgb_get_text(res, i, 1, p->name, sizeof p->name);
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
		return fail(h, DDB_INTERNAL, err, "scan: dataset %d: a stored value does not fit",
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
	.open = pg_open,
	.close = pg_close,
	.reset = pg_reset,
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
	.caps = ALL_ROLES,
	.storage = &postgres_ops,
	.settings = option_keys,
};

const struct ddb_plugin *ddbsim_plugin_entry(void)
{
	return &postgres_plugin;
}
