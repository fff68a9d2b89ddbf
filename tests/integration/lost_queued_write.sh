#!/bin/sh
# A write queued for a down node that vanishes from its queue is reported
# lost by no_lost_queued_write (before, the check only looked at what still
# waited, and passed beside a failing customers_converged).  The memory
# transport keeps the node queues in DATA_DIR/broker.queues between
# processes; deleting that file between a run with west held down and the
# drain after `node set west up` loses every write queued for west.
. "$top_srcdir/tests/integration/lib.sh"

D="$TMP/lost"
scenario="$SCRIPTS/customers.lua"
lost_check() { json "$1" '.checks[] | select(.name == "no_lost_queued_write")'; }

ddbsim run -c "$CONF" -d "$D" "$scenario" --param outages=no --param duration=10 -q
expect_rc 0 "customers, every node up"
[ ! -e "$D/queued_writes" ] || fail "a run that queued nothing left $D/queued_writes"
ddbsim node set west down -c "$CONF" -d "$D"
expect_rc 0 "node set west down"
ddbsim run -c "$CONF" -d "$D" "$scenario" --param outages=no --param duration=10 --report "$TMP/run.json"
expect_rc 1 "customers with west held down"
queued=$(json "$TMP/run.json" .queues.node_queues.west.depth)
[ "$queued" -gt 0 ] || fail "nothing was queued for west"
[ "$(lost_check "$TMP/run.json" | jq -r .detail)" = "$queued writes still wait in node.west (west is down)" ] ||
	fail "while west is down: $(lost_check "$TMP/run.json")"
cp -R "$D" "$TMP/kept"

# The queue is lost; west comes back; the drain replays nothing.
rm "$D/broker.queues"
ddbsim node set west up -c "$CONF" -d "$D"
ddbsim drain -c "$CONF" -d "$D" --report "$TMP/drain.json"
expect_rc 1 "drain after the queue was lost"
[ "$(lost_check "$TMP/drain.json" | jq -r .ok)" = false ] ||
	fail "no_lost_queued_write holds after the queue was lost: $(lost_check "$TMP/drain.json")"
lost_check "$TMP/drain.json" | jq -r .detail | grep -q 'writes queued for west were lost: neither applied nor waiting in node.west' ||
	fail "the loss is not named: $(lost_check "$TMP/drain.json")"
echo "drain: $(lost_check "$TMP/drain.json" | jq -r .detail)"
ddbsim check -c "$CONF" -d "$D" --report "$TMP/check.json"
expect_rc 1 "check after the queue was lost"
[ "$(lost_check "$TMP/check.json" | jq -r .ok)" = false ] || fail "check: no_lost_queued_write holds"
pass "writes lost from node.west fail no_lost_queued_write in drain and in check"

# The same directory with its queue intact: replayed, nothing lost.
ddbsim node set west up -c "$CONF" -d "$TMP/kept"
ddbsim drain -c "$CONF" -d "$TMP/kept" --report "$TMP/kept.json"
expect_rc 0 "drain with the queue intact"
[ "$(lost_check "$TMP/kept.json" | jq -r .ok)" = true ] || fail "intact queue: $(lost_check "$TMP/kept.json")"
pass "with the queue intact the same drain replays every write and every check holds"

# A new run starts from a clean record.
ddbsim run -c "$CONF" -d "$D" "$scenario" --param outages=no --param duration=10 -q
expect_rc 0 "a new run on the same directory"
[ ! -e "$D/queued_writes" ] || fail "the new run kept the old record of queued writes"
pass "a new run forgets what earlier runs queued"
