#!/bin/sh
# serve_full.sh - the API tests of `ddbsim serve` on etc/full.conf,
# unchanged: the regions and the center on PostgreSQL, the documents on
# MongoDB (the stand-in), RabbitMQ as the transport.  It starts the three
# servers once, checks a few calls itself (an order committed, idempotent,
# errors named; the center's sales and its PostgreSQL table seen from
# outside), then runs each serve_*.sh test with DDBSIM_SERVE_CONFIG=full on
# the same servers (each session resets the stores when it starts) and
# prints what each said.  A failing sub-test fails this test, named; the
# others still run.  Skips (77) only when a server program or a plugin is
# missing, as the postgres_, mongo_ and rabbitmq_ tests do (a failure with
# DDBSIM_REQUIRE_BACKENDS=1).
#
# serve_record.sh runs too, on full.conf for its recording and on the
# embedded default for its replays: the same state hash on replay is
# promised only for the embedded backends (see serve_record.sh).
# serve_load.sh sends fewer requests here (DDBSIM_SERVE_LOAD_REQUESTS,
# default 1,000 per client in this runner) to keep the whole well under 3 minutes.
# One sub-test alone: DDBSIM_SERVE_CONFIG=full make check TESTS=tests/integration/serve_basics.sh
. "$top_srcdir/tests/integration/lib.sh"
DDBSIM_SERVE_CONFIG=full
unset DDBSIM_FULL_SERVERS # started here, once, for every sub-test
. "$top_srcdir/tests/integration/serve_lib.sh"

SUBTESTS="serve_basics.sh serve_customers.sh serve_compat.sh serve_products.sh serve_faults.sh
serve_events.sh serve_metrics.sh serve_security.sh serve_load.sh serve_record.sh"

start_serve full -c "$CONF" --param background=no
api GET /api/v1/status
expect_status 200 "status"

api POST /api/v1/orders '{"region":"east","sku":"MOUSE","quantity":2,"id":"f-1"}'
expect_status 200 "an order"
[ "$(json_get 'd["status"]')" = accepted ] || fail "order f-1 not accepted: $body"
first=$body
api POST /api/v1/orders '{"region":"east","sku":"MOUSE","quantity":2,"id":"f-1"}'
[ "$body" = "$first" ] || fail "a repeated id answered differently: $body vs $first"
api POST /api/v1/orders '{"region":"west","sku":"KEYBOARD","quantity":1,"id":"f-2"}'
[ "$(json_get 'd["status"]')" = accepted ] || fail "order f-2 not accepted: $body"
api POST /api/v1/orders '{"region":"east","sku":"MOUSE","quantity":0}'
expect_status 400 "quantity 0"
pass "orders on PostgreSQL, MongoDB and RabbitMQ: committed, idempotent, errors named"

# The sync reaches the center (PostgreSQL) over RabbitMQ within seconds.
for _ in $(seq 1 100); do
	api GET /api/v1/sales
	expect_status 200 "sales"
	[ "$(json_get 'sum(x["units"] for x in d["by_region"])')" = 3 ] && break
	sleep 0.1
done
[ "$(json_get 'sum(x["units"] for x in d["by_region"])')" = 3 ] || fail "the center never showed both orders: $body"

end_session full
n=$(pg_sql central "SELECT count(*) FROM central_orders")
[ "$n" = 2 ] || fail "central_orders on PostgreSQL holds $n rows, not 2"
pass "the center's sales and its PostgreSQL table hold both orders; every check holds"

# The sub-tests, on these servers.
DDBSIM_FULL_SERVERS=$FULL_PG_DIR
: "${DDBSIM_SERVE_LOAD_REQUESTS:=1000}"
export DDBSIM_SERVE_CONFIG DDBSIM_FULL_SERVERS DDBSIM_SERVE_LOAD_REQUESTS
failed=
for t in $SUBTESTS; do
	start=$(date +%s)
	st=0
	timeout 300 sh "$top_srcdir/tests/integration/$t" > "$TMP/$t.log" 2>&1 || st=$?
	took=$(($(date +%s) - start))
	if [ "$st" -eq 0 ]; then
		sed "s|^|$t: |" "$TMP/$t.log"
		pass "$t on full.conf (${took} s)"
	else
		# 77 included: the servers are up, so nothing may skip.
		sed "s|^|$t: |" "$TMP/$t.log" >&2
		echo "FAIL: $t on full.conf: exit status $st after ${took} s (its output above)" >&2
		failed="$failed $t"
	fi
done
[ -z "$failed" ] || fail "on full.conf, failed:$failed"
