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
# Skipped: the memory-only tests, nothing else.
skipped=$(sed -n 's/^\[  SKIPPED \] \(test_[a-z_]*\)$/\1/p' "$TMP/suite.out" | sort -u)
for t in $skipped; do
	case $t in
	test_memory_*) ;;
	*) fail "conformance test $t was skipped" ;;
	esac
done
passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\.$/\1/p' "$TMP/suite.out")
[ "${passed:-0}" -ge 26 ] || fail "only ${passed:-0} conformance tests passed"
pass "transport conformance suite: $passed tests passed against RabbitMQ"

# Each test reset the queues of the one before; the last test's queues may
# remain, empty.  Nothing holds a message.
queues=$(broker_queues)
[ -n "$queues" ] || fail "rabbitmqctl listed no queue at all (the last test's queues should remain)"
left=$(echo "$queues" | awk '$2 != 0')
[ -z "$left" ] || fail "queues still hold messages: $left"
pass "no message left on the broker"
