#!/bin/sh
# The transport conformance suite (tests/unit/test_transport.c) against the
# rabbitmq plugin and a real broker: the same tests the memory plugin
# passes, plus those for durable transports and for this plugin.  Nothing
# may be left on the broker afterwards but empty queues.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/data/rabbitmq/broker.sh"

rc=0
DDBSIM_TEST_TRANSPORT=rabbitmq DDBSIM_TEST_TRANSPORT_OPTIONS="url=$AMQP_URL" \
	"$top_builddir/tests/unit/test_transport" > "$TMP/suite.out" 2>&1 || rc=$?
cat "$TMP/suite.out"
[ "$rc" -eq 0 ] || fail "the conformance suite failed against RabbitMQ (exit $rc)"
grep -q "PASSED.*2[0-9] test" "$TMP/suite.out" || fail "fewer tests passed than expected"
pass "transport conformance suite: $(grep -o 'PASSED  \] [0-9]* test' "$TMP/suite.out" | grep -o '[0-9]*') tests passed against RabbitMQ"

# Each test reset the queues of the one before; the last test's queues may
# remain, empty.  Nothing holds a message.
left=$(broker_queues | awk '$2 != 0')
[ -z "$left" ] || fail "queues still hold messages: $left"
pass "no message left on the broker"
