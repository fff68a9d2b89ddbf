#!/bin/sh
# From outside, with psql: after a run on PostgreSQL (etc/postgres.conf), the
# central tables queried with plain SQL agree with the report: the orders
# accepted, sales by region and by product (orders, units, revenue in
# cents), the products; each region's inventory and orders agree with the
# report's facts and with the center; the order-log documents (jsonb) match
# the central orders field by field; every outbox event is applied.
# The server runs with fsync=off: this test measures nothing.
. "$top_srcdir/tests/integration/lib.sh"
DDBSIM_PG_OPTIONS="-c fsync=off"
export DDBSIM_PG_OPTIONS
. "$top_srcdir/tests/integration/data/postgres/lib.sh"

ddbsim run -c "$PG_CONF" "$SCRIPTS/flash_sale.lua" --seed 21 --report "$TMP/r.json" -q
expect_rc 0 "flash_sale on PostgreSQL"
R="$TMP/r.json"
accepted=$(json "$R" .orders.accepted)
[ "$accepted" -gt 100 ] || fail "only $accepted orders accepted"

same_json() { # WHAT SQL-JSON REPORT-JSON
	a=$(printf '%s' "$2" | jq -S -c .)
	b=$(printf '%s' "$3" | jq -S -c .)
	[ "$a" = "$b" ] || fail "$1: SQL says $a, the report $b"
}

# The center.
[ "$(pg_sql central "SELECT count(*) FROM central_orders")" = "$accepted" ] ||
	fail "central_orders does not hold the $accepted accepted orders"
[ "$(pg_sql central "SELECT count(DISTINCT id) FROM central_orders")" = "$accepted" ] ||
	fail "an order twice at the center"
sales_sql() { # COLUMN
	pg_sql central "SELECT coalesce(json_object_agg(k, json_build_object('orders', n,
		'units', u, 'revenue_cents', r)), '{}') FROM (SELECT $1 AS k, count(*) AS n,
		sum(quantity) AS u, sum(quantity * unit_price_cents) AS r FROM central_orders
		GROUP BY $1) AS s"
}
same_json "sales by region" "$(sales_sql region)" "$(json "$R" .facts.central.by_region)"
same_json "sales by product" "$(sales_sql sku)" "$(json "$R" .facts.central.by_product)"
products=$(jq '[.facts.central.by_product | keys[]] | length' "$R")
[ "$(pg_sql central "SELECT count(*) FROM central_products")" -ge "$products" ] ||
	fail "central_products lacks products that sold"
pass "central tables agree with the report: $accepted orders, sales by region and by product"

# Each region: its inventory against the report's facts, its orders
# against the center's orders of that region.
for region in $(jq -r '.facts.regions | keys[]' "$R"); do
	inv=$(pg_sql "$region" "SELECT json_build_object(
		'stock', (SELECT coalesce(json_object_agg(sku, stock), '{}') FROM inventory),
		'received', (SELECT coalesce(json_object_agg(sku, received), '{}') FROM inventory),
		'sold', (SELECT coalesce(json_object_agg(sku, n), '{}')
		         FROM (SELECT sku, sum(quantity) AS n FROM orders GROUP BY sku) AS s))")
	want=$(jq -c --arg r "$region" '.facts.regions[$r] | {stock, received, sold}' "$R")
	same_json "$region: inventory" "$(printf '%s' "$inv" | jq -c '.sold |= with_entries(select(.value != 0))')" \
		"$(printf '%s' "$want" | jq -c '.sold |= with_entries(select(.value != 0))')"
	mine=$(pg_sql "$region" "SELECT count(*) || ' ' || coalesce(sum(quantity * unit_price_cents), 0) FROM orders")
	theirs=$(pg_sql central "SELECT count(*) || ' ' || coalesce(sum(quantity * unit_price_cents), 0)
		FROM central_orders WHERE region = '$region'")
	[ "$mine" = "$theirs" ] || fail "$region: orders and revenue $mine in the region, $theirs at the center"
	pending=$(pg_sql "$region" "SELECT count(*) FROM outbox WHERE state <> 2")
	[ "$pending" = 0 ] || fail "$region: $pending outbox events not applied"
done
pass "every region's inventory and orders agree with the report and the center; outboxes applied"

# The documents: one jsonb order log per order, equal to the central row.
matching=$(pg_sql central "SELECT count(*) FROM order_product AS d JOIN central_orders AS c
	ON c.id = d.order_id
	WHERE d.doc->>'order_id' = c.id AND d.doc->>'log_id' = 'log:' || c.id
	  AND d.region = c.region AND d.doc->>'customer' = c.customer AND d.doc->>'sku' = c.sku
	  AND (d.doc->>'quantity')::bigint = c.quantity
	  AND (d.doc->>'unit_price_cents')::bigint = c.unit_price_cents
	  AND (d.doc->>'placed_at_us')::bigint = c.placed_at_us")
[ "$matching" = "$accepted" ] || fail "$matching of $accepted order logs match their central order"
[ "$(pg_sql central "SELECT count(*) FROM order_product")" = "$accepted" ] || fail "extra order logs"
comps=$(pg_sql central "SELECT count(*) FROM product_component AS d JOIN central_products AS p
	ON p.sku = d.sku WHERE d.doc->'components' = p.components AND d.version = p.version")
[ "$comps" = "$(pg_sql central "SELECT count(*) FROM central_products")" ] ||
	fail "product-component documents differ from the central products"
pass "order-log and product-component documents (jsonb) match the center"
