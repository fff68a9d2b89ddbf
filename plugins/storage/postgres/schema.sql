-- schema.sql - the PostgreSQL plugin's schema: its tables, indexes and
-- PL/pgSQL functions, one section per role plus the schema table itself.
-- pg_conn.c runs a role's section (in one transaction, under an advisory
-- lock) when the role's schema is missing or older than SCHEMA_VERSION
-- there: bump SCHEMA_VERSION in pg_conn.c when a section changes.
--
-- make turns this file into the C header pg_schema.h (sql2c.awk, in the
-- build directory): each "-- schema: NAME" line starts the string
-- schema_NAME; every other line that starts with "--", and every blank
-- line, is left out (so comments never reach the server, not even inside a
-- function's body); the rest goes in as is, line by line.  No backslashes.
--
-- Created at open, IF NOT EXISTS, in one transaction under an
-- advisory lock, so that instances opening at once do not trip over each
-- other; ddbsim_schema records which role's schema is in place.  Keys are
-- global text keys (order id, sku, customer id) in the "C" collation, so that
-- every comparison and ORDER BY is bytewise and served by the primary key;
-- money is BIGINT cents.  The center has no SERIAL: orders are keyed by their
-- global id, products by sku.  The only generated number is a region's
-- outbox seq (GENERATED ALWAYS, so no one can insert an id that leaves the
-- sequence behind); events are known by "<origin>:<seq>".
--   regional   products, product_components, inventory, orders, outbox,
--              customers; the functions ddbsim_place_orders,
--              ddbsim_upsert_product, ddbsim_put_customers, ddbsim_undo_write
--   central    central_products, central_orders
--   documents  order_product, product_component: a jsonb document each,
--              beside its key columns
-- The components of a product copy (outbox payload, central product,
-- product-component document) are a jsonb array [{"sku", "quantity"}, ...]
-- in the product's order.

-- schema: meta
CREATE TABLE IF NOT EXISTS ddbsim_schema (
 role text PRIMARY KEY, version integer NOT NULL)

-- schema: regional
CREATE TABLE IF NOT EXISTS products (
 sku text COLLATE "C" PRIMARY KEY,
 name text NOT NULL,
 price_cents bigint NOT NULL CHECK (price_cents >= 0),
 version bigint NOT NULL CHECK (version >= 1));
-- pos keeps the components in the order they were given.
CREATE TABLE IF NOT EXISTS product_components (
 sku text COLLATE "C" NOT NULL,
 component_sku text COLLATE "C" NOT NULL,
 quantity bigint NOT NULL CHECK (quantity >= 1),
 pos integer NOT NULL,
 PRIMARY KEY (sku, component_sku));
CREATE TABLE IF NOT EXISTS inventory (
 sku text COLLATE "C" PRIMARY KEY,
 stock bigint NOT NULL CHECK (stock >= 0),
 received bigint NOT NULL CHECK (received >= 0));
-- No index on region or sku: a regional store holds its own region's
-- orders, and every index costs every order.
CREATE TABLE IF NOT EXISTS orders (
 id text COLLATE "C" PRIMARY KEY,
 region text COLLATE "C" NOT NULL,
 customer text COLLATE "C" NOT NULL,
 sku text COLLATE "C" NOT NULL,
 quantity bigint NOT NULL CHECK (quantity >= 1),
 unit_price_cents bigint NOT NULL CHECK (unit_price_cents >= 0),
 placed_at_us bigint NOT NULL);
-- The payload columns are those of the event's kind, the rest NULL
-- (sku serves both kinds).
CREATE TABLE IF NOT EXISTS outbox (
 seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
 origin text NOT NULL,
 kind smallint NOT NULL CHECK (kind IN (1, 2)),
 state smallint NOT NULL CHECK (state BETWEEN 0 AND 2),
 created_at_us bigint NOT NULL,
 order_id text, region text, customer text, sku text,
 quantity bigint, unit_price_cents bigint, placed_at_us bigint,
 name text, price_cents bigint, version bigint, components jsonb);
-- What the relay reads: events not yet applied, by (state, seq).  Small:
-- applied events leave it.
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (state, seq) WHERE state < 2;
CREATE TABLE IF NOT EXISTS customers (
 id text COLLATE "C" PRIMARY KEY,
 unique_id text NOT NULL,
 zip_prefix bigint NOT NULL CHECK (zip_prefix >= 0),
 city text NOT NULL,
 state text NOT NULL,
 name text NOT NULL,
 email text NOT NULL,
 home text NOT NULL,
 version bigint NOT NULL CHECK (version >= 1),
 deleted boolean NOT NULL,
 updated_at_us bigint NOT NULL);
-- What find_customers reads: the live records by zip prefix.
CREATE INDEX IF NOT EXISTS customers_live_zip ON customers (zip_prefix)
 WHERE NOT deleted;
-- The last non-idempotent write of each writer (an open instance), in
-- the write's own transaction: after a lost connection, it says whether
-- the write committed.  kind P: place_orders, seqs its outbox events;
-- kind R: restock of quantity to sku; kind U: undone.
CREATE TABLE IF NOT EXISTS ddbsim_writes (
 writer text PRIMARY KEY,
 op bigint NOT NULL,
 kind text NOT NULL,
 outcome text NOT NULL,
 seqs bigint[] NOT NULL DEFAULT '{}',
 sku text,
 quantity bigint);

-- One batch of orders, each atomic on its own, in one transaction.
-- Returns a letter per order: O placed, D duplicate id, I insufficient
-- stock, N unknown sku.  The inventory rows of the batch are locked
-- first, in sku order, so that batches of one region running at once
-- cannot deadlock.
-- Fast path, set-based: when no id repeats within the batch and, for
-- every sku, the orders to place fit in its stock, each order's fate is
-- known at once (an existing id: D, whatever else; else an unknown sku:
-- N; else O), exactly as if placed one by one.
-- Otherwise, one by one in batch order: the stock is taken first, so a
-- short or unknown sku changes nothing; when the id turns out to exist
-- the stock is given back.  An existing id wins over short stock and
-- unknown sku, so that a retry is recognised.
CREATE OR REPLACE FUNCTION ddbsim_place_orders(p_origin text, p_writer text, p_op bigint,
 p_id text[], p_region text[], p_customer text[], p_sku text[], p_quantity bigint[],
 p_price bigint[], p_placed bigint[]) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
 r text := '';
 seqs bigint[] := '{}';
 s bigint;
 o record;
BEGIN
 PERFORM 1 FROM inventory WHERE sku = ANY (p_sku) ORDER BY sku FOR UPDATE;
 IF (SELECT count(DISTINCT id) FROM unnest(p_id) AS id) = cardinality(p_id) THEN
  SELECT string_agg(CASE WHEN EXISTS (SELECT 1 FROM orders WHERE orders.id = u.id) THEN 'D'
   WHEN NOT EXISTS (SELECT 1 FROM inventory AS i WHERE i.sku = u.sku) THEN 'N' ELSE 'O' END,
   '' ORDER BY u.n) INTO r FROM unnest(p_id, p_sku) WITH ORDINALITY AS u(id, sku, n);
  IF EXISTS (SELECT 1 FROM (SELECT u.sku, sum(u.quantity) AS q FROM unnest(p_sku, p_quantity)
    WITH ORDINALITY AS u(sku, quantity, n) WHERE substr(r, u.n::int, 1) = 'O'
    GROUP BY u.sku) AS t JOIN inventory AS i ON i.sku = t.sku WHERE t.q > i.stock) THEN
   r := NULL;
  END IF;
 ELSE
  r := NULL;
 END IF;
 IF r IS NOT NULL THEN
  UPDATE inventory AS i SET stock = i.stock - t.q FROM (SELECT u.sku, sum(u.quantity) AS q
   FROM unnest(p_sku, p_quantity) WITH ORDINALITY AS u(sku, quantity, n)
   WHERE substr(r, u.n::int, 1) = 'O' GROUP BY u.sku) AS t WHERE i.sku = t.sku;
  INSERT INTO orders (id, region, customer, sku, quantity, unit_price_cents, placed_at_us)
   SELECT u.id, u.region, u.customer, u.sku, u.quantity, u.price, u.placed
   FROM unnest(p_id, p_region, p_customer, p_sku, p_quantity, p_price, p_placed)
   WITH ORDINALITY AS u(id, region, customer, sku, quantity, price, placed, n)
   WHERE substr(r, u.n::int, 1) = 'O' ORDER BY u.n;
  WITH e AS (INSERT INTO outbox (origin, kind, state, created_at_us, order_id, region,
   customer, sku, quantity, unit_price_cents, placed_at_us)
   SELECT p_origin, 1, 0, u.placed, u.id, u.region, u.customer, u.sku, u.quantity, u.price,
   u.placed FROM unnest(p_id, p_region, p_customer, p_sku, p_quantity, p_price, p_placed)
   WITH ORDINALITY AS u(id, region, customer, sku, quantity, price, placed, n)
   WHERE substr(r, u.n::int, 1) = 'O' ORDER BY u.n RETURNING seq)
   SELECT coalesce(array_agg(seq ORDER BY seq), '{}') INTO seqs FROM e;
 ELSE
  r := '';
  FOR o IN SELECT * FROM unnest(p_id, p_region, p_customer, p_sku, p_quantity, p_price,
    p_placed) WITH ORDINALITY AS u(id, region, customer, sku, quantity, price, placed, n)
    ORDER BY n LOOP
   UPDATE inventory SET stock = stock - o.quantity
    WHERE sku = o.sku AND stock >= o.quantity;
   IF NOT FOUND THEN
    IF EXISTS (SELECT 1 FROM orders WHERE id = o.id) THEN r := r || 'D';
    ELSIF EXISTS (SELECT 1 FROM inventory WHERE sku = o.sku) THEN r := r || 'I';
    ELSE r := r || 'N';
    END IF;
    CONTINUE;
   END IF;
   INSERT INTO orders (id, region, customer, sku, quantity, unit_price_cents, placed_at_us)
    VALUES (o.id, o.region, o.customer, o.sku, o.quantity, o.price, o.placed)
    ON CONFLICT (id) DO NOTHING;
   IF NOT FOUND THEN
    UPDATE inventory SET stock = stock + o.quantity WHERE sku = o.sku;
    r := r || 'D';
    CONTINUE;
   END IF;
   INSERT INTO outbox (origin, kind, state, created_at_us, order_id, region, customer, sku,
    quantity, unit_price_cents, placed_at_us) VALUES (p_origin, 1, 0, o.placed, o.id,
    o.region, o.customer, o.sku, o.quantity, o.price, o.placed) RETURNING seq INTO s;
   seqs := seqs || s;
   r := r || 'O';
  END LOOP;
 END IF;
 INSERT INTO ddbsim_writes (writer, op, kind, outcome, seqs)
  VALUES (p_writer, p_op, 'P', r, seqs) ON CONFLICT (writer) DO UPDATE SET
  op = excluded.op, kind = excluded.kind, outcome = excluded.outcome,
  seqs = excluded.seqs, sku = NULL, quantity = NULL;
 RETURN r;
END
$f$;

-- A product version, its components, its inventory row and its outbox
-- event, together; false (nothing changed) when the stored version is
-- the same or higher.
CREATE OR REPLACE FUNCTION ddbsim_upsert_product(p_origin text, p_now bigint, p_sku text,
 p_name text, p_price bigint, p_version bigint, p_csku text[], p_cqty bigint[])
 RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
 INSERT INTO products (sku, name, price_cents, version)
  VALUES (p_sku, p_name, p_price, p_version) ON CONFLICT (sku) DO UPDATE SET
  name = excluded.name, price_cents = excluded.price_cents, version = excluded.version
  WHERE excluded.version > products.version;
 IF NOT FOUND THEN RETURN false; END IF;
 DELETE FROM product_components WHERE sku = p_sku;
 INSERT INTO product_components (sku, component_sku, quantity, pos)
  SELECT p_sku, c, q, n - 1 FROM unnest(p_csku, p_cqty) WITH ORDINALITY AS u(c, q, n);
 INSERT INTO inventory (sku, stock, received) VALUES (p_sku, 0, 0)
  ON CONFLICT (sku) DO NOTHING;
 INSERT INTO outbox (origin, kind, state, created_at_us, sku, name, price_cents, version,
  components) VALUES (p_origin, 2, 0, p_now, p_sku, p_name, p_price, p_version,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('sku', c, 'quantity', q) ORDER BY n),
   '[]'::jsonb) FROM unnest(p_csku, p_cqty) WITH ORDINALITY AS u(c, q, n)));
 RETURN true;
