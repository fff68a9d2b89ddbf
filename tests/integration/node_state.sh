#!/bin/sh
# Node states set with `ddbsim node set` persist across restarts of
# ddbsim: a later run starts with them, drain respects them, and nothing is
# lost while a node stays down.
. "$top_srcdir/tests/integration/lib.sh"

ddbsim run -c "$CONF" "$SCRIPTS/ecommerce.lua" -q
expect_rc 0 "first run"
ddbsim node set boston down -c "$CONF"
expect_rc 0 "node set boston down"
ddbsim node set denver slow --latency 0.05 -c "$CONF"
expect_rc 0 "node set denver slow"
ddbsim node set seattle partitioned central -c "$CONF"
expect_rc 0 "node set seattle partitioned"
ddbsim node list -c "$CONF"
expect_rc 0 "node list"
grep -E '^boston +region +down' "$TMP/out" >/dev/null || fail "node list: boston not down"
grep -E '^denver +region +slow +0.050' "$TMP/out" >/dev/null || fail "node list: denver not slow"
grep -E '^seattle .* central$' "$TMP/out" >/dev/null || fail "node list: seattle not cut off from central"
grep -E '^central .* seattle$' "$TMP/out" >/dev/null || fail "node list: the cut is not both ways"
pass "node set and node list"

ddbsim node set seattle connected -c "$CONF"
expect_rc 0 "node set seattle connected"
ddbsim node set nowhere down -c "$CONF"
expect_rc 2 "unknown node"
expect_err "no node 'nowhere'" "unknown node is named"
ddbsim node set boston sideways -c "$CONF"
expect_rc 2 "unknown state"

# A new ddbsim process: boston is still down, so its orders are refused and
# its catalog events wait in its outbox; nothing is lost, and the run says so.
ddbsim run -c "$CONF" "$SCRIPTS/ecommerce.lua" --report "$TMP/r.json"
expect_rc 1 "run with boston down"
[ "$(json "$TMP/r.json" '.orders.rejected.unavailable > 0')" = true ] || fail "boston took orders"
[ "$(sqlite3 "$TMP/data/boston.db" "SELECT count(*) FROM orders")" = 0 ] || fail "boston stored orders"
[ "$(json "$TMP/r.json" '.checks[] | select(.name == "nothing_pending") | .ok')" = false ] ||
	fail "the run did not report boston's pending events"
[ "$(json "$TMP/r.json" '.latency_ms.max >= 50')" = true ] || fail "denver was not slow"
pass "the next run starts with boston down and denver slow; pending work is reported"

ddbsim drain -c "$CONF"
expect_rc 1 "drain while boston is down"
ddbsim node set boston up -c "$CONF"
ddbsim drain -c "$CONF"
expect_rc 0 "drain once boston is up"
pass "once boston is up, drain applies what waited: every check holds"
