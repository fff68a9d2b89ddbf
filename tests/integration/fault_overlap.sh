#!/bin/sh
# Overlapping faults nest: with two steps of a kind in force over [1,3) and
# [2,4), the fault holds until 4, not only until the first one ends (before,
# the end of the first brought the node up, healed the link, set the
# probability to 0).  A node set down with `ddbsim node set` is the base
# the steps overlay: it stays down when a step on it ends.
. "$top_srcdir/tests/integration/lib.sh"

overlap="$top_srcdir/tests/integration/data/overlap.lua"

# rejected KIND SECOND: orders the rule refused in that second because
# north was in state KIND (0 if none).
rejected() { json "$TMP/r.json" ".orders.rejected[\"rule:$1_$2\"] // 0"; }

for kind in down slow; do
	ddbsim run -c "$CONF" "$overlap" --param kind=$kind --report "$TMP/r.json" -q
	expect_rc 0 "overlapping $kind steps"
	for s in 1 2 3; do
		[ "$(rejected $kind $s)" -gt 0 ] || fail "$kind: north was not $kind in second $s"
	done
	for s in 0 4 5; do
		[ "$(rejected $kind $s)" = 0 ] || fail "$kind: north was $kind in second $s"
	done
	steps=$(json "$TMP/r.json" '[.faults.steps[].action] | join(",")')
	echo "$kind steps: $steps"
done
[ "$(json "$TMP/r.json" '.latency_ms.max >= 200')" = true ] ||
	fail "slow: the larger latency of the two did not hold ($(json "$TMP/r.json" .latency_ms.max) ms)"
pass "a node stays down, or slow, while any step covers it: from 1 to 4"

# A partition of central from the broker, and every delivery dropped: an
# order placed at 1 reaches the center only once both steps end at 4.
for kind in partition drop; do
	ddbsim run -c "$CONF" "$overlap" --param kind=$kind --report "$TMP/r.json" -q
	expect_rc 0 "overlapping $kind steps"
	lag=$(json "$TMP/r.json" .sync_lag_ms.max)
	[ "$(json "$TMP/r.json" '.sync_lag_ms.max >= 2800')" = true ] ||
		fail "$kind: the center lagged at most $lag ms: the fault ended at 3, not 4"
	echo "$kind: max lag $lag ms; steps: $(json "$TMP/r.json" '[.faults.steps[].action] | join(",")')"
done
pass "a link stays cut, and messages dropped, while any step says so: from 1 to 4"

# The nodes file is the base: north set down stays down when the steps end.
ddbsim node set north down -c "$CONF"
expect_rc 0 "node set north down"
ddbsim run -c "$CONF" "$overlap" --param kind=down --report "$TMP/r.json" -q
for s in 0 4 5; do
	[ "$(rejected down $s)" -gt 0 ] || fail "north, set down, was up in second $s"
done
pass "a node set down with ddbsim node set stays down when the steps on it end"
