#!/bin/sh
# Customer writes: each row of the decision table (home and replica up or
# down), the node.NAME queues, their replay, and convergence at the end.
. "$top_srcdir/tests/integration/lib.sh"

ddbsim run -c "$CONF" "$top_srcdir/tests/integration/data/decision.lua" --report "$TMP/r.json"
expect_rc 0 "decision table run"
R="$TMP/r.json"
got() { json "$R" "$1"; }
[ "$(got .customers.created)" = 4 ] || fail "created: $(got .customers.created)"
# both up (c1) and replica down (c2): the home took them
[ "$(got .customers.writes.ok)" = 2 ] || fail "writes ok: $(got .customers.writes.ok)"
# home down, replica up (c3): the replica took it, the home's copy waited
[ "$(got .customers.writes.home_pending)" = 1 ] || fail "home pending: $(got .customers.writes.home_pending)"
# both down (c4, and the update of c1): accepted, pending, answered unavailable
[ "$(got .customers.writes.unavailable)" = 2 ] || fail "unavailable: $(got .customers.writes.unavailable)"
# one copy queued per down node per write: c2 west, c3 east, c4 and c1 both
[ "$(got .customers.writes.copies_queued)" = 6 ] || fail "queued copies: $(got .customers.writes.copies_queued)"
[ "$(got .customers.replays.records)" = 6 ] || fail "replayed: $(got .customers.replays.records)"
[ "$(got '.queues.node_queues.east.max_depth')" -ge 1 ] || fail "node.east never held a write"
[ "$(got '.queues.node_queues.west.max_depth')" -ge 1 ] || fail "node.west never held a write"
[ "$(got '[.customers.recoveries[] | select(.seconds_to_converge == null and (.interrupted | not))] | length')" = 0 ] ||
	fail "a recovery did not converge"
[ "$(got '[.customers.recoveries[] | select(.seconds_to_converge != null) | select(.wall_seconds_to_converge >= 0 | not)] | length')" = 0 ] ||
	fail "a converged recovery has no wall time"
[ "$(got '.queues.node_queues.east.depth + .queues.node_queues.west.depth')" = 0 ] ||
	fail "writes still queued at the end"
for c in customers_converged no_lost_queued_write customers_no_duplicates nothing_pending; do
	[ "$(got ".checks[] | select(.name == \"$c\") | .ok")" = true ] || fail "check $c"
done
pass "both up, replica down, home down, both down: each handled, queued, replayed, converged"

# From outside: both copies of each record at its latest version.
for r in east west; do
	v=$(sqlite3 "$TMP/data/$r.db" "SELECT group_concat(id || ':' || version, ' ') FROM (SELECT id, version FROM customers ORDER BY id)")
	[ "$v" = "c1:2 c2:1 c3:1 c4:1" ] || fail "$r holds $v"
done
pass "east and west hold c1:2 c2:1 c3:1 c4:1"
