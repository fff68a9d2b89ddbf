#!/bin/sh
# A region outage (flash_sale.lua: boston down from t=20 to t=35) and a
# business rule: orders refused while boston is down are counted, none is
# stored, the rule's rejections are counted by reason, and every check
# holds once boston is back.
. "$top_srcdir/tests/integration/lib.sh"

ddbsim run -c "$CONF" "$SCRIPTS/flash_sale.lua" --seed 5 --report "$TMP/r.json"
expect_rc 0 "flash_sale run"
R="$TMP/r.json"
unavailable=$(json "$R" '.orders.rejected.unavailable // 0')
[ "$unavailable" -gt 0 ] || fail "no order refused during the outage"
limit=$(json "$R" '.orders.rejected["rule:limit_per_customer"] // 0')
[ "$limit" -gt 0 ] || fail "the per-order limit rejected nothing"
[ "$(json "$R" '[.faults.steps[] | "\(.t) \(.target) \(.action)"] | join(",")')" = "20 boston down,35 boston up" ] ||
	fail "fault steps: $(json "$R" .faults.steps)"
pass "$unavailable orders refused while boston was down; $limit over the limit"

# None of boston's stored orders arrived during the outage; some before
# and some after.
during=$(sqlite3 "$TMP/data/boston.db" \
	"SELECT count(*) FROM orders WHERE placed_at_us >= 20000000 AND placed_at_us < 34990000")
[ "$during" = 0 ] || fail "$during boston orders placed while boston was down"
after=$(sqlite3 "$TMP/data/boston.db" "SELECT count(*) FROM orders WHERE placed_at_us >= 35000000")
[ "$after" -gt 0 ] || fail "boston took no orders after it came back"
# No laptop order above the limit reached the center.
over=$(sqlite3 "$TMP/data/central.db" "SELECT count(*) FROM central_orders WHERE sku = 'LAPTOP' AND quantity > 2")
[ "$over" = 0 ] || fail "$over laptop orders above the limit at the center"
pass "no order stored during the outage; boston took orders again after"