END
$f$;

-- Customer records in order: each replaces the stored one only when
-- its version is higher.  A letter per record: O written, D not.
CREATE OR REPLACE FUNCTION ddbsim_put_customers(p_id text[], p_unique text[],
 p_zip bigint[], p_city text[], p_state text[], p_name text[], p_email text[],
 p_home text[], p_version bigint[], p_deleted boolean[], p_updated bigint[])
 RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
 r text := '';
 c record;
BEGIN
 FOR c IN SELECT * FROM unnest(p_id, p_unique, p_zip, p_city, p_state, p_name, p_email,
   p_home, p_version, p_deleted, p_updated) WITH ORDINALITY AS u(id, unique_id, zip,
   city, state, name, email, home, version, deleted, updated, n) ORDER BY n LOOP
  INSERT INTO customers (id, unique_id, zip_prefix, city, state, name, email, home,
   version, deleted, updated_at_us) VALUES (c.id, c.unique_id, c.zip, c.city, c.state,
   c.name, c.email, c.home, c.version, c.deleted, c.updated)
   ON CONFLICT (id) DO UPDATE SET unique_id = excluded.unique_id,
   zip_prefix = excluded.zip_prefix, city = excluded.city, state = excluded.state,
   name = excluded.name, email = excluded.email, home = excluded.home,
   version = excluded.version, deleted = excluded.deleted,
   updated_at_us = excluded.updated_at_us
   WHERE excluded.version > customers.version;
  IF FOUND THEN r := r || 'O'; ELSE r := r || 'D'; END IF;
 END LOOP;
 RETURN r;
