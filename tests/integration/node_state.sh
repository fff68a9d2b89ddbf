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

# Customer writes queued for a node that is still down when ddbsim exits:
# the memory transport keeps them in DATA_DIR/broker.queues, and the next
# process replays them once the node is up.  Nothing is lost.
D="$TMP/kept"
ddbsim run -c "$CONF" -d "$D" "$SCRIPTS/customers.lua" --param outages=no --param duration=10 -q
expect_rc 0 "customers without outages, all up"
ddbsim node set west down -c "$CONF" -d "$D"
ddbsim run -c "$CONF" -d "$D" "$SCRIPTS/customers.lua" --param outages=no --param duration=10 --report "$TMP/k.json"
expect_rc 1 "customers with west held down"
queued=$(json "$TMP/k.json" .queues.node_queues.west.depth)
[ "$queued" -gt 0 ] || fail "nothing waited for west"
[ -s "$D/broker.queues" ] || fail "the memory transport kept nothing in $D/broker.queues"
ddbsim drain -c "$CONF" -d "$D" --report "$TMP/k.json"
expect_rc 1 "drain while west is down"
[ "$(json "$TMP/k.json" .queues.node_queues.west.depth)" = "$queued" ] ||
	fail "a second process sees $(json "$TMP/k.json" .queues.node_queues.west.depth) writes for west, not $queued"
ddbsim node set west up -c "$CONF" -d "$D"
ddbsim drain -c "$CONF" -d "$D" --report "$TMP/k.json"
expect_rc 0 "drain once west is up"
[ "$(json "$TMP/k.json" .customers.replays.records)" -ge "$queued" ] || fail "drain replayed fewer than $queued"
[ ! -e "$D/broker.queues" ] || fail "broker.queues is still there with empty queues"
pass "$queued writes for west outlive two exits of ddbsim and are replayed once it is up"

# A damaged file of kept queues: refused, named, and left as it is.
printf 'ddbsim memory queues 1\nqueue 9 1\nnode.west\nmessage 99 0\nshort\n' > "$D/broker.queues"
ddbsim drain -c "$CONF" -d "$D"
expect_rc 2 "damaged broker.queues"
expect_err "broker.queues: a message is cut short" "the damaged file is named"
[ -s "$D/broker.queues" ] || fail "the damaged file was removed"
pass "a damaged broker.queues is refused, not ignored"
