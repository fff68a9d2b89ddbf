-- statements.sql - the SQL of every statement of the PostgreSQL storage
-- plugin.  At build time stmt2c.awk (plugins/storage) turns it into
-- pg_statements.h: enum stmt_id (S_NAME) and the table pg_conn.c prepares
-- from, once per connection, the statements of the roles served.  Each
-- statement starts at a line "-- statement: NAME role: ROLE" (ROLE:
-- regional, central, documents); its lines are joined with one space.
-- Parameters are $n, cast to their type, sent binary; results come binary,
-- and the operations in postgres.c read the columns in the order given here.
-- The schema they work on is in schema.sql.
--
-- Column lists that come back: an outbox event as fill_event() reads it
-- (components only for products), a customer as fill_customer() reads it.
-- translate() with the two alphabets is ASCII case folding only, as
-- SQLite's NOCASE.  The order arrays of APPLY and LOG_UPSERT are $1..$7.

-- statement: UPSERT_PRODUCT role: regional
-- Idempotent by (sku, version): a second call with the same version changes nothing and
-- says DUPLICATE.
SELECT ddbsim_upsert_product($1::text, $2::int8, $3::text, $4::text, $5::int8, $6::int8,
    $7::text[], $8::int8[])

-- statement: RESTOCK role: regional
-- Not idempotent: recorded in ddbsim_writes.  The guard keeps stock and received within
-- int64: no row changed means unknown sku or overflow, told apart by the last column.
WITH u AS (UPDATE inventory SET stock = stock + $1::int8, received = received + $1::int8
        WHERE sku = $2::text AND stock <= 9223372036854775807 - $1::int8
        AND received <= 9223372036854775807 - $1::int8 RETURNING sku),
    w AS (INSERT INTO ddbsim_writes (writer, op, kind, outcome, sku, quantity)
        SELECT $3::text, $4::int8, 'R', 'O', $2::text, $1::int8 FROM u
        ON CONFLICT (writer) DO UPDATE SET op = excluded.op, kind = excluded.kind,
        outcome = excluded.outcome, seqs = '{}', sku = excluded.sku,
        quantity = excluded.quantity RETURNING 1)
SELECT (SELECT count(*) FROM u)::int8, (SELECT count(*) FROM w)::int8,
    EXISTS (SELECT 1 FROM inventory WHERE sku = $2::text)

-- statement: PLACE role: regional
-- Not idempotent in its results (a retry says DUPLICATE): recorded in ddbsim_writes.
SELECT ddbsim_place_orders($1::text, $2::text, $3::int8, $4::text[], $5::text[], $6::text[],
    $7::text[], $8::int8[], $9::int8[], $10::int8[])

-- statement: OUTBOX_READ_PENDING role: regional
-- "state < 2" lets the planner use the partial index outbox_pending.
SELECT seq, origin, origin || ':' || seq, kind, state, created_at_us, order_id, region,
    customer, sku, quantity, unit_price_cents, placed_at_us, name, price_cents, version,
    CASE WHEN kind = 2 THEN ARRAY(SELECT e->>'sku' FROM jsonb_array_elements(components)
        WITH ORDINALITY AS t(e, n) ORDER BY n) END,
    CASE WHEN kind = 2 THEN ARRAY(SELECT (e->>'quantity')::int8
        FROM jsonb_array_elements(components) WITH ORDINALITY AS t(e, n) ORDER BY n) END
FROM outbox WHERE state = $1::int4 AND state < 2 AND seq > $2::int8
ORDER BY state, seq LIMIT $3::int8

-- statement: OUTBOX_READ_APPLIED role: regional
SELECT seq, origin, origin || ':' || seq, kind, state, created_at_us, order_id, region,
    customer, sku, quantity, unit_price_cents, placed_at_us, name, price_cents, version,
    CASE WHEN kind = 2 THEN ARRAY(SELECT e->>'sku' FROM jsonb_array_elements(components)
        WITH ORDINALITY AS t(e, n) ORDER BY n) END,
    CASE WHEN kind = 2 THEN ARRAY(SELECT (e->>'quantity')::int8
        FROM jsonb_array_elements(components) WITH ORDINALITY AS t(e, n) ORDER BY n) END
FROM outbox WHERE state = 2 AND seq > $1::int8
ORDER BY seq LIMIT $2::int8

-- statement: OUTBOX_MARK role: regional
-- Idempotent: a state never goes down, marking twice changes nothing.
UPDATE outbox SET state = $1::int4
WHERE seq = ANY ($2::int8[]) AND state < $1::int4

-- statement: OUTBOX_REQUEUE role: regional
-- Idempotent: PUBLISHED to NEW, again and again.
UPDATE outbox SET state = 0
WHERE state = 1 AND state < 2

-- statement: PUT_CUSTOMERS role: regional
-- Idempotent by (id, version): replayed records change nothing.
SELECT ddbsim_put_customers($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[],
    $6::text[], $7::text[], $8::text[], $9::int8[], $10::bool[], $11::int8[])

-- statement: GET_CUSTOMER role: regional
SELECT id, unique_id, zip_prefix, city, state, name, email, home, version, deleted,
    updated_at_us
