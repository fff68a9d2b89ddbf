/*
 * pg_stmt.c - the SQL of every statement of the PostgreSQL plugin, by id
 * (enum stmt_id, pg_conn.h): prepared once per connection by pgc_run(),
 * with binary parameters ($n, cast to their type) and binary results.  The
 * operations in postgres.c say which they run and read the columns in the
 * order given here.  The schema they work on is in schema.sql.
 */
#include "pg_conn.h"

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

const struct pg_stmt pg_stmts[S_COUNT] = {
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
