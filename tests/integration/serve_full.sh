#!/bin/sh
# serve_full.sh - `ddbsim serve` on etc/full.conf, unchanged: the regions
# and the center on PostgreSQL, the documents on MongoDB (the stand-in),
# RabbitMQ as the transport, each a throwaway server of the test.  The calls
# of serve_basics.sh (an order answered once committed, the same answer for
# a repeated id, bad input refused naming the field, 404 and 405, sales, a
# node taken down and back) and a shutdown whose report has every check
# holding.  Skips (77) only when a server program or a plugin is missing,
# as the postgres_, mongo_ and rabbitmq_ tests do (a failure with
# DDBSIM_REQUIRE_BACKENDS=1).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/serve_lib.sh"

# Each backend's helper sets its own trap; this one stops all of them.
full_cleanup() {
	stop_serve_hard
	stop_run
	[ -z "${PG_SERVER:-}" ] || sh "$PG_SERVER" stop "$TMP" 2>/dev/null || true
	if [ -n "${BROKER:-}" ]; then
		sh "$RMQ_SERVER" stop "$BROKER/node" 2>/dev/null || true
		rm -rf "$BROKER"
	fi
	[ "${MONGO_OWN:-0}" != 1 ] || sh "$MONGO_SH" stop "$MONGO_DIR" 2>/dev/null || true
	rm -rf "$TMP"
}

. "$top_srcdir/tests/integration/data/mongo/lib.sh"
trap full_cleanup EXIT
. "$top_srcdir/tests/integration/data/rabbitmq/broker.sh"
trap full_cleanup EXIT
DDBSIM_PG_OPTIONS="-c fsync=off" # this test measures nothing and restarts nothing
export DDBSIM_PG_OPTIONS
. "$top_srcdir/tests/integration/data/postgres/lib.sh"
trap full_cleanup EXIT
trap 'exit 1' INT TERM HUP
PY=/usr/bin/python3

# etc/full.conf takes every connection from the environment.
DDBSIM_MONGO_URI=$MONGO_URI
export DDBSIM_MONGO_URI AMQP_URL DDBSIM_DATA_DIR
FULL_CONF="$top_srcdir/etc/full.conf"

start_serve full -c "$FULL_CONF" --param background=no
api GET /api/v1/status
expect_status 200 "status"

api POST /api/v1/orders '{"region":"east","sku":"MOUSE","quantity":2,"id":"f-1"}'
expect_status 200 "an order"
[ "$(json_get 'd["status"]')" = accepted ] || fail "order f-1 not accepted: $body"
first=$body
api POST /api/v1/orders '{"region":"east","sku":"MOUSE","quantity":2,"id":"f-1"}'
[ "$body" = "$first" ] || fail "a repeated id answered differently: $body vs $first"
api GET /api/v1/orders/f-1
expect_status 200 "GET an order"
[ "$(json_get 'd["quantity"]')" = 2 ] || fail "GET /orders/f-1: $body"
api POST /api/v1/orders '{"region":"west","sku":"KEYBOARD","quantity":1,"id":"f-2"}'
[ "$(json_get 'd["status"]')" = accepted ] || fail "order f-2 not accepted: $body"
api POST /api/v1/orders '{"region":"east","sku":"NOPE","quantity":1}'
[ "$(json_get 'd["reason"]')" = invalid ] || fail "an unknown sku: $body"
api POST /api/v1/orders '{"region":"east","sku":"MOUSE","quantity":0}'
expect_status 400 "quantity 0"
[ "$(json_get 'd["field"]')" = quantity ] || fail "quantity 0 does not name the field: $body"
api GET /api/v1/nope
expect_status 404 "an unknown path"
api DELETE /api/v1/sales
expect_status 405 "a wrong method"
pass "orders on PostgreSQL, MongoDB and RabbitMQ: committed, idempotent, errors named"

# The sync reaches the center (PostgreSQL) over RabbitMQ within seconds.
for _ in $(seq 1 100); do
	api GET /api/v1/sales
	expect_status 200 "sales"
	[ "$(json_get 'sum(x["units"] for x in d["by_region"])')" = 3 ] && break
	sleep 0.1
done
[ "$(json_get 'sum(x["units"] for x in d["by_region"])')" = 3 ] || fail "the center never showed both orders: $body"
pass "the center's sales show both orders"

api PUT /api/v1/nodes/middle '{"state":"down"}'
expect_status 200 "middle down"
api POST /api/v1/orders '{"region":"middle","sku":"MOUSE","quantity":1,"id":"f-3"}'
[ "$(json_get 'd["reason"]')" = unavailable ] || fail "an order in a down region: $body"
api PUT /api/v1/nodes/middle '{"state":"up"}'
expect_status 200 "middle up"
api POST /api/v1/orders '{"region":"middle","sku":"MOUSE","quantity":1,"id":"f-4"}'
[ "$(json_get 'd["status"]')" = accepted ] || fail "an order once middle is back: $body"
pass "a region down refuses its orders (unavailable), and takes them again once up"

api POST /api/v1/shutdown
expect_status 202 "shutdown"
stop_serve TERM
[ "$serve_rc" -eq 0 ] || { cat "$TMP/full.out" "$TMP/full.err" >&2; fail "serve exited $serve_rc"; }
grep -q "all checks hold" "$TMP/full.out" || { cat "$TMP/full.out" >&2; fail "a check failed"; }
grep -q "orders *3 accepted, 2 rejected of 5" "$TMP/full.out" ||
	{ cat "$TMP/full.out" >&2; fail "the report does not count the API's orders"; }
n=$(pg_sql central "SELECT count(*) FROM central_orders")
[ "$n" = 3 ] || fail "central_orders on PostgreSQL holds $n rows, not 3"
pass "shutdown on full.conf: 3 orders at the center, every check holding"
