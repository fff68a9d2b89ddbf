#!/bin/sh
# serve_basics.sh - `ddbsim serve` on the embedded default (or full.conf,
# see serve_lib.sh): it says where it listens, takes an order and answers
# once it is committed, answers the same
# for a repeated id, refuses bad input with the field named, and ends on
# POST /api/v1/shutdown with the report of a run whose checks hold.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

start_serve s1 -c "$CONF" -d "$TMP/data" --param background=no

api POST /api/v1/orders '{"region":"east","sku":"MOUSE","quantity":2,"id":"o-1"}'
expect_status 200 "an order"
[ "$(json_get 'd["status"]')" = accepted ] || fail "order o-1 not accepted: $body"
first=$body
api POST /api/v1/orders '{"region":"east","sku":"MOUSE","quantity":2,"id":"o-1"}'
[ "$body" = "$first" ] || fail "a repeated id answered differently: $body vs $first"
api GET /api/v1/orders/o-1
expect_status 200 "GET an order"
[ "$(json_get 'd["quantity"]')" = 2 ] || fail "GET /orders/o-1: $body"
api POST /api/v1/orders '{"region":"east","sku":"NOPE","quantity":1}'
[ "$(json_get 'd["reason"]')" = invalid ] || fail "an unknown sku: $body"
api POST /api/v1/orders '{"region":"east","sku":"MOUSE","quantity":0}'
expect_status 400 "quantity 0"
[ "$(json_get 'd["field"]')" = quantity ] || fail "quantity 0 does not name the field: $body"
api POST /api/v1/orders '{"region":"nowhere","sku":"MOUSE","quantity":1}'
expect_status 400 "an unknown region"
api POST /api/v1/orders '{"region":'
expect_status 400 "broken JSON"
api GET /api/v1/nope
expect_status 404 "an unknown path"
api DELETE /api/v1/sales
expect_status 405 "a wrong method"
api GET /api/v1/sales
expect_status 200 "sales"
pass "orders, idempotent ids, errors"

end_session s1
grep -q "orders *1 accepted, 1 rejected of 2" "$TMP/s1.out" ||
	{ cat "$TMP/s1.out" >&2; fail "the report does not count the API's orders"; }
pass "shutdown: the report of the session, every check holding"
