#!/bin/sh
# A region outage over RabbitMQ: the customer writes held for the down
# region wait in its node.NAME queue on the broker, and the broker's own
# count (rabbitmqctl list_queues) equals the depth ddbsim reports for that
# queue, in the JSON report and in the text report.  Once the region is up,
# drain replays them: the queue empties on the broker too and every check
# holds.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/data/rabbitmq/broker.sh"

# customers.lua without its own outages, for 10 s.
SHORT="--param outages=no --param duration=10"

# The outage: west is down for the whole of the second run, and stays down
# after it.
ddbsim run -c "$RMQ_CONF" "$SCRIPTS/customers.lua" $SHORT --seed 3 -q
expect_rc 0 "a first run, all up"
ddbsim node set west down -c "$RMQ_CONF"
expect_rc 0 "node set west down"
ddbsim run -c "$RMQ_CONF" "$SCRIPTS/customers.lua" $SHORT --seed 3 --report "$TMP/r.json"
expect_rc 1 "run with west down (its writes are still pending)"
R="$TMP/r.json"
reported=$(json "$R" '.queues.node_queues.west.depth')
queued=$(json "$R" '.customers.writes.copies_queued')
[ "$reported" -gt 0 ] || fail "ddbsim reports node.west empty ($queued copies queued)"
[ "$(json "$R" '.queues.node_queues.east.depth')" = 0 ] || fail "node.east is not empty"
expect_out "still queued  writes for down nodes: node.west $reported" "the text report gives node.west's depth"

# The broker's count, from rabbitmqctl, while west is still down.
broker=$(broker_queues | awk '$1 == "node.west" { print $2 }')
[ -n "$broker" ] || fail "rabbitmqctl does not list node.west: $(broker_queues | tr '\n' ' ')"
[ "$broker" = "$reported" ] ||
	fail "rabbitmqctl list_queues: node.west has $broker messages, ddbsim reports $reported"
ready=$(rmqctl list_queues -q --no-table-headers name messages_ready | awk '$1 == "node.west" { print $2 }')
[ "$ready" = "$broker" ] || fail "node.west: $ready ready of $broker (nobody consumes it now)"
pass "west down: rabbitmqctl list_queues shows node.west $broker = ddbsim's $reported ($queued copies queued)"

# Another process asks again, still during the outage: drain waits for
# west and reports the same depth, and the broker still agrees.
ddbsim drain -c "$RMQ_CONF" --report "$TMP/d.json"
expect_rc 1 "drain while west is down"
again=$(json "$TMP/d.json" '.queues.node_queues.west.depth')
broker=$(broker_queues | awk '$1 == "node.west" { print $2 }')
[ "$again" = "$reported" ] || fail "drain reports node.west $again, the run $reported"
[ "$broker" = "$again" ] || fail "after drain: broker $broker, ddbsim $again"
pass "drain during the outage: node.west $again on both sides"

# West is back: drain replays the queue; it is empty on both sides.
ddbsim node set west up -c "$RMQ_CONF"
ddbsim drain -c "$RMQ_CONF" --report "$TMP/d.json"
expect_rc 0 "drain once west is up"
[ "$(json "$TMP/d.json" '.queues.node_queues.west.depth')" = 0 ] || fail "node.west not empty after drain"
broker=$(broker_queues | awk '$1 == "node.west" { print $2 }')
[ "$broker" = 0 ] || fail "rabbitmqctl: node.west has $broker messages after drain"
pass "west up: drain replays node.west; 0 messages on the broker, every check holds"
