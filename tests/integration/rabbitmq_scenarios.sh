#!/bin/sh
# The bundled scenarios with the rabbitmq transport (a real broker) and
# SQLite stores: every check holds, the center has each accepted order once,
# the order logs are complete, and the broker's queues are empty at the end.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/data/rabbitmq/broker.sh"

for s in ecommerce flash_sale chaos customers; do
	rm -rf "$TMP/data"
	ddbsim run -c "$RMQ_CONF" "$SCRIPTS/$s.lua" --seed 7 --report "$TMP/$s.json"
	expect_rc 0 "$s over RabbitMQ"
	R="$TMP/$s.json"
	[ "$(json "$R" '[.checks[] | select(.ok | not)] | length')" = 0 ] || fail "$s: a check failed"
	accepted=$(json "$R" .orders.accepted)
	relayed=$(json "$R" .sync.events_relayed)
	[ "$relayed" -ge "$accepted" ] || fail "$s: $relayed events relayed for $accepted orders"
	central=$(sqlite3 "$TMP/data/central.db" "SELECT count(*) FROM central_orders")
	[ "$central" = "$accepted" ] || fail "$s: central_orders has $central rows, $accepted accepted"
	distinct=$(sqlite3 "$TMP/data/central.db" "SELECT count(DISTINCT id) FROM central_orders")
	[ "$distinct" = "$central" ] || fail "$s: $central central rows, $distinct distinct orders"
	logs=$(sqlite3 "$TMP/data/documents.db" "SELECT count(*) FROM order_product")
	[ "$logs" = "$accepted" ] || fail "$s: $logs order logs, $accepted accepted"
	# From the broker's side: the sync queues are there, durable, empty.
	q=$(broker_queues | awk '$1 ~ /^sync\./ { printf "%s=%s ", $1, $2 }')
	[ "$q" = "sync.central=0 sync.documents=0 " ] || fail "$s: broker queues: $q"
	durable=$(rmqctl list_queues -q --no-table-headers name durable | awk '$1 == "sync.central" { print $2 }')
	[ "$durable" = true ] || fail "$s: sync.central is not durable ($durable)"
	pass "$s: all checks hold; $accepted orders, $central at the center, $logs order logs; queues empty"
done

# drain and check on the last run's stores, through the broker.
ddbsim drain -c "$RMQ_CONF"
expect_rc 0 "drain after run"
ddbsim check -c "$RMQ_CONF"
expect_rc 0 "check after run"
pass "drain and check over RabbitMQ"
