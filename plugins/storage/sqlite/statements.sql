-- statements.sql - the SQL of every statement of the SQLite storage plugin.
-- At build time stmt2c.awk (plugins/storage) turns it into
-- sqlite_statements.h: enum stmt_id (S_NAME) and the table sqlite_stmt.c
-- prepares from, once at open, the statements of the roles served.  Each
-- statement starts at a line "-- statement: NAME role: ROLE" (ROLE:
-- regional, central, documents, or any: every instance); its lines are
-- joined with one space.  Parameters are ?n; the operations in sqlite.c
-- read the columns in the order given here (an outbox event as fill_event()
-- reads it, a customer as fill_customer()).  The schema: sqlite_schema.c.

-- statement: BEGIN role: any
BEGIN IMMEDIATE

-- statement: COMMIT role: any
COMMIT

-- statement: ROLLBACK role: any
ROLLBACK

-- statement: PRODUCT_UPSERT role: regional
INSERT INTO products (sku, name, price_cents, version)
VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (sku) DO UPDATE SET name = excluded.name,
    price_cents = excluded.price_cents, version = excluded.version
WHERE excluded.version > products.version

-- statement: COMPONENTS_DELETE role: regional
DELETE FROM product_components
WHERE sku = ?1

-- statement: COMPONENT_INSERT role: regional
INSERT INTO product_components (sku, component_sku, quantity, pos)
VALUES (?1, ?2, ?3, ?4)

-- statement: COMPONENTS_GET role: regional
SELECT component_sku, quantity
FROM product_components
WHERE sku = ?1
ORDER BY pos

-- statement: INVENTORY_ENSURE role: regional
INSERT INTO inventory (sku, stock, received)
VALUES (?1, 0, 0)
ON CONFLICT (sku) DO NOTHING

-- statement: OUTBOX_PRODUCT role: regional
INSERT INTO outbox (origin, kind, state, created_at_us, sku, name, price_cents, version,
    components)
VALUES (?1, 2, 0, ?2, ?3, ?4, ?5, ?6, ?7)

-- statement: RESTOCK role: regional
-- The guard keeps stock and received within int64: no row changed means unknown sku or
-- overflow, told apart by STOCK_GET.
UPDATE inventory SET stock = stock + ?1, received = received + ?1
WHERE sku = ?2 AND stock <= 9223372036854775807 - ?1
    AND received <= 9223372036854775807 - ?1

-- statement: STOCK_GET role: regional
SELECT stock
FROM inventory
WHERE sku = ?1

-- statement: STOCK_TAKE role: regional
UPDATE inventory SET stock = stock - ?1
WHERE sku = ?2 AND stock >= ?1

-- statement: STOCK_GIVE_BACK role: regional
UPDATE inventory SET stock = stock + ?1
WHERE sku = ?2

-- statement: ORDER_INSERT role: regional
INSERT INTO orders (id, region, customer, sku, quantity, unit_price_cents, placed_at_us)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (id) DO NOTHING

-- statement: ORDER_EXISTS role: regional
SELECT 1 FROM orders
WHERE id = ?1

-- statement: OUTBOX_ORDER role: regional
INSERT INTO outbox (origin, kind, state, created_at_us, order_id, region, customer, sku,
    quantity, unit_price_cents, placed_at_us)
VALUES (?1, 1, 0, ?8, ?2, ?3, ?4, ?5, ?6, ?7, ?8)

-- statement: OUTBOX_READ_PENDING role: regional
-- "state < 2" lets the planner use the partial index outbox_pending.
SELECT seq, origin, id, kind, state, created_at_us, order_id, region, customer, sku,
    quantity, unit_price_cents, placed_at_us, name, price_cents, version, components
FROM outbox WHERE state = ?1 AND state < 2 AND seq > ?2
ORDER BY seq LIMIT ?3

-- statement: OUTBOX_READ_APPLIED role: regional
SELECT seq, origin, id, kind, state, created_at_us, order_id, region, customer, sku,
    quantity, unit_price_cents, placed_at_us, name, price_cents, version, components
FROM outbox WHERE state = 2 AND seq > ?1
ORDER BY seq LIMIT ?2

-- statement: OUTBOX_MARK role: regional
UPDATE outbox SET state = ?1
WHERE seq = ?2 AND state < ?1

-- statement: OUTBOX_REQUEUE role: regional
UPDATE outbox SET state = 0
WHERE state = 1 AND state < 2

-- statement: SCAN_PRODUCTS role: regional
SELECT sku, name, price_cents, version
FROM products
ORDER BY sku

-- statement: SCAN_INVENTORY role: regional
-- sold from the orders themselves, one pass over them per scan.
SELECT i.sku, i.stock, i.received, coalesce(s.sold, 0)
FROM inventory AS i
LEFT JOIN (SELECT sku, sum(quantity) AS sold FROM orders GROUP BY sku) AS s ON s.sku =
    i.sku ORDER BY i.sku

-- statement: SCAN_ORDERS role: regional
SELECT id, region, customer, sku, quantity, unit_price_cents, placed_at_us
FROM orders ORDER BY id

