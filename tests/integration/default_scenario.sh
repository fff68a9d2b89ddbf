#!/bin/sh
# The default scenario on the embedded backends: every check holds, the
# report has what it promises, and the stores agree with it from outside.
. "$top_srcdir/tests/integration/lib.sh"

ddbsim run -c "$CONF" "$SCRIPTS/ecommerce.lua" --seed 3 --report "$TMP/r.json"
expect_rc 0 "ecommerce run"
expect_out "seed=3" "seed printed at start"
expect_out "all checks hold" "verdict"
R="$TMP/r.json"
[ "$(json "$R" .seed)" = 3 ] || fail "seed in report"
[ "$(json "$R" '.state_hash | length')" = 16 ] || fail "state_hash"
accepted=$(json "$R" .orders.accepted)
[ "$accepted" -gt 100 ] || fail "accepted orders: $accepted"
[ "$(json "$R" '.orders.rejected.insufficient_stock // 0')" -gt 0 ] || fail "no order exceeded stock"
[ "$(json "$R" '[.checks[] | select(.ok | not)] | length')" = 0 ] || fail "a check failed"
[ "$(json "$R" '.checks | length')" -ge 8 ] || fail "too few checks"
for k in .latency_ms.p50 .latency_ms.p99 .sync_lag_ms.p50 .sync_lag_ms.p99 .throughput.orders_per_second; do
	v=$(json "$R" "$k")
	[ "$v" != null ] || fail "report lacks $k"
done
[ "$(json "$R" '.sync_lag_ms.count')" = "$accepted" ] || fail "sync lag not measured for every order"
pass "report complete: $accepted orders accepted"

# From outside: the central SQLite file agrees with the report.
central=$(sqlite3 "$TMP/data/central.db" "SELECT count(*) FROM central_orders")
[ "$central" = "$accepted" ] || fail "central_orders has $central rows, report says $accepted"
logs=$(sqlite3 "$TMP/data/documents.db" "SELECT count(*) FROM order_product")
[ "$logs" = "$accepted" ] || fail "order_product has $logs documents, report says $accepted"
pass "central and documents stores agree with the report"

# check and drain on the finished stores: nothing to do, all holds.
ddbsim check -c "$CONF"
expect_rc 0 "check after run"
ddbsim drain -c "$CONF"
expect_rc 0 "drain after run"