FROM customers
WHERE id = $1::text

-- statement: FIND_CUSTOMERS role: regional
SELECT id, unique_id, zip_prefix, city, state, name, email, home, version, deleted,
    updated_at_us
FROM customers
WHERE NOT deleted AND zip_prefix BETWEEN $1::int8 AND $2::int8
    AND ($3::text IS NULL
        OR translate(city, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
        = translate($3::text, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'))
    AND ($4::text IS NULL
        OR translate(state, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
        = translate($4::text, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'))
    AND id > $5::text
ORDER BY id LIMIT $6::int8

-- statement: WRITE_GET role: regional
SELECT op, kind, outcome
FROM ddbsim_writes
WHERE writer = $1::text

-- statement: WRITE_UNDO role: regional
SELECT ddbsim_undo_write($1::text, $2::int8)

-- statement: WRITE_FORGET role: regional
DELETE FROM ddbsim_writes
WHERE writer = $1::text

-- statement: SCAN_PRODUCTS role: regional
SELECT p.sku, p.name, p.price_cents, p.version,
    ARRAY(SELECT c.component_sku FROM product_components AS c WHERE c.sku = p.sku
        ORDER BY c.pos),
    ARRAY(SELECT c.quantity FROM product_components AS c WHERE c.sku = p.sku
        ORDER BY c.pos)
FROM products AS p
WHERE p.sku > $1::text
ORDER BY p.sku LIMIT $2::int8

-- statement: SCAN_INVENTORY role: regional
-- sold from the orders themselves.
SELECT i.sku, i.stock, i.received, coalesce(s.sold, 0)::int8
FROM inventory AS i
LEFT JOIN (SELECT sku, sum(quantity) AS sold FROM orders WHERE sku > $1::text
    GROUP BY sku) AS s ON s.sku = i.sku
WHERE i.sku > $1::text
ORDER BY i.sku LIMIT $2::int8

-- statement: SCAN_ORDERS role: regional
SELECT id, region, customer, sku, quantity, unit_price_cents, placed_at_us
FROM orders WHERE id > $1::text
ORDER BY id LIMIT $2::int8

-- statement: SCAN_ORDERS_REGION role: regional
SELECT id, region, customer, sku, quantity, unit_price_cents, placed_at_us
FROM orders WHERE region = $3::text AND id > $1::text
ORDER BY id LIMIT $2::int8

-- statement: SCAN_OUTBOX role: regional
SELECT seq, origin, origin || ':' || seq, kind, state, created_at_us, order_id, region,
    customer, sku, quantity, unit_price_cents, placed_at_us, name, price_cents, version,
    CASE WHEN kind = 2 THEN ARRAY(SELECT e->>'sku' FROM jsonb_array_elements(components)
        WITH ORDINALITY AS t(e, n) ORDER BY n) END,
    CASE WHEN kind = 2 THEN ARRAY(SELECT (e->>'quantity')::int8
        FROM jsonb_array_elements(components) WITH ORDINALITY AS t(e, n) ORDER BY n) END
FROM outbox WHERE seq > $1::int8
ORDER BY seq LIMIT $2::int8

-- statement: SCAN_CUSTOMERS role: regional
SELECT id, unique_id, zip_prefix, city, state, name, email, home, version, deleted,
    updated_at_us
FROM customers
WHERE id > $1::text
ORDER BY id LIMIT $2::int8

-- statement: APPLY role: central
-- Idempotent: an order present, or a product version not higher than the stored one,
-- changes nothing.  Within a batch the first copy of an order counts, and the first copy
-- of the highest version of a product, as when applied one by one.
WITH o AS (INSERT INTO central_orders (id, region, customer, sku, quantity,
            unit_price_cents, placed_at_us, applied_at_us)
        SELECT u.id, u.region, u.customer, u.sku, u.quantity, u.price, u.placed, $8::int8
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[],
            $7::int8[]) WITH ORDINALITY AS u(id, region, customer, sku, quantity, price,
            placed, n)
        ORDER BY u.n ON CONFLICT (id) DO NOTHING RETURNING 1),
    c AS (SELECT u.owner, jsonb_agg(jsonb_build_object('sku', u.sku, 'quantity', u.quantity)
            ORDER BY u.n) AS components
        FROM unnest($13::int4[], $14::text[], $15::int8[])
            WITH ORDINALITY AS u(owner, sku, quantity, n)
        GROUP BY u.owner),
    p AS (SELECT DISTINCT ON (u.sku) u.sku, u.name, u.price, u.version, u.n
        FROM unnest($9::text[], $10::text[], $11::int8[], $12::int8[])
            WITH ORDINALITY AS u(sku, name, price, version, n)
        ORDER BY u.sku, u.version DESC, u.n),
    q AS (INSERT INTO central_products (sku, name, price_cents, version, components)
        SELECT p.sku, p.name, p.price, p.version, coalesce(c.components, '[]'::jsonb)
        FROM p LEFT JOIN c ON c.owner = p.n
        ON CONFLICT (sku) DO UPDATE SET name = excluded.name,
            price_cents = excluded.price_cents, version = excluded.version,
            components = excluded.components
        WHERE excluded.version > central_products.version RETURNING 1)
SELECT (SELECT count(*) FROM o)::int8, (SELECT count(*) FROM q)::int8

-- statement: SALES_BY_REGION role: central
SELECT region, count(*)::int8, sum(quantity)::int8,
    sum(quantity::numeric * unit_price_cents)::int8
FROM central_orders GROUP BY region ORDER BY region

-- statement: SALES_BY_SKU role: central
SELECT sku, count(*)::int8, sum(quantity)::int8,
    sum(quantity::numeric * unit_price_cents)::int8
FROM central_orders GROUP BY sku ORDER BY sku

-- statement: SCAN_CENTRAL_PRODUCTS role: central
SELECT sku, name, price_cents, version,
    ARRAY(SELECT e->>'sku' FROM jsonb_array_elements(components)
        WITH ORDINALITY AS t(e, n) ORDER BY n),
    ARRAY(SELECT (e->>'quantity')::int8 FROM jsonb_array_elements(components)
        WITH ORDINALITY AS t(e, n) ORDER BY n)
FROM central_products
WHERE sku > $1::text
ORDER BY sku LIMIT $2::int8

-- statement: SCAN_CENTRAL_ORDERS role: central
SELECT id, region, customer, sku, quantity, unit_price_cents, placed_at_us, applied_at_us
FROM central_orders
WHERE id > $1::text
ORDER BY id LIMIT $2::int8

-- statement: SCAN_CENTRAL_ORDERS_REGION role: central
SELECT id, region, customer, sku, quantity, unit_price_cents, placed_at_us, applied_at_us
FROM central_orders
WHERE region = $3::text AND id > $1::text
ORDER BY id LIMIT $2::int8

-- statement: LOG_UPSERT role: documents
-- Idempotent upsert by order id; within a batch the last copy wins, as when written one by
-- one.
INSERT INTO order_product (order_id, region, doc)
SELECT DISTINCT ON (u.id) u.id, u.region, jsonb_build_object('log_id', 'log:' || u.id,
    'order_id', u.id, 'region', u.region, 'customer', u.customer, 'sku', u.sku,
    'quantity', u.quantity, 'unit_price_cents', u.price, 'placed_at_us', u.placed,
    'logged_at_us', $8::int8)
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[],
    $7::int8[]) WITH ORDINALITY AS u(id, region, customer, sku, quantity, price, placed, n)
ORDER BY u.id, u.n DESC
ON CONFLICT (order_id) DO UPDATE SET region = excluded.region, doc = excluded.doc

-- statement: COMPONENT_DOC_UPSERT role: documents
-- Idempotent upsert by sku, replacing the same or an older version; within a batch the
-- last copy of the highest version wins, as when written one by one.
WITH c AS (SELECT u.owner, jsonb_agg(jsonb_build_object('sku', u.sku, 'quantity',
            u.quantity) ORDER BY u.n) AS components
        FROM unnest($5::int4[], $6::text[], $7::int8[])
            WITH ORDINALITY AS u(owner, sku, quantity, n)
        GROUP BY u.owner),
    p AS (SELECT DISTINCT ON (u.sku) u.sku, u.name, u.price, u.version, u.n
        FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[])
            WITH ORDINALITY AS u(sku, name, price, version, n)
        ORDER BY u.sku, u.version DESC, u.n DESC)
INSERT INTO product_component (sku, version, doc)
SELECT p.sku, p.version, jsonb_build_object('sku', p.sku, 'name', p.name,
    'price_cents', p.price, 'version', p.version,
    'components', coalesce(c.components, '[]'::jsonb))
FROM p LEFT JOIN c ON c.owner = p.n
ON CONFLICT (sku) DO UPDATE SET version = excluded.version, doc = excluded.doc
WHERE excluded.version >= product_component.version

-- statement: SCAN_ORDER_LOGS role: documents
SELECT order_id, region, doc->>'customer', doc->>'sku', (doc->>'quantity')::int8,
    (doc->>'unit_price_cents')::int8, (doc->>'placed_at_us')::int8
FROM order_product
WHERE order_id > $1::text
ORDER BY order_id LIMIT $2::int8

-- statement: SCAN_ORDER_LOGS_REGION role: documents
SELECT order_id, region, doc->>'customer', doc->>'sku', (doc->>'quantity')::int8,
    (doc->>'unit_price_cents')::int8, (doc->>'placed_at_us')::int8
FROM order_product
WHERE region = $3::text AND order_id > $1::text
ORDER BY order_id LIMIT $2::int8

-- statement: SCAN_COMPONENTS role: documents
SELECT sku, doc->>'name', (doc->>'price_cents')::int8, version,
    ARRAY(SELECT e->>'sku' FROM jsonb_array_elements(doc->'components')
        WITH ORDINALITY AS t(e, n) ORDER BY n),
    ARRAY(SELECT (e->>'quantity')::int8 FROM jsonb_array_elements(doc->'components')
        WITH ORDINALITY AS t(e, n) ORDER BY n)
FROM product_component
WHERE sku > $1::text
ORDER BY sku LIMIT $2::int8