END
$f$;

-- Undoes write p_op of p_writer if it committed (it was reported
-- UNAVAILABLE): 'none' it did not commit, 'undone', or why it cannot be
-- undone ('published': its events left the outbox; 'sold': the stock
-- it added is gone).
CREATE OR REPLACE FUNCTION ddbsim_undo_write(p_writer text, p_op bigint)
 RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
 w ddbsim_writes%ROWTYPE;
 e record;
BEGIN
 SELECT * INTO w FROM ddbsim_writes WHERE writer = p_writer FOR UPDATE;
 IF NOT FOUND OR w.op <> p_op OR w.kind = 'U' THEN RETURN 'none'; END IF;
 IF w.kind = 'P' THEN
  IF EXISTS (SELECT 1 FROM outbox WHERE seq = ANY (w.seqs) AND state <> 0) THEN
   RETURN 'published';
  END IF;
  PERFORM 1 FROM inventory WHERE sku IN (SELECT sku FROM outbox WHERE seq = ANY (w.seqs))
   ORDER BY sku FOR UPDATE;
  FOR e IN DELETE FROM outbox WHERE seq = ANY (w.seqs) RETURNING order_id, sku, quantity
  LOOP
   DELETE FROM orders WHERE id = e.order_id;
   UPDATE inventory SET stock = stock + e.quantity WHERE sku = e.sku;
  END LOOP;
 ELSIF w.kind = 'R' THEN
  UPDATE inventory SET stock = stock - w.quantity, received = received - w.quantity
   WHERE sku = w.sku AND stock >= w.quantity AND received >= w.quantity;
  IF NOT FOUND THEN RETURN 'sold'; END IF;
 END IF;
 UPDATE ddbsim_writes SET kind = 'U' WHERE writer = p_writer;
 RETURN 'undone';