-- statement: SCAN_ORDERS_REGION role: regional
SELECT id, region, customer, sku, quantity, unit_price_cents, placed_at_us
FROM orders WHERE region = ?1
ORDER BY id

-- statement: SCAN_OUTBOX role: regional
SELECT seq, origin, id, kind, state, created_at_us, order_id, region, customer, sku,
    quantity, unit_price_cents, placed_at_us, name, price_cents, version, components
FROM outbox ORDER BY seq

-- statement: CUSTOMER_UPSERT role: regional
-- No row changed: the stored version is the same or higher.
INSERT INTO customers (id, unique_id, zip_prefix, city, state, name, email, home, version,
    deleted, updated_at_us)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
ON CONFLICT (id) DO UPDATE SET unique_id = excluded.unique_id,
    zip_prefix = excluded.zip_prefix, city = excluded.city, state = excluded.state,
    name = excluded.name, email = excluded.email, home = excluded.home,
    version = excluded.version, deleted = excluded.deleted,
    updated_at_us = excluded.updated_at_us
WHERE excluded.version > customers.version

-- statement: CUSTOMER_GET role: regional
SELECT id, unique_id, zip_prefix, city, state, name, email, home, version, deleted,
    updated_at_us
FROM customers
WHERE id = ?1

-- statement: CUSTOMER_FIND role: regional
-- "deleted = 0" lets the planner use the partial index customers_live_zip; NULL city or
-- state: any.  LIMIT -1: none.
SELECT id, unique_id, zip_prefix, city, state, name, email, home, version, deleted,
    updated_at_us
FROM customers
WHERE deleted = 0 AND zip_prefix BETWEEN ?1 AND ?2 AND (?3 IS NULL OR city = ?3 COLLATE
    NOCASE) AND (?4 IS NULL OR state = ?4 COLLATE NOCASE)
ORDER BY id LIMIT ?5

-- statement: SCAN_CUSTOMERS role: regional
SELECT id, unique_id, zip_prefix, city, state, name, email, home, version, deleted,
    updated_at_us
FROM customers
ORDER BY id

-- statement: CENTRAL_ORDER_INSERT role: central
INSERT INTO central_orders (id, region, customer, sku, quantity, unit_price_cents,
    placed_at_us, applied_at_us)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
ON CONFLICT (id) DO NOTHING

-- statement: CENTRAL_PRODUCT_UPSERT role: central
INSERT INTO central_products (sku, name, price_cents, version, components)
VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (sku) DO UPDATE SET name = excluded.name,
    price_cents = excluded.price_cents, version = excluded.version,
    components = excluded.components
WHERE excluded.version > central_products.version

-- statement: SALES_BY_REGION role: central
SELECT region, count(*), sum(quantity), sum(quantity * unit_price_cents)
FROM central_orders
GROUP BY region
ORDER BY region

-- statement: SALES_BY_SKU role: central
SELECT sku, count(*), sum(quantity), sum(quantity * unit_price_cents)
FROM central_orders
GROUP BY sku
ORDER BY sku

-- statement: SCAN_CENTRAL_PRODUCTS role: central
SELECT sku, name, price_cents, version, components
FROM central_products
ORDER BY sku

-- statement: SCAN_CENTRAL_ORDERS role: central
SELECT id, region, customer, sku, quantity, unit_price_cents, placed_at_us, applied_at_us
FROM central_orders
ORDER BY id

-- statement: SCAN_CENTRAL_ORDERS_REGION role: central
SELECT id, region, customer, sku, quantity, unit_price_cents, placed_at_us, applied_at_us
FROM central_orders
WHERE region = ?1
ORDER BY id

-- statement: LOG_UPSERT role: documents
INSERT INTO order_product (order_id, log_id, region, customer, sku, quantity,
    unit_price_cents, placed_at_us, logged_at_us)
VALUES (?1, 'log:' || ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
ON CONFLICT (order_id) DO UPDATE SET log_id = excluded.log_id, region = excluded.region,
    customer = excluded.customer, sku = excluded.sku, quantity = excluded.quantity,
    unit_price_cents = excluded.unit_price_cents, placed_at_us = excluded.placed_at_us,
    logged_at_us = excluded.logged_at_us

-- statement: COMPONENT_DOC_UPSERT role: documents
INSERT INTO product_component (sku, name, price_cents, version, components)
VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (sku) DO UPDATE SET name = excluded.name,
    price_cents = excluded.price_cents, version = excluded.version,
    components = excluded.components
WHERE excluded.version >= product_component.version

-- statement: SCAN_ORDER_LOGS role: documents
SELECT order_id, region, customer, sku, quantity, unit_price_cents, placed_at_us
FROM order_product
ORDER BY order_id

-- statement: SCAN_ORDER_LOGS_REGION role: documents
SELECT order_id, region, customer, sku, quantity, unit_price_cents, placed_at_us
FROM order_product
WHERE region = ?1
ORDER BY order_id

-- statement: SCAN_COMPONENTS role: documents
SELECT sku, name, price_cents, version, components
FROM product_component
ORDER BY sku
