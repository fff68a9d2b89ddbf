# tests/integration/data/rabbitmq/broker.sh - sourced by the rabbitmq_*.sh
# tests after lib.sh: skips when RabbitMQ cannot be run here (a failure with
# DDBSIM_REQUIRE_BACKENDS=1), starts a throwaway broker that is stopped on
# exit, even on failure, and writes $RMQ_CONF: the test config with the
# rabbitmq transport (url from $AMQP_URL) and SQLite stores.

RMQ_SERVER="$top_srcdir/tests/servers/rabbitmq.sh"
: "${top_builddir:?run me through make check}"

# skip_or_fail REASON: exit 77, or fail when backends are required.
skip_or_fail() {
	if [ "${DDBSIM_REQUIRE_BACKENDS:-0}" = 1 ]; then
		fail "$1 (DDBSIM_REQUIRE_BACKENDS=1: not skipped)"
	fi
	echo "SKIP: $1"
	exit 77
}

sh "$RMQ_SERVER" available || skip_or_fail "rabbitmq-server is not installed"
[ -f "$top_builddir/plugins/transport/rabbitmq/rabbitmq.la" ] ||
	skip_or_fail "the rabbitmq plugin was not built (librabbitmq-dev missing at configure time?)"

# The broker runs as the rabbitmq user: its directory must be reachable by
# it, which $TMP (mode 0700) is not.
BROKER=$(mktemp -d "${TMPDIR:-/tmp}/ddbsim-rabbitmq.XXXXXX")
chmod 0755 "$BROKER"
rmq_cleanup() {
	stop_run
	sh "$RMQ_SERVER" stop "$BROKER/node" || true
	rm -rf "$BROKER"
	cleanup
}
trap rmq_cleanup EXIT
trap 'exit 1' INT TERM

broker_start() {
	env_lines=$(sh "$RMQ_SERVER" start "$BROKER/node") || fail "the test broker did not start"
	eval "$env_lines"
	export AMQP_URL
}
broker_stop() { sh "$RMQ_SERVER" stop "$BROKER/node"; }
broker_kill() { sh "$RMQ_SERVER" kill "$BROKER/node"; }
rmqctl() { sh "$RMQ_SERVER" ctl "$BROKER/node" "$@"; }

# "name messages" per line, for the queues of the broker, sorted.
broker_queues() {
	rmqctl list_queues -q --no-table-headers name messages 2>/dev/null | sort
}

broker_start

RMQ_CONF="$TMP/rabbitmq.conf"
sed -e 's/^plugin = memory$/plugin = rabbitmq\
url = ${AMQP_URL}/' "$CONF" > "$RMQ_CONF"
grep -q '^plugin = rabbitmq$' "$RMQ_CONF" || fail "could not write $RMQ_CONF"