END
$f$;


-- schema: central
CREATE TABLE IF NOT EXISTS central_products (
 sku text COLLATE "C" PRIMARY KEY,
 name text NOT NULL,
 price_cents bigint NOT NULL,
 version bigint NOT NULL,
 components jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS central_orders (
 id text COLLATE "C" PRIMARY KEY,
 region text COLLATE "C" NOT NULL,
 customer text COLLATE "C" NOT NULL,
 sku text COLLATE "C" NOT NULL,
 quantity bigint NOT NULL,
 unit_price_cents bigint NOT NULL,
 placed_at_us bigint NOT NULL,
 applied_at_us bigint NOT NULL);
CREATE INDEX IF NOT EXISTS central_orders_region ON central_orders (region);


-- schema: documents
-- doc: log_id, order_id, region, customer, sku, quantity,
-- unit_price_cents, placed_at_us, logged_at_us.
CREATE TABLE IF NOT EXISTS order_product (
 order_id text COLLATE "C" PRIMARY KEY,
 region text COLLATE "C" NOT NULL,
 doc jsonb NOT NULL);
CREATE INDEX IF NOT EXISTS order_product_region ON order_product (region);
-- doc: sku, name, price_cents, version, components.
CREATE TABLE IF NOT EXISTS product_component (
 sku text COLLATE "C" PRIMARY KEY,
 version bigint NOT NULL,
 doc jsonb NOT NULL);
